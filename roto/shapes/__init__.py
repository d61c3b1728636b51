"""Masks as animated vector shapes: closed cubic Bézier paths with stable anchors over a shot (no Qt)."""

from roto.shapes.bezier import BezierPath
from roto.shapes.settings import ShapeSettings
from roto.shapes.track import AnimatedPath, ShapeTracker

__all__ = ["AnimatedPath", "BezierPath", "ShapeSettings", "ShapeTracker"]
