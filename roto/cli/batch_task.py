"""The unit of work of `roto batch`: one project's `roto render`, run inside a Ray worker, logged to its own file.

It runs in the worker's process (not a child process), so a worker that dies takes its render with it: the
project lock (an OS lock) goes with the process, and Ray's retry starts a render that resumes from what was
saved (roto.cli.render). This module imports no Ray: Ray pickles the function by reference.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import socket
import time
from copy import copy
from pathlib import Path
from typing import Any

from roto.errors import RotoError


def render_project(args: argparse.Namespace, project: str, out: str, log_path: str) -> dict[str, Any]:
    """`roto render PROJECT --out OUT` with the batch's options; the result is render's JSON summary, or
    {"project", "error"} for a render that failed by its input (not retried: it would fail again). Each attempt
    appends to `log_path`, naming its process, so a killed attempt's log stays beside the retry's."""
    from roto.cli.render import cmd_render

    render_args = copy(args)
    render_args.project, render_args.out, render_args.json = project, out, True
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        log.write(
            f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} render {project}: pid {os.getpid()} on {socket.gethostname()}\n"
        )
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        stdout = io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(log):
                cmd_render(render_args)
        except RotoError as exc:
            log.write(f"roto: error: {exc}\n")
            return {"project": project, "error": str(exc), "log": log_path}
        finally:
            root.removeHandler(handler)
            handler.close()
        summary: dict[str, Any] = json.loads(stdout.getvalue())
        log.write(f"done: tracked {summary['tracked']}, {len(summary['files'])} file(s)\n")
    return {**summary, "log": log_path}
