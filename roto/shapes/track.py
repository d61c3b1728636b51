"""An object's shapes over a run of frames, with the same anchors on every frame of a path.

Each connected part and each hole becomes a path followed from frame to frame (matched by position and size).
A path keeps one anchor count through the shot (the most any of its frames needs), and its anchor k stays on
the same part of the outline: each frame starts its anchors where the previous frame's anchors, moved by the
path's own motion, fit best. So a compositor interpolating between keys sees points travel with the object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from roto.shapes.bezier import BezierPath, Outline, enough_anchors, fit_count
from roto.shapes.contours import find_contours
from roto.shapes.settings import ShapeSettings

_ALIGN_SAMPLES = 8  # candidate starts per anchor spacing when lining a frame up with the previous one
_REFIT_SAMPLES = 16  # points per segment when a stored path is refitted with more anchors
_MAX_JUMP = 0.75  # a part moving more than this times its own size between frames counts as a new part


@dataclass(frozen=True)
class AnimatedPath:
    """One part (or hole) of an object: its path on each frame where it exists, all with ``count`` anchors."""

    is_hole: bool
    count: int
    keys: dict[int, BezierPath]  # frame index -> path; frames without the part have no key


@dataclass
class _Track:
    is_hole: bool
    count: int
    keys: dict[int, BezierPath] = field(default_factory=dict)
    centroid: np.ndarray = field(default_factory=lambda: np.zeros(2))
    size: float = 0.0  # a quarter of the perimeter: about the part's width


def _start(outline: Outline, count: int, previous: BezierPath, shift: np.ndarray) -> float:
    """Where on ``outline`` (in anchor spacings) to put anchor 0 so the anchors land nearest to the previous
    frame's anchors moved by ``shift``; with a different anchor count, nearest to its anchor 0."""
    candidates, _ = outline.resample(count * _ALIGN_SAMPLES)
    if len(previous) != count:
        distance = np.linalg.norm(candidates - (previous.anchors[0] + shift), axis=1)
        return float(np.argmin(distance)) / _ALIGN_SAMPLES
    target = previous.anchors + shift  # (N, 2)
    index = (np.arange(len(candidates))[:, None] + _ALIGN_SAMPLES * np.arange(count)[None, :]) % len(
        candidates
    )
    cost = ((candidates[index] - target[None]) ** 2).sum(axis=(1, 2))
    return float(np.argmin(cost)) / _ALIGN_SAMPLES


def _roll_to(path: BezierPath, previous: BezierPath, shift: np.ndarray) -> BezierPath:
    """The same path with its anchors renumbered (a cyclic shift) to line up with ``previous``."""
    target = previous.anchors + shift
    count = len(path)
    index = (np.arange(count)[:, None] + np.arange(count)[None, :]) % count  # row k: anchors rolled by k
    k = int(np.argmin(((path.anchors[index] - target[None]) ** 2).sum(axis=(1, 2))))
    return BezierPath(*(np.roll(a, -k, axis=0) for a in (path.anchors, path.in_handles, path.out_handles)))


class ShapeTracker:
    """Feeds one object's masks frame by frame (in order); ``paths()`` gives its animated paths."""

    def __init__(self, settings: ShapeSettings) -> None:
        self._settings = settings
        self._tracks: list[_Track] = []
        self.dropped_frames: list[tuple[int, int]] = []  # (frame, paths dropped for max_paths)

    def add(self, frame: int, mask: np.ndarray | None) -> None:
        """The object's boolean mask on ``frame`` (None or empty: no shape on that frame)."""
        if mask is None:
            return
        settings = self._settings
        found = find_contours(mask, settings.min_area, settings.max_paths)
        if found.dropped:
            self.dropped_frames.append((frame, found.dropped))
        outlines = [(Outline.of(c.points), c.is_hole) for c in found.contours]
        claimed = self._match(outlines)
        for (outline, is_hole), track in zip(outlines, claimed, strict=True):
            centroid = outline.closed[:-1].mean(axis=0)
            if track is None:
                count = enough_anchors(outline, settings.tolerance, 4)
                track = _Track(is_hole, count)
                self._tracks.append(track)
                start = 0.0
                path, _ = fit_count(outline, count, start)
            else:
                previous = track.keys[max(track.keys)]
                start = _start(outline, track.count, previous, centroid - track.centroid)
                path, error = fit_count(outline, track.count, start)
                if error > settings.tolerance:  # this frame needs more anchors: the whole path gets them
                    track.count = enough_anchors(outline, settings.tolerance, track.count + 1)
                    start = _start(outline, track.count, previous, centroid - track.centroid)
                    path, _ = fit_count(outline, track.count, start)
            track.keys[frame] = path
            track.centroid, track.size = centroid, outline.perimeter / 4

    def _match(self, outlines: list[tuple[Outline, bool]]) -> list[_Track | None]:
        """Each outline's track: nearest by centroid relative to size, same kind, one outline per track."""
        pairs = []
        for i, (outline, is_hole) in enumerate(outlines):
            centroid = outline.closed[:-1].mean(axis=0)
            size = outline.perimeter / 4  # about the part's width
            for j, track in enumerate(self._tracks):
                if track.is_hole != is_hole or not 0.5 < size / max(track.size, 1e-9) < 2:
                    continue
                jump = float(np.linalg.norm(centroid - track.centroid)) / max(size, 1.0)
                if jump < _MAX_JUMP:
                    pairs.append((jump, i, j))
        claimed: list[_Track | None] = [None] * len(outlines)
        taken: set[int] = set()
        for _, i, j in sorted(pairs):
            if claimed[i] is None and j not in taken:
                claimed[i] = self._tracks[j]
                taken.add(j)
        return claimed

    def paths(self) -> list[AnimatedPath]:
        """Every path with its final anchor count on all its frames, anchors numbered consistently."""
        result = []
        for track in self._tracks:
            keys: dict[int, BezierPath] = {}
            previous: BezierPath | None = None
            last_centroid = np.zeros(2)
            for frame in sorted(track.keys):
                path = track.keys[frame]
                centroid = path.centroid()
                if len(path) != track.count:
                    outline = Outline.of(path.sample(_REFIT_SAMPLES))
                    start = (
                        0.0
                        if previous is None
                        else _start(outline, track.count, previous, centroid - last_centroid)
                    )
                    path, _ = fit_count(outline, track.count, start)
                if previous is not None:
                    path = _roll_to(path, previous, centroid - last_centroid)
                keys[frame] = path
                previous, last_centroid = path, centroid
            result.append(AnimatedPath(track.is_hole, track.count, keys))
        return result
