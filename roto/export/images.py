"""Still-image matte files: PNG (alpha, RGBA cut-outs, label maps) and OpenEXR half-float alpha."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
from PIL import Image

from roto.errors import ExportError

# Mattes are mostly flat areas: a low zlib level already compresses them well and keeps export fast.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]
MAX_LABELS = 255


def quantize(alpha: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float alpha in [0, 1] to uint8 (8) or uint16 (16), rounding to the nearest code."""
    if bit_depth not in (8, 16):
        raise ExportError(f"Bit depth must be 8 or 16, got {bit_depth}")
    top = 255 if bit_depth == 8 else 65535
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.rint(np.clip(alpha, 0.0, 1.0) * top).astype(dtype)


def cutout(rgb: np.ndarray, alpha: np.ndarray, bit_depth: int, premultiplied: bool) -> np.ndarray:
    """RGBA of the source frame with the matte as alpha; premultiplied scales colour by alpha."""
    colour = rgb.astype(np.float32) / 255.0
    if premultiplied:
        colour *= alpha[..., None]
    return quantize(np.dstack([colour, alpha]), bit_depth)


def label_palette(count: int) -> list[int]:
    """PASCAL VOC / DAVIS colours (index 0 black), flat RGB list, so label maps open in dataset tools."""
    palette: list[int] = []
    for index in range(count):
        r = g = b = 0
        value = index
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette += [r, g, b]
    return palette


def encode_png(pixels: np.ndarray, path: Path) -> bytes:
    """PNG bytes of a grey (HxW) or RGBA (HxWx4, RGB order) uint8/uint16 image."""
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
    ok, data = cv2.imencode(".png", pixels, _PNG_PARAMS)
    if not ok:
        raise ExportError(f"Cannot encode {path} as PNG")
    return data.tobytes()


def encode_label_png(labels: np.ndarray, object_count: int) -> bytes:
    """Paletted PNG whose pixel values are object indices (0 = background, 1.. = objects in order)."""
    height, width = labels.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    image.putpalette(label_palette(object_count + 1))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_bytes(data: bytes, path: Path, final: Path) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ExportError(f"Cannot write {final}: {exc.strerror or exc}") from None


def write_exr(alpha: np.ndarray, path: Path, final: Path) -> None:
    """Single-channel half-float EXR; the channel is named ``A`` so compositors read it as alpha."""
    _write_exr_channels({"A": alpha}, path, final)


def exr_layer(name: str) -> str:
    """An object's layer name: dots separate layer from channel in EXR, so they cannot be part of it."""
    return name.replace(".", "_") or "_"


def write_exr_layers(alphas: dict[str, np.ndarray], path: Path, final: Path) -> None:
    """One half-float EXR holding every object as a layer: channel ``<object>.A`` (Nuke, Resolve and After
    Effects list each as a layer with an alpha channel)."""
    _write_exr_channels({f"{exr_layer(name)}.A": alpha for name, alpha in alphas.items()}, path, final)


def _write_exr_channels(planes: dict[str, np.ndarray], path: Path, final: Path) -> None:
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    channels = {name: np.ascontiguousarray(plane, dtype=np.float16) for name, plane in planes.items()}
    try:
        OpenEXR.File(header, channels).write(str(path))
    except Exception as exc:  # the binding raises bare RuntimeError/OSError with C++ messages
        raise ExportError(f"Cannot write {final}: {exc}") from None
