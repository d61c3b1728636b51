"""One frame's shapes on their own (no correspondence to other frames): what a still drawing needs."""

from __future__ import annotations

import numpy as np

from roto.shapes.bezier import BezierPath, Outline, fewest_anchors, fit_count
from roto.shapes.contours import find_contours
from roto.shapes.settings import ShapeSettings


def frame_shapes(mask: np.ndarray, settings: ShapeSettings) -> list[tuple[BezierPath, bool]]:
    """Each part and hole of a boolean mask as a closed path with the fewest anchors within the tolerance,
    with whether it is a hole."""
    shapes = []
    for contour in find_contours(mask, settings.min_area, settings.max_paths).contours:
        outline = Outline.of(contour.points)
        path, _ = fit_count(outline, fewest_anchors(outline, settings.tolerance))
        shapes.append((path, contour.is_hole))
    return shapes
