"""The brush's settings and its soft edge, without Qt.

The size is a radius either in frame pixels (it covers the same part of the footage at any zoom) or in screen
pixels (it looks the same on screen at any zoom, so zooming in paints finer); `Brush.frame_radius` turns it into
the frame pixels a stroke paints with. A hard brush paints a round footprint. Masks are binary, so a soft brush
cannot paint partial alpha (soft mattes come from the object's feather); instead its edge blends into the mask
it touches: where the stroke passes near the mask's edge, the gap between them fills with a smooth curve instead
of leaving the round bite or bump a hard brush leaves. Away from the mask a soft stroke is as wide as a hard one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import cv2
import numpy as np

from roto.editor.tools import BRUSH_RADIUS, MAX_BRUSH, MIN_BRUSH, paint_stroke, scale_brush

SOFT_BAND = 0.5  # a soft edge reaches this fraction of the radius beyond the hard footprint, each way


class BrushUnits(StrEnum):
    FRAME = "frame"
    SCREEN = "screen"


@dataclass(frozen=True)
class Brush:
    """Size (a radius in `units`), units and edge; remembered between launches by the window."""

    size: float = BRUSH_RADIUS
    units: BrushUnits = BrushUnits.FRAME
    soft: bool = False

    def frame_radius(self, zoom: float) -> float:
        """The radius in frame pixels at `zoom` screen pixels per frame pixel."""
        radius = self.size if self.units is BrushUnits.FRAME else self.size / zoom
        return min(MAX_BRUSH, max(MIN_BRUSH / 4, radius))

    def scaled(self, factor: float) -> Brush:
        """[ and ] : the size times `factor`, within MIN_BRUSH..MAX_BRUSH of its units."""
        return replace(self, size=scale_brush(self.size, factor))

    def describe(self) -> str:
        """What the status bar says: the size and which pixels it counts."""
        edge = ", soft" if self.soft else ""
        return f"Brush {self.size:.0f} px ({self.units.value}{edge})"


def paint_brush(
    mask: np.ndarray, points: Sequence[tuple[float, float]], radius: float, value: bool, soft: bool
) -> np.ndarray:
    """A copy of `mask` with the brush dragged through `points` (frame pixels): set (`value`) or cleared.

    Soft: a pixel within `radius * (1 + SOFT_BAND)` of the path takes `value` where the brush's ramp (1 inside
    `radius * (1 - SOFT_BAND)`, 0 at the outer reach) plus the mask's own smoothed value there reaches one half;
    on its own (no mask nearby) that is exactly the hard radius, next to the mask it closes the gap smoothly.
    """
    if not soft:
        return paint_stroke(mask, points, radius, value)
    band = max(1.0, radius * SOFT_BAND)
    reach = radius + band
    centres = np.asarray(points, np.float64).reshape(-1, 2)
    height, width = mask.shape
    margin = math.ceil(reach + 2 * band) + 1
    x0, y0 = (max(0, math.floor(v) - margin) for v in centres.min(axis=0))
    x1 = min(width, math.ceil(centres[:, 0].max()) + margin + 1)
    y1 = min(height, math.ceil(centres[:, 1].max()) + margin + 1)
    if x0 >= x1 or y0 >= y1:
        return mask.copy()
    window = (mask[y0:y1, x0:x1] == value).astype(np.float32)  # what the stroke adds to, as 1
    path = np.full(window.shape, 255, np.uint8)
    local = np.round(centres - (x0, y0)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(path, [local], False, 0, 1)
    for x, y in local.reshape(-1, 2):
        path[min(max(y, 0), path.shape[0] - 1), min(max(x, 0), path.shape[1] - 1)] = 0
    distance = cv2.distanceTransform(path, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    ramp = np.clip((reach + 0.5 - distance) / (2 * band), 0.0, 1.0)  # + 0.5: as wide as the hard brush
    smoothed = cv2.GaussianBlur(window, (0, 0), sigmaX=band / 2, borderType=cv2.BORDER_REPLICATE)
    painted = (ramp > 0) & (ramp + smoothed >= 0.5)
    out = mask.copy()
    out[y0:y1, x0:x1][painted] = value
    return out
