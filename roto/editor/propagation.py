"""One propagation run, the same for the editor and `roto track`: plan the legs, track them, land the masks.

The rule (docs/ui.md, "Propagation"): a run tracks the chosen objects over a range of frames, from a start frame
(the editor's playhead; for `roto track`, each object's first prompted frame) forward to the range's end, backward
to its start, or both. SAM2 takes an object's pointer only from its prompts on the near side of the tracked
frame, so an object is tracked forward only from its first prompted frame on and backward only from its last one
back: a leg of the run starts, for each object, at the later (forward) or earlier (backward) of the start frame
and that prompt. Objects whose legs start on the same frame are tracked together. Prompted frames keep the masks
the user made. `plan_legs` is that rule, `track_legs` runs it on a `VideoPropagator`, and both the editor's
worker and the CLI call them, so the same prompts give the same masks in both.

In the editor, masks arrive one frame at a time and go onto the UndoStack at once, so the canvas, the timeline
and an export see them while the run goes on and a cancelled run keeps what it did. Each frame is a
`roto.project.Propagate` wrapped in a `PropagationStep`; the steps of one run merge on the stack, so the whole run
is undone (exactly: Propagate restores each frame's previous mask entry) in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from roto.editor.requests import FramePromptSet, Leg, ObjectPromptSet, PropagateRequest
from roto.engine.propagator import VideoPropagator
from roto.project import Batch, Command, EncodedMask, Propagate, RotoObject


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BOTH = "both"


LABELS = {
    Direction.FORWARD: "Propagate forward",
    Direction.BACKWARD: "Propagate backward",
    Direction.BOTH: "Propagate",
}


def plan_legs(
    direction: Direction, frame: int, first: int, last: int, objects: Iterable[ObjectPromptSet]
) -> tuple[Leg, ...]:
    """The legs of a run from `frame` over `first..last` (inclusive) for these objects, in the order to run them.

    Forward legs come first; with both directions the backward legs start before the frames the forward ones
    covered, so every frame is tracked once per object.
    """
    if not first <= frame <= last:
        raise ValueError(f"frame {frame} is outside the range {first}..{last}")
    forward: dict[int, list[int]] = {}
    backward: dict[int, list[int]] = {}
    for obj in objects:
        prompted = [f.frame for f in obj.frames]
        if not prompted:
            continue
        if direction != Direction.BACKWARD:
            start = max(frame, min(prompted))
            if start <= last:
                forward.setdefault(start, []).append(obj.object_id)
        if direction != Direction.FORWARD:
            start = max(frame, min(prompted)) - 1 if direction == Direction.BOTH else frame
            start = min(start, max(prompted))
            if start >= first:
                backward.setdefault(start, []).append(obj.object_id)
    return tuple(
        [Leg(start, last, False, tuple(ids)) for start, ids in sorted(forward.items())]
        + [Leg(start, first, True, tuple(ids)) for start, ids in sorted(backward.items(), reverse=True)]
    )


def prompt_sets(objects: Iterable[RotoObject], shot_first_frame: int = 0) -> tuple[ObjectPromptSet, ...]:
    """The prompts a propagator is built from, on media frames: every prompted frame of each object (last box)."""
    return tuple(
        ObjectPromptSet(
            obj.id,
            tuple(
                FramePromptSet(frame - shot_first_frame, tuple(p.points), p.boxes[-1] if p.boxes else None)
                for frame, p in sorted(obj.prompts.items())
                if not p.is_empty()
            ),
        )
        for obj in objects
        if any(not p.is_empty() for p in obj.prompts.values())
    )


def add_prompts(
    tracker: VideoPropagator, objects: Iterable[ObjectPromptSet]
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Give the tracker every prompted frame; yields (object id, frame, mask) of each prompted frame."""
    for obj in objects:
        for prompts in obj.frames:
            result = tracker.add_prompts(prompts.frame, obj.object_id, *prompts.arrays())
            yield obj.object_id, prompts.frame, result.mask(obj.object_id)


def track_legs(
    tracker: VideoPropagator, request: PropagateRequest, cancel: Callable[[], bool]
) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
    """Run the request's legs; yields (frame, {object id: mask}) for each frame tracked, prompted frames left out.

    A frame where every object of its leg is prompted yields an empty dict, so a caller counting progress sees
    each frame of `request.total`.
    """
    prompted = {obj.object_id: {f.frame for f in obj.frames} for obj in request.objects}
    for leg in request.legs:
        ids = list(leg.object_ids)
        for result in tracker.propagate(leg.start, leg.end, leg.reverse, ids, cancel):
            yield result.frame, {oid: result.mask(oid) for oid in ids if result.frame not in prompted[oid]}
        if cancel():
            return


@dataclass
class PropagationRun:
    """The run in progress in the editor: its id tags the worker's answers and its undo step."""

    run_id: int
    label: str
    total: int
    follow: int | None  # the frame the playhead was moved to, while it follows the run
    frames_done: int = 0
    last_frame: int | None = None  # the latest frame received (a timeline position)
    followed_at: float = 0.0
    cancelling: bool = False


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
    run_id: int, label: str, shot_id: str, frame: int, masks: Mapping[int, np.ndarray | EncodedMask]
) -> PropagationStep:
    """The undo step of one frame of a run; `frame` is a shot frame."""
    results = [(object_id, frame, mask) for object_id, mask in masks.items()]
    return PropagationStep([Propagate(shot_id, results, label=label)], label=label, run_id=run_id)
