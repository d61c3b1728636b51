"""Pre-processing and prompt handling identical to SAM2's, in numpy, so ONNX results match Meta's predictor.

SAM2ImagePredictor resizes with torchvision's antialiased bilinear filter (the same separable triangle filter as
Pillow), normalises with ImageNet statistics and scales prompt coordinates into the square model input. Each function here
reproduces one of those steps; upsampling the logits back is roto.matte.resize_logits.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from roto.errors import MediaError, PromptError


@lru_cache(maxsize=16)
def _resample_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Tap indices and weights of the antialiased bilinear filter (torch `_upsample_bilinear2d_aa`)."""
    scale = in_size / out_size
    support = max(scale, 1.0)  # the triangle filter's support (1) widened when shrinking
    centers = scale * (np.arange(out_size, dtype=np.float64) + 0.5)
    starts = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    stops = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    taps = int((stops - starts).max())
    offsets = np.arange(taps)
    index = starts[:, None] + offsets[None, :]
    inv = 1.0 / max(scale, 1.0)
    weight = np.maximum(0.0, 1.0 - np.abs((index - centers[:, None] + 0.5) * inv))
    weight[index >= stops[:, None]] = 0.0
    weight /= weight.sum(axis=1, keepdims=True)
    return np.minimum(index, in_size - 1), weight.astype(np.float32)


def _resample_rows(image: np.ndarray, out_size: int) -> np.ndarray:
    """Resample axis 0 only: each tap is then a gather of whole contiguous rows, the fast case for numpy."""
    index, weight = _resample_weights(image.shape[0], out_size)
    out = np.take(image, index[:, 0], axis=0) * weight[:, :1]
    for tap in range(1, index.shape[1]):  # a few taps: sum shifted copies instead of one huge gather
        out += np.take(image, index[:, tap], axis=0) * weight[:, tap : tap + 1]
    return out


def preprocess_image(
    rgb: np.ndarray, size: int, mean: tuple[float, ...], std: tuple[float, ...]
) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> float32 (1, 3, size, size) as SAM2Transforms produces it."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise MediaError(f"a frame must be an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    flat = rgb.reshape(height, width * 3).astype(np.float32)
    rows = _resample_rows(flat, size).reshape(size, width, 3)  # (size, W, 3)
    columns = np.ascontiguousarray(rows.transpose(1, 0, 2)).reshape(width, size * 3)
    image = _resample_rows(columns, size).reshape(size, size, 3)  # (x, y, c)
    scale = (1.0 / (255.0 * np.asarray(std, np.float32))).astype(np.float32)
    shift = (np.asarray(mean, np.float32) / np.asarray(std, np.float32)).astype(np.float32)
    image = image * scale - shift
    return np.ascontiguousarray(image.transpose(2, 1, 0)[None], dtype=np.float32)


def _numbers(values: object, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PromptError(f"{what} must be numbers: {exc}") from exc


def validate_prompts(
    points: np.ndarray | None,
    labels: np.ndarray | None,
    box: np.ndarray | None,
    frame_hw: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check user prompts in frame pixels; returns float32 points (N, 2), int labels (N,), box (4,) or None."""
    height, width = frame_hw
    if (points is None or np.size(points) == 0) and box is None:
        raise PromptError("no prompt: give at least one point or a box")
    if points is None:
        pts = np.zeros((0, 2), np.float32)
        lbl = np.zeros((0,), np.int64)
    else:
        pts = _numbers(points, "point coordinates")
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise PromptError(f"points must have shape (N, 2) as x, y pairs, got {pts.shape}")
        if labels is None:
            raise PromptError("points need labels (1 = include, 0 = exclude)")
        lbl = np.asarray(labels)
        if lbl.shape != (pts.shape[0],):
            raise PromptError(f"{pts.shape[0]} points but labels have shape {lbl.shape}")
        if not np.all(np.isin(lbl, (0, 1))):
            raise PromptError(
                f"point labels must be 0 (exclude) or 1 (include), got {sorted(set(lbl.tolist()))}"
            )
        if not np.all(np.isfinite(pts)):
            raise PromptError("point coordinates must be finite numbers (got NaN or infinity)")
        outside = (pts[:, 0] < 0) | (pts[:, 0] > width) | (pts[:, 1] < 0) | (pts[:, 1] > height)
        if outside.any():
            x, y = pts[np.argmax(outside)]
            raise PromptError(f"point ({x:g}, {y:g}) lies outside the {width}x{height} frame")
        pts = pts.astype(np.float32)
        lbl = lbl.astype(np.int64)
    bx = None
    if box is not None:
        bx = _numbers(box, "box coordinates").reshape(-1)
        if bx.shape != (4,):
            raise PromptError(f"a box is x0, y0, x1, y1; got {bx.size} numbers")
        if not np.all(np.isfinite(bx)):
            raise PromptError("box coordinates must be finite numbers (got NaN or infinity)")
        x0, y0, x1, y1 = bx
        if x1 <= x0 or y1 <= y0:
            raise PromptError(
                f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is empty: x1 > x0 and y1 > y0 are required"
            )
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise PromptError(
                f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) extends outside the {width}x{height} frame"
            )
        bx = bx.astype(np.float32)
    return pts, lbl, bx


def prompts_to_model(
    points: np.ndarray, labels: np.ndarray, box: np.ndarray | None, frame_hw: tuple[int, int], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-pixel prompts -> the decoder's (1, N, 2) coords and (1, N) labels; a box becomes corners 2 and 3."""
    height, width = frame_hw
    scale = np.array([size / width, size / height], np.float32)
    coords = points * scale
    codes = labels.astype(np.float32)
    if box is not None:
        coords = np.concatenate([box.reshape(2, 2) * scale, coords])
        codes = np.concatenate([np.array([2.0, 3.0], np.float32), codes])
    return coords[None].astype(np.float32), codes[None].astype(np.float32)
