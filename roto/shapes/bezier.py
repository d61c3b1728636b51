"""Closed cubic Bézier paths fitted to outlines with anchors evenly spaced along a curvature-weighted length.

Even spacing (rather than Schneider's recursive splitting at the worst point) is what gives stable
correspondence: anchor k of one frame and anchor k of the next lie at the same fraction of the outline, so
they move with the object. The length is weighted by the turning of the outline (half the anchors go to the
bends, half are spread by plain arc length), so corners get dense anchors without a per-frame split decision
that would jump from frame to frame. Each segment's handles are fitted by Schneider's least squares ("An Algorithm for
Automatically Fitting Digitized Curves", Graphics Gems, 1990) with Newton reparameterisation, the tangents on
each side of an anchor taken from the outline on that side, so an anchor on a corner keeps it sharp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_SAMPLE_SPACING = 1.5  # pixels between the outline samples each segment is fitted to and checked against
_MAX_SAMPLES = 40_000
_TANGENT_REACH = 6.0  # pixels along the outline from which an anchor's tangent on each side is taken
_TURN_WINDOW = 3  # outline vertices (about pixels) each side over which headings are measured


@dataclass(frozen=True)
class BezierPath:
    """A closed path of N cubic segments; all arrays (N, 2) in absolute image coordinates.

    Segment i runs anchors[i] -> out_handles[i] -> in_handles[i + 1] -> anchors[i + 1] (wrapping round).
    """

    anchors: np.ndarray
    in_handles: np.ndarray
    out_handles: np.ndarray

    def __len__(self) -> int:
        return len(self.anchors)

    def controls(self) -> np.ndarray:
        """(N, 4, 2): each segment's four control points."""
        nxt = np.roll(np.arange(len(self)), -1)
        return np.stack([self.anchors, self.out_handles, self.in_handles[nxt], self.anchors[nxt]], axis=1)

    def sample(self, per_segment: int) -> np.ndarray:
        """(N * per_segment, 2) points along the path, ``per_segment`` evenly in t per segment."""
        t = np.arange(per_segment) / per_segment
        points = _bernstein(t)[None] @ self.controls()
        return points.reshape(-1, 2)

    def centroid(self) -> np.ndarray:
        return np.asarray(self.sample(8).mean(axis=0))


def _bernstein(t: np.ndarray) -> np.ndarray:
    s = 1 - t
    return np.stack([s**3, 3 * s * s * t, 3 * s * t * t, t**3], axis=-1)


