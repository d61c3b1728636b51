"""`roto segment`: one image, points and/or a box, one mask."""

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


def register(sub: Any) -> None:
    parser = add_command(sub, "segment", "segment one image from points and/or a box", cmd_segment)
    parser.add_argument("image")
    parser.add_argument("--point", action="append", type=parse_point, default=[], metavar="X,Y[:LABEL]")
    parser.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1")
    parser.add_argument("-o", "--output", required=True, help="mask image to write (PNG)")
    parser.add_argument("--single", action="store_true", help="single-mask output instead of best of three")
    add_runtime_options(parser)
