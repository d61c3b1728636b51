"""Prompt edits waiting for their mask, so that a click and the mask it produced are one undo step.

A click does not touch the document at once: its command waits here, drawn as a pending marker, while the worker
predicts from the prompts the frame will have. When the newest answer for that object and frame arrives, the
waiting commands and a SetMask go onto the UndoStack together as one Batch. Answers to superseded requests are
dropped (latest click wins). A single click's answer may hold several candidate masks (SAM2's multimask
output); they stay offered while that frame's prompts are still that one click. No Qt here, so the logic is
tested without a window.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from roto.editor.requests import FramePromptSet, PredictRequest, PredictResult, PredictTarget
from roto.project import (
    AddPrompt,
    Batch,
    Box,
    Command,
    DeletePrompt,
    FramePrompts,
    MaskOrigin,
    MovePrompt,
    Point,
    SetMask,
    UndoStack,
)


@dataclass(frozen=True)
class Candidates:
    """The multimask answers to a single click, and which of them the frame shows."""

    target: PredictTarget
    prompts: FramePrompts  # the frame's prompts when they were answered: a later edit retires the candidates
    masks: Sequence[np.ndarray]
    index: int = 0


@dataclass
class _Pending:
    commands: list[Command] = field(default_factory=list)
    request_id: int = 0


class PromptSession:
    """Turns prompt edits into predict requests and their answers into single undo steps."""

    def __init__(self, stack: UndoStack, send: Callable[[PredictRequest], None]) -> None:
        self.stack = stack
        self._send = send
        self._pending: dict[PredictTarget, _Pending] = {}
        self._next_id = 0
        self.candidates: Candidates | None = None

    # -- edits from the canvas -------------------------------------------------------------------

    def add_point(self, target: PredictTarget, point: Point) -> None:
        self._edit(target, [AddPrompt(target.shot_id, target.object_id, target.frame, point)])

    def add_box(self, target: PredictTarget, box: Box) -> None:
        """The model takes one box per object and frame, so a new box replaces the old one in the same step."""
        old = self.prompts(target).boxes
        replaced: list[Command] = [
            DeletePrompt(target.shot_id, target.object_id, target.frame, "boxes", index)
            for index in reversed(range(len(old)))
        ]
        self._edit(target, [*replaced, AddPrompt(target.shot_id, target.object_id, target.frame, box)])

    def delete_prompt(self, target: PredictTarget, kind: str, index: int) -> None:
        if kind not in ("points", "boxes"):
            raise ValueError(f"kind must be 'points' or 'boxes', got {kind!r}")
        self._edit(target, [DeletePrompt(target.shot_id, target.object_id, target.frame, kind, index)])  # type: ignore[arg-type]

    def move_prompt(self, target: PredictTarget, index: int, prompt: Point | Box) -> None:
        """A dragged point, or a moved or resized box, lands in one step with the mask predicted from it."""
        self._edit(target, [MovePrompt(target.shot_id, target.object_id, target.frame, index, prompt)])

    # -- what the canvas draws ---------------------------------------------------------------------

    def _committed(self, target: PredictTarget) -> FramePrompts:
        obj = self.stack.project.shot(target.shot_id).object(target.object_id)
        return copy.deepcopy(obj.prompts.get(target.frame, FramePrompts()))

    def prompts(self, target: PredictTarget) -> FramePrompts:
        """The prompts the frame will have once waiting edits land (committed ones plus pending ones)."""
        prompts = self._committed(target)
        pending = self._pending.get(target)
        for command in pending.commands if pending else []:
            _apply(prompts, command)
        return prompts

    def is_waiting(self, target: PredictTarget) -> bool:
        return target in self._pending

    @property
    def waiting(self) -> bool:
        return bool(self._pending)

    def discard_pending(self) -> None:
        """Forget waiting edits (before undo/redo, or when the document closes); late answers are ignored."""
        self._pending.clear()

    # -- answers from the worker -------------------------------------------------------------------

    def on_result(self, result: PredictResult) -> bool:
        """Commit the waiting edits with their mask; False for a stale answer. Raises RotoError if refused."""
        pending = self._take(result.request)
        if pending is None:
            return False
        target = result.request.target
        mask = SetMask(target.shot_id, target.object_id, target.frame, result.mask, MaskOrigin.PROMPTED)
        self._commit([*pending.commands, mask])
        many = len(result.candidates) > 1
        self.candidates = Candidates(target, self._committed(target), result.candidates) if many else None
        return True

    def current_candidates(self) -> Candidates | None:
        """The candidates, while their frame's prompts are still the click they answer (else None)."""
        chosen = self.candidates
        if chosen is not None and self._committed(chosen.target) != chosen.prompts:
            self.candidates = chosen = None
        return chosen

    def next_candidate(self) -> Candidates | None:
        """Show the click's next candidate mask, as its own undo step; None when no candidates apply."""
        chosen = self.current_candidates()
        if chosen is None:
            return None
        index = (chosen.index + 1) % len(chosen.masks)
        target = chosen.target
        mask = chosen.masks[index]
        label = "Next mask candidate"
        self.stack.push(
            SetMask(target.shot_id, target.object_id, target.frame, mask, MaskOrigin.PROMPTED, label)
        )
        self.candidates = dataclasses.replace(chosen, index=index)
        return self.candidates

    def on_failed(self, request: PredictRequest) -> bool:
        """Drop the edits whose mask could not be computed; False if the request was already stale."""
        return self._take(request) is not None

    # -- internals -----------------------------------------------------------------------------------

    def _edit(self, target: PredictTarget, commands: list[Command]) -> None:
        pending = self._pending.setdefault(target, _Pending())
        pending.commands.extend(commands)
        self._next_id += 1
        pending.request_id = self._next_id
        prompts = self.prompts(target)
        if prompts.is_empty():
            # Nothing left to predict from: the frame loses its mask in the same step.
            del self._pending[target]
            obj = self.stack.project.shot(target.shot_id).object(target.object_id)
            clear: list[Command] = [
                SetMask(target.shot_id, target.object_id, target.frame, None, MaskOrigin.PROMPTED)
            ]
            self._commit(pending.commands + (clear if target.frame in obj.masks else []))
            return
        index = self.stack.project.shot(target.shot_id).media_index(target.frame)
        box = prompts.boxes[-1] if prompts.boxes else None
        self._send(
            PredictRequest(target, pending.request_id, FramePromptSet(index, tuple(prompts.points), box))
        )

    def _take(self, request: PredictRequest) -> _Pending | None:
        pending = self._pending.get(request.target)
        if pending is None or pending.request_id != request.request_id:
            return None
        del self._pending[request.target]
        return pending

    def _commit(self, commands: list[Command]) -> None:
        """One undo step named after the last prompt edit ("Add point", "Add box", "Move point", ...)."""
        label = next(
            c.label for c in reversed(commands) if isinstance(c, AddPrompt | DeletePrompt | MovePrompt)
        )
        self.stack.push(Batch(commands, label=label))


def _apply(prompts: FramePrompts, command: Command) -> None:
    """Mirror of what the waiting AddPrompt/DeletePrompt commands will do, on a copy, for drawing."""
    if isinstance(command, AddPrompt):
        if isinstance(command.prompt, Point):
            prompts.points.append(command.prompt)
        else:
            prompts.boxes.append(command.prompt)
    elif isinstance(command, MovePrompt):
        moved = command.prompt
        if isinstance(moved, Point) and 0 <= command.index < len(prompts.points):
            prompts.points[command.index] = moved
        elif isinstance(moved, Box) and 0 <= command.index < len(prompts.boxes):
            prompts.boxes[command.index] = moved
    elif isinstance(command, DeletePrompt):
        items = prompts.points if command.kind == "points" else prompts.boxes
        if 0 <= command.index < len(items):
            items.pop(command.index)
