"""`roto segment`: one image, points and/or a box, one mask; or with --everything, every object proposal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from roto.cli.common import (
    add_command,
    add_runtime_options,
    emit,
    parse_box,
    parse_point,
    resolve_model,
    runtime_options,
)
from roto.errors import RotoError


def cmd_segment(args: argparse.Namespace) -> int:
    if args.everything:
        return segment_everything(args)
    if args.frame is not None:
        raise RotoError("--frame goes with --everything; point prompts segment one still image")
    import cv2
    import numpy as np

    from roto.engine.bundle import load_bundle
    from roto.engine.service import EngineService, StillImage
    from roto.media.image_io import read_image_rgb

    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise RotoError(f"-o {out}: the mask is written as PNG; name a .png file")
    if out.is_dir() or not out.parent.is_dir():
        raise RotoError(f"-o {out}: {'is a folder' if out.is_dir() else 'its folder does not exist'}")
    if not args.point and not args.box:
        raise RotoError("give at least one --point X,Y[:LABEL] or a --box X0,Y0,X1,Y1")
    # read and written as bytes: OpenCV's own path functions crash on names that are not UTF-8
    image = StillImage(read_image_rgb(Path(args.image)))
    engine = EngineService.open(load_bundle(resolve_model(args.model)), runtime_options(args))
    points = np.array([p[:2] for p in args.point], np.float32) if args.point else None
    labels = np.array([p[2] for p in args.point]) if args.point else None
    box = np.array(args.box, np.float32) if args.box else None
    prediction = engine.predict(image, 0, points, labels, box, multimask=not args.single)
    mask = prediction.mask()
    try:
        out.write_bytes(cv2.imencode(".png", mask.astype(np.uint8) * 255)[1].tobytes())
    except OSError as exc:
        raise RotoError(f"{out}: cannot write the mask ({exc.strerror or exc})") from exc
    data = {
        "output": str(out),
        "score": float(prediction.scores[prediction.best]),
        "area": int(mask.sum()),
        "provider": engine.report.provider,
    }
    emit(args, data, f"wrote {out} (score {data['score']:.3f}, {data['area']} px)")
    return 0


def _automask_params(args: argparse.Namespace) -> Any:
    from roto.engine.automask import AutomaskParams

    values = {name: getattr(args, name) for name in _TUNABLE if getattr(args, name) is not None}
    return AutomaskParams(**values, multimask_output=not args.single, use_m2m=args.m2m)


def segment_everything(args: argparse.Namespace) -> int:
    """Every object proposal on an image or one frame of a clip (SAM2's automatic mask generator)."""
    from roto.cli.proposal_files import check_output, record, write_proposals
    from roto.engine.automask import generate_proposals
    from roto.engine.bundle import load_bundle
    from roto.engine.service import EngineService, StillImage
    from roto.media import open_media
    from roto.media.image_io import IMAGE_SUFFIXES, read_image_rgb

    if args.point or args.box:
        raise RotoError("--everything proposes every object itself: leave out --point and --box")
    out = Path(args.output)
    check_output(out, args.format)
    params = _automask_params(args)  # bad values fail here, before the model loads
    path = Path(args.image)
    engine = EngineService.open(load_bundle(resolve_model(args.model)), runtime_options(args))
    if args.frame is None and path.suffix.lower() in IMAGE_SUFFIXES:
        rgb = read_image_rgb(path)
    else:
        frame = args.frame or 0
        with open_media(path) as media:
            if not 0 <= frame < media.frame_count:
                raise RotoError(f"--frame {frame} is outside {path} (frames 0-{media.frame_count - 1})")
            rgb = media.read(frame)
    proposals = generate_proposals(engine, StillImage(rgb), 0, params)
    write_proposals(proposals, (rgb.shape[0], rgb.shape[1]), out, args.format, path.name)
    data = {
        "output": str(out),
        "format": args.format,
        "count": len(proposals),
        "proposals": [record(n, p) for n, p in enumerate(proposals, start=1)],
        "provider": engine.report.provider,
    }
    emit(args, data, f"wrote {out} ({len(proposals)} proposals, {args.format})")
    return 0


# AutomaskParams fields offered as --options (the booleans are --single and --m2m)
_TUNABLE = {
    "points_per_side": (int, "grid points along each side (default 32)"),
    "points_per_batch": (int, "points decoded per batch (default 64)"),
    "pred_iou_thresh": (float, "keep masks whose predicted IoU is above this (default 0.8)"),
    "stability_score_thresh": (float, "keep masks at least this stable (default 0.95)"),
    "stability_score_offset": (float, "logit offset of the stability score (default 1.0)"),
    "mask_threshold": (float, "logit cut of the masks (default 0.0)"),
    "box_nms_thresh": (float, "box IoU above which the lower-scored mask is dropped (default 0.7)"),
    "crop_n_layers": (int, "layers of crops run again (default 0)"),
    "crop_nms_thresh": (float, "box NMS between crops (default 0.7)"),
    "crop_overlap_ratio": (float, "overlap of the first crop layer (default 0.341)"),
    "crop_n_points_downscale_factor": (int, "points per side divided by this per crop layer (default 1)"),
    "min_mask_region_area": (int, "clean holes and islands up to this many low-res mask cells (default 0)"),
}


def register(sub: Any) -> None:
    from roto.cli.proposal_files import FORMATS

    parser = add_command(sub, "segment", "segment one image from points and/or a box", cmd_segment)
    parser.add_argument("image", help="an image; with --everything also a clip (see --frame)")
    parser.add_argument("--point", action="append", type=parse_point, default=[], metavar="X,Y[:LABEL]")
    parser.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1")
    parser.add_argument(
        "-o", "--output", required=True, help="mask image to write (PNG); with --everything see --format"
    )
    parser.add_argument("--single", action="store_true", help="single-mask output instead of best of three")
    everything = parser.add_argument_group("segment everything (SAM2's automatic mask generator)")
    everything.add_argument("--everything", action="store_true", help="propose every object instead")
    everything.add_argument("--frame", type=int, help="frame of a clip or sequence (default 0)")
    everything.add_argument(
        "--format",
        choices=FORMATS,
        default="labels",
        help="labels: a 16-bit PNG, 0 background, n = proposal n (1 best); coco: COCO JSON with RLE masks; "
        "per-mask: a new folder of mask PNGs and proposals.json",
    )
    everything.add_argument("--m2m", action="store_true", help="refine each mask once with itself as prompt")
    for name, (kind, text) in _TUNABLE.items():
        everything.add_argument("--" + name.replace("_", "-"), type=kind, help=text)
    add_runtime_options(parser)
