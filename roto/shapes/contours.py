"""A mask's outlines as closed polylines on the pixel edges: outer contours and holes, small ones dropped."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Contour:
    """One closed outline in image coordinates (pixel (x, y) covers [x, x+1] x [y, y+1]).

    ``points`` (M, 2) float64 does not repeat its first point; ``area`` is the pixel area it encloses.
    """

    points: np.ndarray
    is_hole: bool
    area: float


@dataclass(frozen=True)
class Contours:
    """A frame's outlines and how many were dropped for ``max_paths`` (specks beyond the bound)."""

    contours: list[Contour]
    dropped: int


# Eight passes of a [1, 2, 1] filter as one 17-tap binomial kernel (a Gaussian of 2 vertices).
_KERNEL = np.poly1d([1, 2, 1]) ** 8
_TAPS = np.asarray(_KERNEL.coeffs, dtype=np.float64) / float(np.sum(_KERNEL.coeffs))


def _smooth(points: np.ndarray) -> np.ndarray:
    """A circular binomial filter of 2 vertices: flattens the pixel staircase; it rounds a sharp corner by
    about a pixel and moves a smooth edge far less."""
    half = len(_TAPS) // 2
    if len(points) <= half:  # a speck: too short to filter round
        return points
    padded = np.concatenate([points[-half:], points, points[:half]])
    return np.stack([np.convolve(padded[:, i], _TAPS, "valid") for i in (0, 1)], axis=1)


def _to_edge(points: np.ndarray, is_hole: bool) -> np.ndarray:
    """Move a contour through boundary pixel centres half a pixel outwards, onto the pixels' outer edge."""
    centres = points + 0.5
    if len(centres) < 4:  # a speck of one or two pixels: its pixels' bounding box
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0) + 1
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    smooth = _smooth(centres)
    tangent = np.roll(smooth, -1, axis=0) - np.roll(smooth, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    x, y = smooth[:, 0], smooth[:, 1]
    signed_area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    # (dy, -dx) points out of a polygon of positive signed area; a hole's edge moves into the hole.
    direction = np.sign(signed_area) * (-1.0 if is_hole else 1.0)
    return smooth + 0.5 * direction * normal


def find_contours(mask: np.ndarray, min_area: float, max_paths: int) -> Contours:
    """Outer contours and holes of a boolean mask; parts and holes under ``min_area`` pixels are left out,
    and beyond ``max_paths`` only the largest are kept (``dropped`` counts the rest)."""
    pixels = mask.view(np.uint8) if mask.dtype == bool and mask.flags.c_contiguous else mask.astype(np.uint8)
    traced, hierarchy = cv2.findContours(pixels, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return Contours([], 0)
    found: list[tuple[float, np.ndarray, bool]] = []
    for contour, (_, _, _, parent) in zip(traced, hierarchy[0], strict=True):
        is_hole = bool(parent >= 0)
        # Pixels enclosed by a contour through pixel centres: polygon area + half the perimeter + 1.
        area = cv2.contourArea(contour) + cv2.arcLength(contour, True) / 2 + 1
        if is_hole:
            area = max(cv2.contourArea(contour) - cv2.arcLength(contour, True) / 2 + 1, 0.0)
        if area >= min_area:
            found.append((area, contour[:, 0, :].astype(np.float64), is_hole))
    found.sort(key=lambda item: -item[0])
    kept = found[:max_paths]
    contours = [Contour(_to_edge(points, is_hole), is_hole, area) for area, points, is_hole in kept]
    return Contours(contours, len(found) - len(kept))
