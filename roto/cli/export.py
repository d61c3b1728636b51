"""`roto export`: write the mattes of a saved project; also the export options and run that `roto track` shares."""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roto.cli.common import add_command, describe_range, emit, parse_range, progress_bar
from roto.cli.matte import add_refine_options
from roto.errors import RotoError

if TYPE_CHECKING:
    from roto.export import ExportResult, ExportSpec, MatteSource
    from roto.project import Project, Shot

# Command-line format name -> (roto.export format, bit depth). PNG and FFV1 carry their depth in the name.
FORMATS: dict[str, tuple[str, int]] = {
    "png8": ("png", 8),
    "png16": ("png", 16),
    "exr": ("exr", 8),
    "prores": ("prores", 8),
    "ffv1": ("ffv1", 8),
    "ffv1-16": ("ffv1", 16),
    "vp9": ("vp9", 8),
    "h264-matte": ("h264", 8),
    "coco": ("coco", 8),
    "svg": ("svg", 8),
    "svg-animated": ("svg-animated", 8),
    "lottie": ("lottie", 8),
    "nuke": ("nuke", 8),
    "after-effects": ("after-effects", 8),
    "blender": ("blender", 8),
    "cel": ("png", 8),  # the cel look (content "cel"), as PNGs
    "cel-prores": ("prores", 8),  # the cel look as ProRes 4444
}
CEL_FORMATS = ("cel", "cel-prores")
LAYOUTS = ("per-object", "union", "labels", "layers")
CONTENTS = ("alpha", "rgba-straight", "rgba-premultiplied")


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that writes mattes."""
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder to write into (created if missing)"
    )
    parser.add_argument("--format", required=True, choices=tuple(FORMATS), help="what to write")
    parser.add_argument(
        "--range", type=parse_range, metavar="A-B", help="first and last frame, both included (default: all)"
    )
    parser.add_argument(
        "--layout",
        default="per-object",
        choices=LAYOUTS,
        help="one output per object, merged, a label map (png), or one layer per object (exr)",
    )
    parser.add_argument(
        "--content", default="alpha", choices=CONTENTS, help="matte alone, or source colour with the matte"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        metavar="PX",
        help="shape formats: largest distance of a curve from the matte's edge (default 1 pixel)",
    )
    parser.add_argument(
        "--min-area",
        type=float,
        default=16.0,
        metavar="PX",
        help="shape formats: parts and holes smaller than this many pixels get no shape (default 16)",
    )
    parser.add_argument(
        "--outline", type=float, default=3.0, metavar="PX", help="cel: outline width in pixels (0: none)"
    )
    parser.add_argument(
        "--background",
        default="frame",
        metavar="frame|transparent|#RRGGBB",
        help="cel: what the drawing goes over (default: the frame)",
    )
    add_refine_options(parser, "--refine", None, None)


def require_media(folder: Path, project: Project, shot: Shot) -> None:
    """Refuse, naming the file, before any frame is written: a half-written export of a shot whose clip moved is
    worse than none."""
    missing = [m for m in project.missing_media() if m.shot_id == shot.id]
    if missing:
        raise RotoError(
            f"{folder}: the media of shot {shot.id!r} is missing ({missing[0].path}); "
            "open the project in the editor to relink it"
        )


def refine_objects(args: argparse.Namespace, project: Project, shot: Shot) -> None:
    """--refine / --band set every object's refine edge setting for this run (and the project track saves)."""
    from roto.project import UpdateObject
    from roto.refine import RefineMode

    if args.refine is None and args.band is None:
        return
    for obj in shot.objects:
        ops = obj.matte
        mode = ops.refine if args.refine is None else RefineMode(args.refine)
        band = ops.refine_band_px if args.band is None else args.band
        UpdateObject(shot.id, obj.id, matte=replace(ops, refine=mode, refine_band_px=band)).do(project)


