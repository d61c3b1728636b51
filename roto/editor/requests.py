"""What the editor asks the engine and what comes back: immutable values built on the GUI thread.

A request carries everything the work needs (prompts are copied into it), so the thread doing the work never
reads the document, and an answer names the request it answers, so stale answers are recognised and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roto.engine.automask import AutomaskParams
from roto.project import Box, EncodedMask, Point


@dataclass(frozen=True)
class FramePromptSet:
    """One prompted frame of an object, as the model takes it (one box at most); `frame` is a media index.

    `mask` is set where the frame's mask was painted by hand (a brush or eraser stroke): that mask is then the
    frame's prompt, as SAM2's add_new_mask takes it, and its points and box are not given to the model.
    """

    frame: int
    points: tuple[Point, ...]
    box: Box | None
    mask: EncodedMask | None = None

    def arrays(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """(coords (N, 2), labels (N,), box (4,)) in frame pixels, None where absent: the engine's arguments."""
        return prompt_arrays(self.points, self.box)


def prompt_arrays(
    points: tuple[Point, ...], box: Box | None
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Prompts as the engine's numpy arguments (None where there are none)."""
    coords = np.array([(p.x, p.y) for p in points], np.float32).reshape(-1, 2) if points else None
    labels = np.array([p.label for p in points], np.int32) if points else None
    corners = np.array([box.x0, box.y0, box.x1, box.y1], np.float32) if box is not None else None
    return coords, labels, corners


@dataclass(frozen=True)
class PredictTarget:
    """Which mask a prompt edit is about: an object on a frame of a shot."""

    shot_id: str
    object_id: int
    frame: int


@dataclass(frozen=True)
class PredictRequest:
    """All prompts of an object on a frame (the model sees them together), tagged so stale answers are dropped.

    `target` names the mask in the document (a shot frame); `prompts.frame` is the media index the model reads.
    """

    target: PredictTarget
    request_id: int
    prompts: FramePromptSet


@dataclass(frozen=True)
class PredictResult:
    request: PredictRequest
    mask: np.ndarray | EncodedMask  # bool (H, W), or already compressed off the GUI thread
    score: float
    # every multimask candidate as bool (H, W), best first (empty: one mask only); a sequence that may make each
    # mask only when it is asked for
    candidates: Sequence[np.ndarray] = ()


@dataclass(frozen=True)
class ObjectPromptSet:
    """All prompted frames of one object: equal sets mean the propagator built for them can be reused."""

    object_id: int
    frames: tuple[FramePromptSet, ...]


@dataclass(frozen=True)
class Leg:
    """Part of a run: track these objects from `start` to `end` (inclusive media indices) in one direction."""

    start: int
    end: int
    reverse: bool
    object_ids: tuple[int, ...]

    @property
    def length(self) -> int:
        return abs(self.end - self.start) + 1


@dataclass(frozen=True)
class PropagateRequest:
    """A propagation run: its legs run one after the other, over the prompts of the objects given."""

    run_id: int
    objects: tuple[ObjectPromptSet, ...]
    legs: tuple[Leg, ...]

    @property
    def total(self) -> int:
        """Frames the run tracks, counted once per leg: the length of its progress bar."""
        return sum(leg.length for leg in self.legs)


@dataclass(frozen=True)
class ProposeRequest:
    """Segment everything on one frame (a media index) with these parameters; `job_id` tags the answer."""

    job_id: int
    frame: int
    params: AutomaskParams


@dataclass(frozen=True)
class EngineInfo:
    """What the status bar says about the model."""

    name: str
    provider: str
    random_weights: bool
    precision: str = "fp32"
    fallback_reason: str | None = None  # why a better provider is not running (SessionReport.fallback_reason)
    passed_over: tuple[str, ...] = ()  # better providers not tried, and why (SessionReport.passed_over)
