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

    image_path = Path(args.image)
    bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR) if image_path.is_file() else None
    if bgr is None:
        raise RotoError(f"{image_path}: missing or not a readable image")
    if not args.point and not args.box:
        raise RotoError("give at least one --point X,Y[:LABEL] or a --box X0,Y0,X1,Y1")
    engine = EngineService.open(load_bundle(resolve_model(args.model)), runtime_options(args))
    image = StillImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    points = np.array([p[:2] for p in args.point], np.float32) if args.point else None
    labels = np.array([p[2] for p in args.point]) if args.point else None
    box = np.array(args.box, np.float32) if args.box else None
    prediction = engine.predict(image, 0, points, labels, box, multimask=not args.single)
    mask = prediction.mask()
    out = Path(args.output)
    if not cv2.imwrite(str(out), mask.astype(np.uint8) * 255):
        raise RotoError(f"{out}: cannot write the mask (unknown extension or unwritable folder)")
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
