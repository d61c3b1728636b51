"""What the editor asks the engine and what comes back: immutable values built on the GUI thread.

A request carries everything the work needs (prompts are copied into it), so the thread doing the work never
reads the document, and an answer names the request it answers, so stale answers are recognised and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roto.project import Box, Point


@dataclass(frozen=True)
class PredictTarget:
    """Which mask a prompt edit is about: an object on a frame of a shot."""

    shot_id: str
    object_id: int
    frame: int


@dataclass(frozen=True)
class PredictRequest:
    """All prompts of an object on a frame (the model sees them together), tagged so stale answers are dropped."""

    target: PredictTarget
    request_id: int
    points: tuple[Point, ...]
    box: Box | None


@dataclass(frozen=True)
class PredictResult:
    request: PredictRequest
    mask: np.ndarray  # bool (H, W)
    score: float
    candidates: tuple[np.ndarray, ...] = ()  # every multimask candidate, best first (empty: one mask only)


@dataclass(frozen=True)
class FramePromptSet:
    """One prompted frame of an object, as the propagator takes it (one box at most)."""

    frame: int
    points: tuple[Point, ...]
    box: Box | None


@dataclass(frozen=True)
class ObjectPromptSet:
    """All prompted frames of one object: equal sets mean the propagator built for them can be reused."""

    object_id: int
    frames: tuple[FramePromptSet, ...]


@dataclass(frozen=True)
class PropagateRequest:
    """A propagation run: legs of (start, end, reverse) run one after the other for the objects given."""

    run_id: int
    objects: tuple[ObjectPromptSet, ...]
    legs: tuple[tuple[int, int, bool], ...]

    @property
    def total(self) -> int:
        return sum(abs(end - start) + 1 for start, end, _ in self.legs)


@dataclass(frozen=True)
class EngineInfo:
    """What the status bar says about the model."""

    name: str
    provider: str
    random_weights: bool
