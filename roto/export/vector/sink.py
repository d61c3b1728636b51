"""Export's sink for shape formats: follows each target's shapes frame by frame, writes the files at the end
(animated formats need every frame's anchors before the first key can be written)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from roto.errors import ExportError
from roto.export.staging import Staging
from roto.export.vector.after_effects import after_effects_script
from roto.export.vector.blender import blender_script
from roto.export.vector.document import ShapeDocument, ShapeLayer
from roto.export.vector.lottie import lottie
from roto.export.vector.nuke import nuke_script
from roto.export.vector.svg import svg_animated, svg_frame
from roto.shapes import ShapeSettings, ShapeTracker

WHOLE_SHOT_WRITERS: dict[str, Callable[[ShapeDocument], str]] = {
    "svg-animated": svg_animated,
    "lottie": lottie,
    "nuke": nuke_script,
    "after-effects": after_effects_script,
    "blender": blender_script,
}
"""Formats written as one file for the whole shot; ``svg`` (one file per frame) is the other shape format."""


class ShapeWarning(UserWarning):
    """Shapes were left out to keep the output bounded (a mask of more parts than ``max_paths``)."""


@dataclass(frozen=True)
class ShapeJob:
    """What the sink needs from the export plan."""

    format: str
    shot: str
    size: tuple[int, int]
    fps: Fraction
    frames: range
    numbers: list[int]  # file/key number of each frame in ``frames``
    colours: dict[str, tuple[int, int, int]]  # per target, in layer order
    settings: ShapeSettings
    paths: list[Path]  # final paths: one per frame (svg) or one


class ShapeSink:
    """Takes each frame's alphas (cut at 0.5) into one ShapeTracker per target; ``close`` writes the files."""

    def __init__(self, job: ShapeJob, staging: Staging) -> None:
        self._job, self._staging = job, staging
        self._trackers = {target: ShapeTracker(job.settings) for target in job.colours}

    def write(self, index: int, planes: dict[str, np.ndarray], rgb: np.ndarray | None) -> None:
        for target, alpha in planes.items():
            self._trackers[target].add(index, alpha >= 0.5)

    def close(self) -> None:
        job = self._job
        for target, tracker in self._trackers.items():
            if tracker.dropped_frames:
                frame, dropped = max(tracker.dropped_frames, key=lambda item: item[1])
                warnings.warn(
                    f"Shot '{job.shot}', object '{target}': {len(tracker.dropped_frames)} frame(s) had more "
                    f"than {job.settings.max_paths} parts and holes (frame {job.numbers[job.frames.index(frame)]}: "
                    f"{dropped} more); only the {job.settings.max_paths} largest of each frame were written",
                    ShapeWarning,
                    stacklevel=2,
                )
        layers = [
            ShapeLayer(name, colour, self._trackers[name].paths()) for name, colour in job.colours.items()
        ]
        document = ShapeDocument(job.shot, job.size, job.fps, list(job.frames), job.numbers, layers)
        if job.format == "svg":
            for frame, path in zip(job.frames, job.paths, strict=True):
                self._write(path, svg_frame(document, frame))
        else:
            self._write(job.paths[0], WHOLE_SHOT_WRITERS[job.format](document))

    def _write(self, final: Path, text: str) -> None:
        try:
            self._staging.temp_path(final).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ExportError(f"Cannot write {final}: {exc.strerror or exc}") from None

    def discard(self) -> None:
        return None
