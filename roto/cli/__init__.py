"""The `roto` command line: headless subcommands over the core (no Qt here).

`roto` alone, `roto gui` and `roto PATH` open the editor through the `open_editor` callable that the executable's
entry point (roto.launcher) passes in, so this package never imports the UI.

Every failure a user can cause ends in one line on stderr and a non-zero exit (1 for a failed command, 2 for
a command line that does not parse); `--json` prints results for scripts. One module per command group.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from roto import __version__
from roto.cli import batch, doctor, export, farm, matte, models, render, segment, track
from roto.cli.common import EXIT_ERROR, EXIT_USAGE, add_command
from roto.errors import RotoError

COMMANDS = (
    "gui",
    "segment",
    "track",
    "export",
    "render",
    "batch",
    "farm",
    "matte",
    "doctor",
    "models",
)  # the subcommands build_parser defines


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr (usage stays in --help), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


EditorOpener = Callable[[str | None], int]


def build_parser(open_editor: EditorOpener | None = None) -> argparse.ArgumentParser:
    parser = OneLineParser(prog="roto", description="Rotoscoping with SAM2: click, propagate, export.")
    parser.add_argument("--version", action="version", version=f"roto {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def cmd_gui(args: argparse.Namespace) -> int:
        if open_editor is None:
            raise RotoError("the editor is not available from this entry point: run the `roto` executable")
        return open_editor(args.media)

    gui = add_command(sub, "gui", "open the editor (what `roto` alone does)", cmd_gui)
    gui.add_argument("media", nargs="?", help="a video, image sequence or project to open")
    segment.register(sub)
    track.register(sub)
    export.register(sub)
    render.register(sub)
    batch.register(sub)
    farm.register(sub)
    matte.register(sub)
    doctor.register(sub)
    models.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, open_editor: EditorOpener | None = None) -> int:
    _print_any_path()
    parser = build_parser(open_editor)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        argv.insert(0, "gui")  # `roto clip.mp4` opens the clip in the editor
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    if args.command is None:
        args = parser.parse_args(["gui"])
    previous = _stop_cleanly_on_termination() if args.command != "gui" else {}
    try:
        return int(args.func(args))
    except RotoError as exc:
        print(f"roto: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("roto: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"roto: stopped by signal {exc.signum}", file=sys.stderr)
        return 128 + exc.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Terminated(BaseException):
    """SIGTERM or SIGHUP: raised in the command so that its clean-up runs (an export deletes its hidden parts)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_cleanly_on_termination() -> dict[int, Any]:
    """Headless commands only (the editor has its own event loop and close handling); returns the handlers
    replaced, to put back when the command ends."""

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():
        return {}
    signums = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    return {signum: signal.signal(signum, stop) for signum in signums}


def _print_any_path() -> None:
    """File names that are not UTF-8 reach Python as lone surrogates; print them back as the bytes they were
    (stdout) or escaped (stderr), never as a UnicodeEncodeError traceback."""
    for stream, errors in ((sys.stdout, "surrogateescape"), (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=errors)
