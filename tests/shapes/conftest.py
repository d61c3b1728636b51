"""Synthetic 1080p mattes for shape tests: a moving, slowly turning blob with a hole, and a rectangle."""

from __future__ import annotations

import cv2
import numpy as np

HEIGHT, WIDTH = 1080, 1920


def moving_mask(frame: int) -> np.ndarray:
    """An ellipse with a hole travelling right and down while it turns and grows, and a rectangle moving down
    (they never meet in 100 frames)."""
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    centre = (450 + 4 * frame, 400 + 3 * frame)
    cv2.ellipse(mask, centre, (300 + frame // 2, 200), 20 + frame * 0.5, 0, 360, 1, -1)
    cv2.circle(mask, centre, 60, 0, -1)
    cv2.rectangle(mask, (1500, 100 + 2 * frame), (1800, 600 + 2 * frame), 1, -1)
    return mask.astype(bool)


def fill_paths(paths: list[np.ndarray], size: tuple[int, int] = (HEIGHT, WIDTH)) -> np.ndarray:
    """Even-odd fill of closed polylines (image coordinates, pixel (x, y) covers [x, x+1]) at pixel centres."""
    canvas = np.zeros(size, np.uint8)
    shift = 4  # sub-pixel precision of cv2.fillPoly
    polys = [np.rint((p - 0.5) * (1 << shift)).astype(np.int32) for p in paths]
    for poly in polys:
        layer = np.zeros(size, np.uint8)
        cv2.fillPoly(layer, [poly], 1, lineType=cv2.LINE_8, shift=shift)
        canvas ^= layer
    return canvas.astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
