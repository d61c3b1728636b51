"""A propagation run as the document sees it: which frames to track, and its frames landing as one undo step.

Masks arrive from the worker one frame at a time and go onto the UndoStack at once, so the canvas, the timeline
and an export see them while the run goes on and a cancelled run keeps what it did. Each frame is a
`roto.project.Propagate` command wrapped in a `PropagationStep`; the steps of one run merge on the stack, so the
whole run is undone (exactly: Propagate restores each frame's previous mask entry) in one step. Nothing here
needs a window, so it is tested without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from roto.editor.requests import FramePromptSet, ObjectPromptSet
from roto.project import Batch, Command, Propagate, RotoObject


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BOTH = "both"


def plan_legs(direction: Direction, frame: int, first: int, last: int) -> tuple[tuple[int, int, bool], ...]:
    """(start, end, reverse) legs from `frame` to the ends of the range `first..last` (inclusive).

    Both directions run forward first, then backward from the frame before: every frame is tracked once.
    """
    if not first <= frame <= last:
        raise ValueError(f"frame {frame} is outside the range {first}..{last}")
    forward = ((frame, last, False),)
    backward = ((frame, first, True),)
    if direction == Direction.FORWARD:
        return forward
    if direction == Direction.BACKWARD:
        return backward
    return forward + (((frame - 1, first, True),) if frame > first else ())


def prompt_sets(objects: Iterable[RotoObject]) -> tuple[ObjectPromptSet, ...]:
    """The prompts the propagator is built from: every prompted frame of each object (last box only)."""
    return tuple(
        ObjectPromptSet(
            obj.id,
            tuple(
                FramePromptSet(frame, tuple(p.points), p.boxes[-1] if p.boxes else None)
                for frame, p in sorted(obj.prompts.items())
                if not p.is_empty()
            ),
        )
        for obj in objects
        if any(not p.is_empty() for p in obj.prompts.values())
    )


@dataclass
class PropagationStep(Batch):
    """One frame's Propagate; the steps of a run merge so that the run is a single undo step."""

    run_id: int = 0

    def merge(self, following: Command) -> bool:
        if isinstance(following, PropagationStep) and following.run_id == self.run_id:
            self.commands.extend(following.commands)
            return True
        return False


def frame_step(
    run_id: int, label: str, shot_id: str, frame: int, masks: dict[int, np.ndarray]
) -> PropagationStep:
    results = [(object_id, frame, mask) for object_id, mask in masks.items()]
    return PropagationStep([Propagate(shot_id, results, label=label)], label=label, run_id=run_id)
