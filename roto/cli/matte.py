"""`roto matte refine`: refine edge for one picture and any binary mask (pipelines, measuring)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from roto.cli.common import add_command, emit
from roto.errors import RotoError


def read_mask(path: Path) -> np.ndarray:
    """A mask image as a boolean array: at least half of full scale is "object"; a 0/1 image counts its 1s."""
    from roto.media.image_io import read_image_rgb

    grey = read_image_rgb(path)[..., 0]  # grey repeated to RGB; 16-bit already scaled to 8 bits
    return np.asarray(grey >= (128 if grey.max() > 1 else 1))


def _check_png(path: Path, option: str) -> None:
    if path.suffix.lower() != ".png":
        raise RotoError(f"{option} {path}: written as a 16-bit PNG; name a .png file")
    if path.is_dir() or not path.parent.is_dir():
        raise RotoError(f"{option} {path}: {'is a folder' if path.is_dir() else 'its folder does not exist'}")


def _write_png16(path: Path, pixels: np.ndarray) -> None:
    import cv2

    data = np.round(np.clip(pixels, 0.0, 1.0) * 65535).astype(np.uint16)
    if data.ndim == 3:
        data = cv2.cvtColor(data, cv2.COLOR_RGBA2BGRA)
    try:
        path.write_bytes(cv2.imencode(".png", data)[1].tobytes())
    except OSError as exc:
        raise RotoError(f"{path}: cannot be written ({exc.strerror or exc})") from exc


def cmd_matte_refine(args: argparse.Namespace) -> int:
    from roto.media.image_io import read_image_rgb
    from roto.refine import estimate_foreground, refine_alpha

    image_path, mask_path, out = Path(args.image), Path(args.mask), Path(args.output)
    _check_png(out, "-o")
    foreground = Path(args.foreground) if args.foreground else None
    if foreground is not None:
        _check_png(foreground, "--foreground")
    picture, mask = read_image_rgb(image_path), read_mask(mask_path)
    if mask.shape != picture.shape[:2]:
        raise RotoError(
            f"{mask_path}: the mask is {mask.shape[1]}x{mask.shape[0]} but {image_path} is "
            f"{picture.shape[1]}x{picture.shape[0]}; they must be the same size"
        )
    try:
        alpha = refine_alpha(picture, mask, args.mode, args.band)
    except ValueError as exc:
        raise RotoError(f"{image_path}, {mask_path}: {exc}") from exc
    _write_png16(out, alpha)
    if foreground is not None:
        _write_png16(foreground, np.dstack([estimate_foreground(picture, alpha), alpha]))
    soft = int(((alpha > 0) & (alpha < 1)).sum())
    data = {"output": str(out), "foreground": str(foreground) if foreground else None, "soft_pixels": soft}
    emit(args, data, f"wrote {out} ({soft} soft pixels)" + (f" and {foreground}" if foreground else ""))
    return 0


# roto.refine (and OpenCV with it) is imported only when an option is used: `roto --help` stays quick.


def _mode(text: str) -> str:
    from roto.refine import RefineMode

    modes = [mode.value for mode in RefineMode]
    if text not in modes:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(modes)}, got {text!r}")
    return text


def _band(text: str) -> int:
    from roto.refine import MAX_BAND_PX

    if not text.isdigit() or not 1 <= int(text) <= MAX_BAND_PX:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of pixels from 1 to {MAX_BAND_PX}, got {text!r}"
        )
    return int(text)


def add_refine_options(
    parser: argparse.ArgumentParser, flag: str, mode: str | None, band: int | None
) -> None:
    """The refine mode and band options of `roto matte refine` (``--mode``) and of `roto track` / `roto export`
    (``--refine``, where the defaults None keep each object's own setting)."""
    keep = " (default: each object's own setting)"
    parser.add_argument(
        flag,
        type=_mode,
        default=mode,
        metavar="off|fast|quality",
        help="refine edge against the picture: fast (guided filter) or quality (closed-form matting)"
        + (keep if mode is None else f" (default {mode})"),
    )
    parser.add_argument(
        "--band",
        type=_band,
        default=band,
        metavar="PX",
        help="refine edge: pixels each side of the edge to re-decide"
        + (keep if band is None else f" (default {band})"),
    )


def register(sub: Any) -> None:
    matte = sub.add_parser("matte", help="matte tools for single pictures", description="Matte tools.")
    msub = matte.add_subparsers(dest="matte_command", metavar="ACTION", required=True)
    refine = add_command(
        msub, "refine", "soft, image-aware alpha from a picture and a binary mask", cmd_matte_refine
    )
    refine.add_argument("image", help="the picture (8/16-bit, grey or colour)")
    refine.add_argument("mask", help="a binary mask of the same size (white or 1 = object)")
    refine.add_argument("-o", "--output", required=True, help="the refined alpha to write (16-bit PNG)")
    refine.add_argument(
        "--foreground", metavar="FG.png", help="also write the cut-out (16-bit RGBA PNG, straight)"
    )
    add_refine_options(refine, "--mode", "fast", 8)
