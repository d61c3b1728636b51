"""The rotoscope look for animators: each object as a flat fill in its colour with an outline, drawn from
its fitted shapes over the frame, a solid colour or transparency."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import cv2
import numpy as np

from roto.shapes import ShapeSettings
from roto.shapes.still import frame_shapes

_SHIFT = 4  # cv2 drawing precision: 1/16 pixel
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class CelStyle:
    """``background``: ``frame`` (the source picture), ``transparent``, or a colour ``#rrggbb``.
    ``outline_px``: the outline's width in pixels (0: fills only), in ``outline_colour``."""

    outline_px: float = 3.0
    outline_colour: tuple[int, int, int] = (0, 0, 0)
    background: str = "frame"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.outline_px) and 0 <= self.outline_px <= 100):
            raise ValueError(f"cel outline width must be between 0 and 100 pixels, got {self.outline_px}")
        if self.background not in ("frame", "transparent") and not _HEX.fullmatch(self.background):
            raise ValueError(
                f"cel background must be frame, transparent or a colour #rrggbb, got {self.background!r}"
            )

    @property
    def needs_frame(self) -> bool:
        return self.background == "frame"

    def solid(self) -> tuple[int, int, int] | None:
        if not self.background.startswith("#"):
            return None
        value = int(self.background[1:], 16)
        return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _coverage(size: tuple[int, int], polygons: list[np.ndarray], width: float) -> np.ndarray:
    """Antialiased coverage in [0, 1]: the even-odd fill of the polygons (width 0) or their outline."""
    canvas = np.zeros(size, np.uint8)
    points = [np.rint((polygon - 0.5) * (1 << _SHIFT)).astype(np.int32) for polygon in polygons]
    if width == 0:
        cv2.fillPoly(canvas, points, 255, cv2.LINE_AA, _SHIFT)
    else:
        cv2.polylines(canvas, points, True, 255, max(1, round(width)), cv2.LINE_AA, _SHIFT)
    return canvas.astype(np.float32) / 255


def render_cel(
    alphas: dict[str, np.ndarray],
    colours: dict[str, tuple[int, int, int]],
    picture: np.ndarray | None,
    style: CelStyle,
    settings: ShapeSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """One frame: straight RGB uint8 and alpha float32 in [0, 1]; objects are drawn in order, later on top."""
    size = next(iter(alphas.values())).shape
    colour = np.zeros((*size, 3), np.float32)  # premultiplied while drawing
    alpha = np.zeros(size, np.float32)
    solid = style.solid()
    if picture is not None and style.needs_frame:
        colour[:], alpha[:] = picture, 1.0
    elif solid is not None:
        colour[:], alpha[:] = solid, 1.0
    outline = np.array(style.outline_colour, np.float32)
    for name, matte in alphas.items():
        polygons = [path.sample(16) for path, _ in frame_shapes(matte >= 0.5, settings)]
        if not polygons:
            continue
        layers = [(_coverage(size, polygons, 0), np.array(colours[name], np.float32))]
        if style.outline_px > 0:
            layers.append((_coverage(size, polygons, style.outline_px), outline))
        for cover, paint in layers:
            colour = colour * (1 - cover[..., None]) + paint * cover[..., None]
            alpha = alpha * (1 - cover) + cover
    straight = np.where(alpha[..., None] > 0, colour / np.maximum(alpha[..., None], 1e-6), 0)
    return np.clip(np.rint(straight), 0, 255).astype(np.uint8), alpha
