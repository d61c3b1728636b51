"""What every `roto` subcommand shares: result output, prompt and range parsing, model choice, progress bars."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roto.errors import RotoError

if TYPE_CHECKING:
    from tqdm import tqdm

    from roto.engine.session import RuntimeOptions

EXIT_ERROR = 1
EXIT_USAGE = 2
PROVIDERS = ("auto", "tensorrt", "cuda", "cpu")  # roto.engine.session.PROVIDER_CHOICES
PRECISIONS = ("auto", "fp32", "fp16")  # roto.engine.session.PRECISION_CHOICES, without importing the engine


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print `data` as JSON with --json, else the human-readable `text` (stdout either way)."""
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


def add_command(sub: Any, name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> Any:
    """A subcommand with its help, its implementation and --json."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=func)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def progress_bar(args: argparse.Namespace, total: int, desc: str) -> tqdm:
    """A tqdm bar on stderr; silent with --json or when stderr is not a terminal (logs, pipes, tests)."""
    from tqdm import tqdm

    quiet = getattr(args, "json", False) or not sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=quiet, leave=False)


# --- prompt and range text ---------------------------------------------------------------------------------


def parse_point(text: str) -> tuple[float, float, int]:
    """X,Y[:LABEL] with label 1 (include, default) or 0 (exclude)."""
    coords, _, label = text.partition(":")
    try:
        x, y = (float(v) for v in coords.split(","))
        return x, y, int(label) if label else 1
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"point {text!r} is not X,Y or X,Y:LABEL") from exc


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
        return x0, y0, x1, y1
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"box {text!r} is not X0,Y0,X1,Y1") from exc


def split_frame(text: str, what: str, form: str) -> tuple[int, str]:
    """`FRAME:REST` for prompts on a video frame: the frame index and the rest, for parse_point/parse_box."""
    frame, sep, rest = text.partition(":")
    if not sep or not frame.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{what} {text!r} is not {form} (FRAME is a frame index, 0 or more)")
    return int(frame), rest


_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def parse_range(text: str) -> range:
    """`A-B` (both frames included) or a single frame `A`."""
    match = _RANGE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"range {text!r} is not A-B (first and last frame, e.g. 0-99)")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise argparse.ArgumentTypeError(f"range {text!r} ends before it starts")
    return range(first, last + 1)


def describe_range(frames: range) -> str:
    return f"{frames.start}-{frames.stop - 1}"


# --- models ------------------------------------------------------------------------------------------------


def resolve_model(name: str | None) -> Path:
    """The bundle named on the command line, else as the editor chooses (ROTO_MODEL, then the first installed
    bundle with real weights)."""
    from roto.engine.bundle import choose_bundle, find_bundle

    chosen = find_bundle(name) if name else choose_bundle()
    if chosen is None:
        raise RotoError("no model bundle installed: run `roto models install tiny`, or pass --model PATH")
    return chosen


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    """--model, --provider and --threads, for every command that runs the model."""
    parser.add_argument("--model", help="installed bundle name or bundle folder (default: first installed)")
    parser.add_argument("--provider", default="auto", choices=PROVIDERS, help="ONNX Runtime provider")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="auto: the bundle's fp16 variant on a GPU when installed; fp16: that variant (made if missing)",
    )


def runtime_options(args: argparse.Namespace) -> RuntimeOptions:
    from roto.engine.session import RuntimeOptions

    if args.threads < 0:
        raise RotoError(f"--threads must be 0 (all cores) or more, got {args.threads}")
    return RuntimeOptions(provider=args.provider, threads=args.threads, precision=args.precision)
