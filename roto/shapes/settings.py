"""How masks become shapes: the user's tolerance and the limits that keep output bounded."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ShapeSettings:
    """Checked at construction so a bad value fails before any export starts.

    ``tolerance``: the largest distance in pixels between a fitted curve and the matte's edge.
    ``min_area``: parts and holes smaller than this many pixels get no shape (specks, noise).
    ``max_paths``: at most this many paths (parts plus holes) per object and frame, the largest kept, so a mask
    of thousands of specks cannot produce an unbounded file.
    """

    tolerance: float = 1.0
    min_area: float = 16.0
    max_paths: int = 64

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tolerance) and 0.05 <= self.tolerance <= 100):
            raise ValueError(f"shape tolerance must be between 0.05 and 100 pixels, got {self.tolerance}")
        if not (math.isfinite(self.min_area) and self.min_area >= 1):
            raise ValueError(f"shape minimum area must be at least 1 pixel, got {self.min_area}")
        if self.max_paths < 1:
            raise ValueError(f"shapes need max_paths of at least 1, got {self.max_paths}")