def _weighted_length(closed: np.ndarray) -> np.ndarray:
    """Cumulative length along a closed polyline (first vertex repeated at the end), each edge weighted by
    its length plus the outline's turning around it, scaled so that a convex outline's 2 pi of turning weighs
    as much as its perimeter."""
    edges = np.diff(closed, axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    points = closed[:-1]
    # Headings of chords across a few vertices: pixel-scale wiggles must not count as turning.
    chord = np.roll(points, -_TURN_WINDOW, axis=0) - np.roll(points, _TURN_WINDOW, axis=0)
    heading = np.arctan2(chord[:, 1], chord[:, 0])
    turn = (np.roll(heading, -1) - heading + np.pi) % (2 * np.pi) - np.pi
    # Smoothing the signed turn lets pixel noise cancel before its size is taken; real bends add up.
    window = 4 * _TURN_WINDOW + 1
    padded = np.concatenate([turn[-window:], turn, turn[:window]])
    turn = np.abs(np.convolve(padded, np.ones(window) / window, "same")[window:-window])
    weight = lengths + turn * lengths.sum() / (2 * np.pi)
    return np.concatenate([[0.0], np.cumsum(weight)])


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class Outline:
    """A closed polyline measured once for repeated fitting: plain and curvature-weighted cumulative length."""

    closed: np.ndarray  # (M + 1, 2), the first vertex repeated at the end
    arc: np.ndarray  # (M + 1,) cumulative arc length
    weighted: np.ndarray  # (M + 1,) cumulative curvature-weighted length

    @classmethod
    def of(cls, points: np.ndarray) -> Outline:
        closed = np.vstack([points, points[:1]]).astype(np.float64)
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))])
        return cls(closed, arc, _weighted_length(closed))

    @property
    def perimeter(self) -> float:
        return float(self.arc[-1])

    def at_arc(self, positions: np.ndarray) -> np.ndarray:
        positions = positions % self.arc[-1]
        return np.stack([np.interp(positions, self.arc, self.closed[:, i]) for i in (0, 1)], axis=1)

    def resample(self, count: int, start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """``count`` points evenly spaced by weighted length, the first ``start`` spacings (may be fractional)
        past the first vertex; and their arc-length positions."""
        total = self.weighted[-1]
        positions = ((np.arange(count) + start) * total / count) % total
        arc = np.interp(positions, self.weighted, self.arc)
        return self.at_arc(arc), arc


def _fit_segments(outline: Outline, count: int, start: float) -> tuple[BezierPath, float]:
    """Fit ``count`` segments between anchors evenly spaced by weighted length; the largest sample error."""
    per = max(4, math.ceil(outline.perimeter / count / _SAMPLE_SPACING))
    per = min(per, max(4, _MAX_SAMPLES // count))
    samples, arc = outline.resample(count * per, start * per)
    segments = np.concatenate(
        [samples.reshape(count, per, 2), np.roll(samples[::per], -1, axis=0)[:, None, :]], axis=1
    )  # (N, K + 1, 2): each segment's samples, its end anchor included
    p0, p3 = segments[:, 0], segments[:, -1]
    # One-sided tangents a few pixels along the outline: on smooth stretches both sides agree, and an anchor
    # on a corner keeps its corner.
    steps = np.diff(segments, axis=1)
    lengths = np.hypot(steps[..., 0], steps[..., 1])
    reach = np.clip(lengths.sum(axis=1) / 3, 0.5, _TANGENT_REACH)
    anchor_arc = arc[::per]
    t1 = _unit(outline.at_arc(anchor_arc + reach) - p0)
    t2 = _unit(outline.at_arc(np.roll(anchor_arc, -1) - reach) - p3)
    chord = np.linalg.norm(p3 - p0, axis=1)
    cumulative = np.concatenate([np.zeros((count, 1)), np.cumsum(lengths, axis=1)], axis=1)
    u = cumulative / np.maximum(cumulative[:, -1:], 1e-9)  # chord-length parameters, as Schneider starts
    for _ in range(2):
        b = _bernstein(u)  # (N, K + 1, 4)
        a1 = t1[:, None, :] * b[..., 1:2]
        a2 = t2[:, None, :] * b[..., 2:3]
        rest = segments - (
            p0[:, None] * (b[..., 0:1] + b[..., 1:2]) + p3[:, None] * (b[..., 2:3] + b[..., 3:4])
        )
        c11, c12, c22 = (a1 * a1).sum((1, 2)), (a1 * a2).sum((1, 2)), (a2 * a2).sum((1, 2))
        x1, x2 = (a1 * rest).sum((1, 2)), (a2 * rest).sum((1, 2))
        det = c11 * c22 - c12 * c12
        safe = np.abs(det) > 1e-9
        alpha1 = np.where(safe, (x1 * c22 - x2 * c12) / np.where(safe, det, 1), chord / 3)
        alpha2 = np.where(safe, (c11 * x2 - c12 * x1) / np.where(safe, det, 1), chord / 3)
        # Schneider's fallback (a third of the chord) for degenerate handles, and for handles longer than the
        # chord, which only a badly parameterised first pass produces.
        bad = (np.minimum(alpha1, alpha2) < 1e-3 * chord) | (np.maximum(alpha1, alpha2) > chord)
        alpha1, alpha2 = np.where(bad, chord / 3, alpha1), np.where(bad, chord / 3, alpha2)
        controls = np.stack([p0, p0 + alpha1[:, None] * t1, p3 + alpha2[:, None] * t2, p3], axis=1)
        u = _reparameterise(controls, segments, u)
    error = np.linalg.norm(_bernstein(u) @ controls - segments, axis=2)
    path = BezierPath(p0, np.roll(controls[:, 2], 1, axis=0), controls[:, 1])
    return path, float(error.max())


def _reparameterise(controls: np.ndarray, points: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Newton-Raphson step per sample towards the curve parameter nearest to it (Schneider)."""
    s = 1 - u
    q = _bernstein(u) @ controls
    d1 = 3 * (controls[:, 1:] - controls[:, :-1])  # (N, 3, 2)
    d2 = 2 * (d1[:, 1:] - d1[:, :-1])  # (N, 2, 2)
    q1 = np.stack([s * s, 2 * s * u, u * u], axis=-1) @ d1
    q2 = np.stack([s, u], axis=-1) @ d2
    diff = q - points
    numerator = (diff * q1).sum(-1)
    denominator = (q1 * q1).sum(-1) + (diff * q2).sum(-1)
    step = np.where(np.abs(denominator) > 1e-12, numerator / np.where(denominator == 0, 1, denominator), 0)
    return np.clip(u - step, 0.0, 1.0)


def fit_count(outline: Outline, count: int, start: float = 0.0) -> tuple[BezierPath, float]:
    """The closed path of ``count`` evenly spaced anchors (the first ``start`` spacings along) that best fits
    the outline, and its largest distance from the outline's samples."""
    return _fit_segments(outline, count, start)


def fewest_anchors(outline: Outline, tolerance: float, minimum: int = 4) -> int:
    """The smallest anchor count whose fit stays within ``tolerance`` (doubling, then bisecting)."""
    return enough_anchors(outline, tolerance, minimum, minimum)


def enough_anchors(outline: Outline, tolerance: float, guess: int, minimum: int = 4) -> int:
    """An anchor count within ``tolerance``: ``guess`` if it suffices (one fit), else the smallest above it."""
    limit = max(minimum, math.ceil(outline.perimeter / 2))
    low, high = guess - 1, max(guess, minimum)
    while high < limit and fit_count(outline, high)[1] > tolerance:
        low, high = high, min(limit, high * 2)
    while high - low > 1:
        middle = (low + high) // 2
        if fit_count(outline, middle)[1] <= tolerance:
            high = middle
        else:
            low = middle
    return high
