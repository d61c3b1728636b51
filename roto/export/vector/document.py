"""What every shape file writer reads: the shot's layers of animated paths, frame numbers and size."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from roto.shapes import AnimatedPath, BezierPath


@dataclass(frozen=True)
class ShapeLayer:
    """One exported object (or the merged matte): its colour and its paths (parts and holes)."""

    name: str
    colour: tuple[int, int, int]
    paths: list[AnimatedPath]


@dataclass(frozen=True)
class ShapeDocument:
    """A shot's shapes. Frames are export indices; ``numbers[i]`` is what frame ``frames[i]`` is called
    (the export's start number applied), which is where every writer puts its keys."""

    shot: str
    size: tuple[int, int]  # (height, width)
    fps: Fraction
    frames: list[int]
    numbers: list[int]
    layers: list[ShapeLayer]


def keyed_path(path: AnimatedPath, frame: int) -> BezierPath:
    """The path on ``frame``; where the part is absent, every point collapsed onto the nearest key's centre
    (no area, so nothing is drawn) so formats that must key every frame keep one point count."""
    if frame in path.keys:
        return path.keys[frame]
    nearest = min(path.keys, key=lambda key: (abs(key - frame), key))
    centre = path.keys[nearest].centroid()
    point = np.broadcast_to(centre, path.keys[nearest].anchors.shape).copy()
    return BezierPath(point, point, point)


def rounded(points: np.ndarray) -> list[list[float]]:
    """(N, 2) points as JSON-ready pairs to 1/100 pixel (plenty below any tolerance, and half the text)."""
    return [[round(float(x), 2), round(float(y), 2)] for x, y in points]


def svg_path_data(paths: list[BezierPath]) -> str:
    """SVG path data (``M ... C ... Z``) of closed paths."""
    parts = []
    for path in paths:
        controls = path.controls()
        commands = [f"M{controls[0, 0, 0]:.2f} {controls[0, 0, 1]:.2f}"]
        commands += ["C" + " ".join(f"{x:.2f} {y:.2f}" for x, y in segment[1:]) for segment in controls]
        parts.append(" ".join(commands) + "Z")
    return " ".join(parts)
