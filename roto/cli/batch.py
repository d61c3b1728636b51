"""`roto batch`: render many projects as Ray tasks, on a local Ray started here or on a cluster it joins.

The unit of work is a project (docs/farm.md, "Unit of work"): a project's objects share its frames, and the
project lock admits one writer, so its objects run in one task, where the embedding cache encodes each frame
once. Ray (the optional extra `roto[farm]`) schedules the tasks and retries those whose worker died; the retry's
render resumes from what the killed one saved.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from roto.cli.common import EXIT_ERROR, add_command, add_runtime_options, emit
from roto.cli.export import add_export_options
from roto.errors import RotoError

RETRIES = 3  # attempts after the first, for a task whose worker died


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RotoError("roto batch needs Ray: pip install 'roto[farm]' (or pip install ray)") from None
    return ray


def check_projects(paths: list[str]) -> list[Path]:
    """Every project exists and is named once (two tasks on one project would wait on each other's lock)."""
    folders = [Path(p) for p in paths]
    for folder in folders:
        if not (folder / "project.json").is_file():
            raise RotoError(f"{folder}: not a Roto project folder (no project.json in it)")
    names = [f.name for f in folders]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RotoError(f"two projects are named {twice[0]}: their outputs would go to the same folder")
    return folders


def cmd_batch(args: argparse.Namespace) -> int:
    folders = check_projects(args.projects)
    if args.cpus_per_task <= 0 or args.gpus_per_task < 0:
        raise RotoError("--cpus-per-task must be more than 0 and --gpus-per-task 0 or more")
    ray = import_ray()
    with contextlib.redirect_stdout(sys.stderr):  # Ray's notices (a worker died...) are not the report
        results = _run(ray, args, folders)
    out, logs = Path(args.out).absolute(), Path(args.logs).absolute()
    failed = [f for f in folders if "error" in results[f]]
    report = [
        {"project": str(f), "log": str(logs / f"{f.stem}.log"), **results[f], "ok": f not in failed}
        for f in folders
    ]
    lines = [
        f"{r['project']}: "
        + (
            f"FAILED: {r['error']}"
            if not r["ok"]
            else f"tracked {len(r['tracked'])}, {len(r['files'])} file(s)"
        )
        for r in report
    ]
    lines.append(
        f"{len(folders) - len(failed)} of {len(folders)} project(s) rendered into {out}; logs in {logs}"
    )
    emit(args, {"projects": report, "failed": len(failed)}, "\n".join(lines))
    return EXIT_ERROR if failed else 0


def _run(ray: Any, args: argparse.Namespace, folders: list[Path]) -> dict[Path, dict[str, Any]]:
    """One task per project; the result of each (render's summary, or its error once retries are spent)."""
    from tqdm import tqdm

    from roto.cli.batch_task import render_project

    out, logs = Path(args.out).absolute(), Path(args.logs).absolute()
    try:
        if args.ray:  # join a cluster: its nodes' resources decide how many tasks run at once
            ray.init(address=args.ray, log_to_driver=False)
        else:  # "local": a new Ray of our own, even where a cluster already runs on this machine
            workers = args.workers or max(1, int((os.cpu_count() or 1) // args.cpus_per_task))
            ray.init(
                address="local",
                num_cpus=workers * args.cpus_per_task,
                num_gpus=args.gpus_per_task * workers if args.gpus_per_task else None,
                include_dashboard=False,
                log_to_driver=False,
            )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"join the Ray cluster at {args.ray}" if args.ray else "start a local Ray"
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RotoError(f"cannot {where}: {first_line}") from None
    if not args.threads:
        args.threads = max(1, int(args.cpus_per_task))  # all cores would oversubscribe the tasks beside it
    task = ray.remote(render_project).options(
        num_cpus=args.cpus_per_task, num_gpus=args.gpus_per_task, max_retries=RETRIES
    )
    results: dict[Path, dict[str, Any]] = {}
    try:
        pending = {
            task.remote(args, str(f.absolute()), str(out / f.stem), str(logs / f"{f.stem}.log")): f
            for f in folders
        }
        quiet = args.json or not sys.stderr.isatty()
        with tqdm(total=len(folders), desc="batch", unit="project", file=sys.stderr, disable=quiet) as bar:
            while pending:
                [ref], _ = ray.wait(list(pending), num_returns=1)
                folder = pending.pop(ref)
                try:
                    results[folder] = ray.get(ref)
                except ray.exceptions.RayError as exc:  # retries used up
                    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    results[folder] = {"project": str(folder), "error": first_line}
                bar.update(1)
    finally:
        ray.shutdown()
    return results


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "batch",
        "render many projects (roto render each) as Ray tasks, locally or on a cluster",
        cmd_batch,
    )
    parser.add_argument("projects", nargs="+", metavar="PROJECT.roto", help="project folders")
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        default="",
        metavar="ADDRESS",
        help="join this Ray cluster (e.g. 10.0.0.5:6379, or auto); default: start a local Ray here",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="local Ray: tasks at once (default: CPUs / --cpus-per-task)"
    )
    parser.add_argument(
        "--cpus-per-task", type=float, default=1.0, metavar="N", help="CPUs each render reserves"
    )
    parser.add_argument(
        "--gpus-per-task", type=float, default=0.0, metavar="N", help="GPUs each render reserves"
    )
    parser.add_argument(
        "--logs", default="roto-batch-logs", metavar="DIR", help="one log per project (appended per attempt)"
    )
    add_export_options(parser)
    parser.epilog = "Each project's outputs go to OUT/<project name without .roto>/ (docs/farm.md)."
    parser.add_argument("--objects", metavar="A,B", help="comma-separated object names (default: all)")
    parser.add_argument("--shot", help="shot id, for projects with several shots (default: the first)")
    add_runtime_options(parser)
