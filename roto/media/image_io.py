"""Still images (PNG, JPEG, TIFF, EXR, ...) converted to the RGB uint8 the rest of Roto expects."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import OpenEXR

from roto.errors import MediaError
from roto.files import check_regular, read_regular

EXR_SUFFIXES = frozenset({".exr"})
IMAGE_SUFFIXES = (
    frozenset(
        {
            ".png",
            ".jpg",
            ".jpeg",
            ".tif",
            ".tiff",
            ".bmp",
            ".webp",
            ".dpx",
            ".tga",
            ".jp2",
            ".ppm",
            ".pgm",
            ".hdr",
        }
    )
    | EXR_SUFFIXES
)
"""Extensions read as stills; .dpx/.tga/.hdr depend on what this OpenCV build decodes."""
MAX_IMAGE_BYTES = 2 * 1024**3  # a 16-bit RGBA 16K still, uncompressed, is about 2 GiB
JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"

log = logging.getLogger(__name__)


def read_image_rgb(path: Path) -> np.ndarray:
    """One still as (H, W, 3) uint8 RGB: grey repeated, alpha dropped, 16-bit scaled, float sRGB-encoded."""
    try:
        if path.suffix.lower() in EXR_SUFFIXES:
            check_regular(path, MediaError)
            return _read_exr(path)
        raw = read_regular(path, MAX_IMAGE_BYTES, MediaError)  # any path, never a FIFO or a device
    except OSError as exc:
        raise MediaError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    data = np.frombuffer(raw, dtype=np.uint8)
    # ANYDEPTH|ANYCOLOR keeps 16-bit and grey and still honours EXIF orientation (UNCHANGED would not).
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR) if data.size else None
    if image is None:
        raise MediaError(f"{path}: not an image OpenCV can decode (empty, truncated or another format)")
    if raw.startswith(JPEG_START) and not raw.rstrip(b"\x00\r\n ").endswith(JPEG_END):
        log.warning("%s: the JPEG has no end marker: it is probably truncated", path)
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    image = image[:, :, :3]
    if image.shape[2] == 3:
        image = image[:, :, ::-1]  # OpenCV's BGR
    return _to_uint8(np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image)


def _read_exr(path: Path) -> np.ndarray:
    try:
        channels = OpenEXR.File(str(path)).channels()
    except (RuntimeError, OSError) as exc:
        raise MediaError(f"{path}: not a readable OpenEXR image ({exc})") from exc
    if "RGB" in channels or "RGBA" in channels:
        pixels = (channels.get("RGB") or channels["RGBA"]).pixels[:, :, :3]
    elif {"R", "G", "B"} <= channels.keys():
        pixels = np.stack([channels[name].pixels for name in "RGB"], axis=2)
    elif "Y" in channels:
        pixels = np.repeat(channels["Y"].pixels[:, :, np.newaxis], 3, axis=2)
    else:
        raise MediaError(f"{path}: the EXR has no RGB or Y channels (found {', '.join(sorted(channels))})")
    return _to_uint8(np.asarray(pixels))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Integer images scale to 8 bits; float ones are taken as scene-linear and get the sRGB curve."""
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if np.issubdtype(image.dtype, np.integer):
        full_scale = float(np.iinfo(image.dtype).max)
        return np.round(image.astype(np.float32) * (255.0 / full_scale)).astype(np.uint8)
    linear = np.clip(np.nan_to_num(image.astype(np.float32), nan=0.0), 0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
    return np.round(encoded * 255.0).astype(np.uint8)