def export_spec(args: argparse.Namespace, frames: range, objects: list[str] | None) -> ExportSpec:
    """The request for roto.export; `frames` are indices into the source (0 = its first frame)."""
    from roto.export import Content, ExportFormat, ExportSpec, Layout
    from roto.export.cel import CelStyle
    from roto.shapes import ShapeSettings

    fmt, depth = FORMATS[args.format]
    try:
        shapes = ShapeSettings(tolerance=args.tolerance, min_area=args.min_area)
    except ValueError as exc:
        raise RotoError(f"--tolerance/--min-area: {exc}") from None
    try:
        cel = CelStyle(outline_px=args.outline, background=args.background)
    except ValueError as exc:
        raise RotoError(f"--outline/--background: {exc}") from None
    cel_look = args.format in CEL_FORMATS
    if cel_look and args.content != "alpha":
        raise RotoError(f"--format {args.format} draws the cel look; it takes no --content")
    return ExportSpec(
        output_dir=Path(args.out),
        format=ExportFormat(fmt),
        layout=Layout(args.layout),
        content=Content.CEL if cel_look else Content(args.content),
        bit_depth=depth,
        frames=frames,
        objects=objects,
        shapes=shapes,
        cel=cel,
        overwrite=args.overwrite,
    )


def check_export(source: MatteSource, spec: ExportSpec) -> None:
    """Refuse a bad request (names, formats, existing files, an encoder that will not open) before any long
    work, leaving nothing behind.

    It runs the real export cancelled before its first frame: roto.export validates everything first and
    checks cancellation before each frame. That is not free of writes: for video and COCO formats it creates
    the output folder (if missing) and opens the writer on a hidden temporary file, then deletes both, as any
    cancelled export does. No final output file is created or replaced.
    """
    from roto.export import export

    export(source, spec, cancel=lambda: True)


def run_export(args: argparse.Namespace, source: MatteSource, spec: ExportSpec) -> ExportResult:
    """The export with a progress bar; export's warnings (shapes left out) as one `roto: warning:` line each."""
    from roto.export import export

    total = len(spec.frames) if spec.frames is not None else source.frame_count
    with warnings.catch_warnings(record=True) as caught, progress_bar(args, total, "export") as bar:
        warnings.simplefilter("always")
        result = export(source, spec, progress=lambda done, _total: bar.update(done - bar.n))
    for warning in caught:
        print(f"roto: warning: {warning.message}", file=sys.stderr)
    return result


def export_summary(result: ExportResult, spec: ExportSpec) -> dict[str, Any]:
    return {
        "output_dir": str(spec.output_dir),
        "format": spec.format.value,
        "frames_written": result.frames_written,
        "files": [str(path) for path in result.files],
    }


def cmd_export(args: argparse.Namespace) -> int:
    from roto.export.project_source import ProjectMatteSource
    from roto.media import open_media
    from roto.project import check_media_match, load_project

    folder = Path(args.project)
    project = load_project(folder)
    if not project.shots:
        raise RotoError(f"{folder}: the project has no shot to export")
    shot = project.shot(args.shot) if args.shot else project.shots[0]
    refine_objects(args, project, shot)
    require_media(folder, project, shot)
    # --range is in shot frames (what the project and the editor call them); export takes media indices.
    frames = range(shot.frame_count)
    if args.range is not None:
        if args.range.start not in shot.frames or args.range.stop - 1 not in shot.frames:
            raise RotoError(
                f"--range {describe_range(args.range)} is outside shot {shot.id!r} "
                f"(frames {shot.frames.start}-{shot.frames.stop - 1})"
            )
        frames = range(shot.media_index(args.range.start), shot.media_index(args.range.stop - 1) + 1)
    objects = [name.strip() for name in args.objects.split(",")] if args.objects else None
    with open_media(shot.media) as media:
        check_media_match(shot, media)
        source = ProjectMatteSource(project, shot, media)
        spec = export_spec(args, frames, objects)
        result = run_export(args, source, spec)
    summary = {"project": str(folder), "shot": shot.id, **export_summary(result, spec)}
    emit(
        args,
        summary,
        f"wrote {len(result.files)} file(s) to {spec.output_dir} ({result.frames_written} frames)",
    )
    return 0


def register(sub: Any) -> None:
    parser = add_command(sub, "export", "write the mattes of a saved Roto project", cmd_export)
    parser.add_argument("project", help="a NAME.roto project folder")
    add_export_options(parser)
    parser.add_argument("--objects", metavar="A,B", help="comma-separated object names (default: all)")
    parser.add_argument("--shot", help="shot id, for a project with several shots (default: the first)")
