"""One propagation run, the same for the editor and `roto track`: plan the legs, track them, land the masks.

The rule (docs/ui.md, "Propagation"): a run tracks the chosen objects over a range of frames, from a start frame
(the editor's playhead; for `roto track`, each object's first prompted frame) forward to the range's end, backward
to its start, or both. SAM2 takes an object's pointer only from its prompts on the near side of the tracked
frame, so an object is tracked forward only from its first prompted frame on and backward only from its last one
back: a leg of the run starts, for each object, at the later (forward) or earlier (backward) of the start frame
and that prompt. Objects whose legs start on the same frame are tracked together. Prompted frames keep the masks
the user made, and a frame whose mask was painted by hand is prompted by that mask (SAM2's add_new_mask), so a
correction sticks through later runs and is carried forward. `plan_legs` is that rule, `track_legs` runs it on a
`VideoPropagator`, and both the editor's worker and the CLI call them, so the same prompts give the same masks in both.

In the editor, masks arrive one frame at a time and go onto the UndoStack at once, so the canvas, the timeline
and an export see them while the run goes on and a cancelled run keeps what it did. Each frame is a
`roto.project.Propagate` wrapped in a `PropagationStep`; the steps of one run merge on the stack, so the whole run
is undone (exactly: Propagate restores each frame's previous mask entry) in one step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from roto.editor.requests import FramePromptSet, Leg, ObjectPromptSet, PropagateRequest
from roto.engine.propagator import FrameResult, VideoPropagator
from roto.project import Batch, Command, EncodedMask, MaskOrigin, MaskStore, Propagate, RotoObject, Shot
from roto.project.maskcodec import decode_mask


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


def _frame_prompts(obj: RotoObject, shot: Shot, store: MaskStore) -> tuple[FramePromptSet, ...]:
    """An object's prompted frames: clicked ones (points, last box) and painted ones (mask origin EDITED).

    On a frame both clicked and painted, the mask's origin says which came last (a click's answer is PROMPTED,
    a stroke EDITED), so a painted mask is the frame's prompt until a later click replaces it.
    """
    found = {
        frame: FramePromptSet(shot.media_index(frame), tuple(p.points), p.boxes[-1] if p.boxes else None)
        for frame, p in obj.prompts.items()
        if not p.is_empty()
    }
    for frame, entry in obj.masks.items():
        if entry.origin == MaskOrigin.EDITED:
            painted = EncodedMask(entry.digest, store.blob(entry.digest), shot.frame_shape)
            found[frame] = FramePromptSet(shot.media_index(frame), (), None, painted)
    return tuple(found[frame] for frame in sorted(found))


def prompt_sets(objects: Iterable[RotoObject], shot: Shot, store: MaskStore) -> tuple[ObjectPromptSet, ...]:
    """The prompts a propagator is built from, on media frames: every prompted or painted frame of each object."""
    sets = (ObjectPromptSet(obj.id, _frame_prompts(obj, shot, store)) for obj in objects)
    return tuple(s for s in sets if s.frames)


def add_frame(tracker: VideoPropagator, object_id: int, prompts: FramePromptSet) -> FrameResult:
    """Give the tracker one prompted frame: its painted mask (decoded here, off the GUI thread) or its clicks."""
    if prompts.mask is None:
        return tracker.add_prompts(prompts.frame, object_id, *prompts.arrays())
    where = f"the painted mask of object {object_id} on media frame {prompts.frame}"
    return tracker.add_mask(
        prompts.frame, object_id, decode_mask(prompts.mask.blob, prompts.mask.shape, where)
    )


def add_prompts(
    tracker: VideoPropagator, objects: Iterable[ObjectPromptSet]
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Give the tracker every prompted frame; yields (object id, frame, mask) of each clicked frame (a painted
    frame keeps the mask painted on it)."""
    for obj in objects:
        for prompts in obj.frames:
            result = add_frame(tracker, obj.object_id, prompts)
            if prompts.mask is None:
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
    started_at: float = field(default_factory=time.monotonic)
    first_frame_at: float | None = (
        None  # the rate is measured from the first frame on: setting up is not tracking
    )

    def note_frame(self, now: float) -> None:
        self.frames_done += 1
        if self.first_frame_at is None:
            self.first_frame_at = now

    def rate(self, now: float) -> float | None:
        """Frames per second since the first frame landed (None until two frames have)."""
        if self.first_frame_at is None or self.frames_done < 2 or now <= self.first_frame_at:
            return None
        return (self.frames_done - 1) / (now - self.first_frame_at)

    def progress_text(self, now: float) -> str:
        """'N / total · R fps · M:SS left' for the status bar."""
        text = f"{self.frames_done} / {self.total}"
        rate = self.rate(now)
        if rate is None:
            return text
        left = round((self.total - self.frames_done) / rate)
        return f"{text} · {rate:.2g} fps · {left // 60}:{left % 60:02d} left"


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
