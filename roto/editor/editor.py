"""The editor's rules: every action a user takes in the window lands here, and changes the state or the document.

The window forwards input (a click at a frame position, a key, a menu choice) and shows what the state and the
undo stack say; it decides nothing. The engine is reached through `EngineClient` (the window's worker thread, or
a synchronous client in tests), and its answers come back through `on_*` methods on the GUI thread.

While a propagation runs it owns the document: edits are refused with the reason in the status text, because the
run's frames merge into one undo step only while nothing else is pushed in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

import numpy as np

from roto.editor.brush import paint_brush
from roto.editor.documents import Document
from roto.editor.prompts import PromptSession
from roto.editor.propagation import LABELS, Direction, PropagationRun, frame_step, plan_legs, prompt_sets
from roto.editor.proposals import AddProposedObjects, ProposalJob, ProposalPicker, ProposalSet
from roto.editor.requests import (
    PredictRequest,
    PredictResult,
    PredictTarget,
    PropagateRequest,
    ProposeRequest,
)
from roto.editor.state import EditorState
from roto.engine.automask import AutomaskParams
from roto.errors import RotoError
from roto.matte import MatteOps
from roto.media import MediaSource
from roto.project import (
    AddObject,
    Box,
    ChangeKind,
    ClearFrame,
    Command,
    DeleteObject,
    EncodedMask,
    MaskOrigin,
    Point,
    SetInOut,
    SetMask,
    StackEvent,
    UpdateObject,
    object_colour,
)

R = TypeVar("R")
FOLLOW_INTERVAL_S = (
    0.25  # the playhead follows a run at most this often: showing a frame costs the GUI thread
)


class EngineClient(Protocol):
    """The model work the editor asks for; answers come back through Editor.on_* on the GUI thread."""

    def set_source(self, source: MediaSource | None) -> None: ...

    def encode(self, index: int) -> None: ...

    def predict(self, request: PredictRequest) -> None: ...

    def propagate(self, request: PropagateRequest) -> None: ...

    def cancel_propagation(self) -> None: ...

    def propose(self, request: ProposeRequest) -> None: ...

    def cancel_proposals(self) -> None: ...


def _positions(doc: Document | None) -> tuple[int, int] | None:
    """The document's in/out range as timeline positions (None for none, or for one spanning the whole shot)."""
    if doc is None or doc.shot.in_out is None:
        return None
    first, last = doc.shot.in_out
    positions = (first - doc.shot.first_frame, last - doc.shot.first_frame)
    return None if positions == (0, doc.shot.frame_count - 1) else positions


class Editor:
    """The controller over one EditorState: documents, prompts, object edits and propagation runs."""

    def __init__(self, engine: EngineClient, state: EditorState | None = None) -> None:
        self.engine = engine
        self.state = state if state is not None else EditorState()
        self.prompts: PromptSession | None = None
        self.proposal_params = AutomaskParams()  # Propose Objects: Meta's generator's defaults
        self._next_run_id = 0
        self._next_job_id = 0
        self._unsubscribe = lambda: None
        self.state.connect("frame", lambda _frame: self._drop_proposals("the playhead moved"))

    # -- documents ---------------------------------------------------------------------------------

    def set_document(self, doc: Document | None) -> None:
        """Show `doc` (closing the one open before); any run of the old document is abandoned."""
        state = self.state
        self.abandon_run()
        self._drop_proposals()
        old = state.document
        self._unsubscribe()
        self._unsubscribe = lambda: None
        self.prompts = None
        state.candidates = None
        self.engine.set_source(doc.media if doc is not None else None)
        if doc is not None:
            self.prompts = PromptSession(doc.stack, self.engine.predict)
            self._unsubscribe = doc.stack.add_listener(self._on_stack_event)
        state.shown_frame = None
        state.in_out = _positions(doc)
        state.frame = 0
        state.selection = ()
        state.object_id = doc.shot.objects[0].id if doc is not None and doc.shot.objects else None
        state.document = doc
        if old is not None and old is not doc:
            old.close()

    def _on_stack_event(self, event: StackEvent) -> None:
        """Keep the current object valid when objects come and go (undo of an add, a delete)."""
        doc = self.state.document
        if doc is not None and self.state.object_id not in {obj.id for obj in doc.shot.objects}:
            self.state.object_id = doc.shot.objects[0].id if doc.shot.objects else None
        if self.prompts is not None:
            self.state.candidates = self.prompts.current_candidates()
        if any(ChangeKind.RANGE in change.kinds for change in event.changes):
            self.state.in_out = _positions(doc)

    def set_in_out(self, in_out: tuple[int, int] | None) -> bool:
        """Set the in/out range (timeline positions; None: the whole shot) as an undoable edit saved with the
        project; False when refused (a run owns the document), so the timeline can show the range again."""
        doc = self.state.document
        if in_out == (0, self.state.frame_count - 1):
            in_out = None  # the whole shot is no range
        if doc is None or in_out == self.state.in_out:
            return True
        if self._refused_while_busy():
            return False
        first = doc.shot.first_frame
        frames = None if in_out is None else (in_out[0] + first, in_out[1] + first)
        return self.push(SetInOut(doc.shot.id, frames))

    # -- frames ------------------------------------------------------------------------------------

    def jump_to_prompt(self, direction: int) -> None:
        """Move the playhead to the current object's next (direction 1) or previous (-1) prompted frame."""
        obj, doc = self.state.current_object, self.state.document
        if obj is None or doc is None:
            return
        here = doc.shot.first_frame + self.state.frame
        frames = sorted(f for f in obj.prompts if (f - here) * direction > 0)
        if not frames:
            where = "after" if direction > 0 else "before"
            self.state.status.emit(f"{obj.name} has no prompted frame {where} this one.")
            return
        self.state.frame = (frames[0] if direction > 0 else frames[-1]) - doc.shot.first_frame

    def frame_shown(self, index: int, playing: bool) -> None:
        """The canvas shows frame `index`: encode it ahead of a click, unless playback or a run is busy."""
        self.state.shown_frame = index
        if not playing and not self.state.busy:  # a run encodes the frames it reaches itself
            self.engine.encode(index)

    # -- prompts -----------------------------------------------------------------------------------

    def _prompt_session(self) -> PromptSession | None:
        """The session to edit prompts with, or None (with the reason in the status text)."""
        if self.state.engine is None:
            self.state.status.emit("No model is loaded: clicks cannot make masks (see the model status).")
            return None
        if self._refused_while_busy() or self.prompts is None:
            return None
        if self.state.target is None:
            self.state.status.emit("Add an object first (Object ▸ Add Object).")
            return None
        return self.prompts

    def add_point(self, x: float, y: float, label: int) -> None:
        self._edit_prompts(lambda session, target: session.add_point(target, Point(x, y, label)))

    def add_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self._edit_prompts(lambda session, target: session.add_box(target, Box(x0, y0, x1, y1)))

    def delete_point(self, index: int) -> None:
        self._edit_prompts(lambda session, target: session.delete_prompt(target, "points", index))

    def move_point(self, index: int, x: float, y: float) -> None:
        def move(session: PromptSession, target: PredictTarget) -> None:
            points = session.prompts(target).points
            if 0 <= index < len(points):
                session.move_prompt(target, index, Point(x, y, points[index].label))

        self._edit_prompts(move)

    def move_box(self, index: int, x0: float, y0: float, x1: float, y1: float) -> None:
        """A box moved or resized on the canvas: one undo step with the mask predicted from it."""

        def move(session: PromptSession, target: PredictTarget) -> None:
            if 0 <= index < len(session.prompts(target).boxes):
                session.move_prompt(target, index, Box(x0, y0, x1, y1))

        self._edit_prompts(move)

    def _edit_prompts(self, edit: Callable[[PromptSession, PredictTarget], None]) -> None:
        """A prompt edit on the current target; it waits for its mask, drawn as pending meanwhile."""
        session, target = self._prompt_session(), self.state.target
        if session is not None and target is not None:
            self._guard("Cannot edit prompts", lambda: edit(session, target))
            self.state.pending.emit(target)

    def on_mask(self, result: PredictResult) -> None:
        """The worker's answer to a prompt edit: commit it with its edits, unless a newer one superseded it."""
        session = self.prompts
        if session is None:
            return
        committed = self._guard("Cannot apply mask", lambda: session.on_result(result))
        if committed is None:  # refused: its waiting edits are dropped, their markers with them
            self.state.pending.emit(result.request.target)
        self.state.candidates = session.current_candidates()

    def on_predict_failed(self, request: PredictRequest, message: str) -> None:
        if self.prompts is not None and self.prompts.on_failed(request):
            self.state.pending.emit(request.target)
            self.state.error.emit(("Cannot compute mask", message))

    def next_candidate(self) -> None:
        """Replace the mask of a single click by the model's next candidate (one undo step each)."""
        session = self.prompts
        if session is None or self._refused_while_busy():
            return
        chosen = self._guard("Cannot edit", session.next_candidate)
        self.state.candidates = session.current_candidates()
        if chosen is not None:
            self.state.status.emit(f"Mask candidate {chosen.index + 1} of {len(chosen.masks)}")

    # -- document edits ----------------------------------------------------------------------------

    def push(self, command: Command) -> bool:
        """Do an edit as one undo step; a refused edit is reported and changes nothing."""
        doc = self.state.document
        if doc is None:
            return False
        try:
            doc.stack.push(command)
        except RotoError as exc:
            self.state.error.emit(("Cannot edit", str(exc)))
            return False
        return True

    def undo(self) -> None:
        self._step_history(undo=True)

    def redo(self) -> None:
        self._step_history(undo=False)

    def _step_history(self, undo: bool) -> None:
        doc = self.state.document
        if doc is None or self.prompts is None or self._refused_while_busy():
            return
        self.prompts.discard_pending()
        if undo:
            doc.stack.undo()
        else:
            doc.stack.redo()

    def clear_frame(self) -> None:
        target, obj = self.state.target, self.state.current_object
        if target is None or obj is None or self._refused_while_busy():
            return
        if target.frame in obj.prompts or target.frame in obj.masks:
            self.push(ClearFrame(target.shot_id, target.frame, target.object_id))

    def add_object(self) -> None:
        doc = self.state.document
        if doc is None or self._refused_while_busy():
            return
        shot = doc.shot
        command = AddObject(shot.id, shot.unused_object_name(), object_colour(len(shot.objects)))
        if self.push(command):
            self.state.object_id = command.object_id

    def delete_object(self, object_id: int) -> None:
        doc = self.state.document
        if doc is not None and not self._refused_while_busy():
            self.push(DeleteObject(doc.shot.id, object_id))

    def update_object(
        self,
        object_id: int,
        *,
        name: str | None = None,
        color: tuple[int, int, int] | None = None,
        visible: bool | None = None,
    ) -> bool:
        """Rename, recolour, show or hide an object; False (and nothing changed) when refused, e.g. a name
        another object has (names are unique: they name the exported files)."""
        doc = self.state.document
        if doc is None or self._refused_while_busy():
            return False
        fields = {k: v for k, v in (("name", name), ("color", color), ("visible", visible)) if v is not None}
        return self.push(UpdateObject(doc.shot.id, object_id, **fields))  # type: ignore[arg-type]

    def set_matte(self, object_id: int, matte: MatteOps, drag: int | None = None) -> bool:
        """Change an object's matte settings as one undo step; changes carrying one `drag` id (a slider being
        dragged) merge into a single step. False when refused (a run owns the document)."""
        doc = self.state.document
        if doc is None or self._refused_while_busy():
            return False
        return self.push(UpdateObject(doc.shot.id, object_id, matte=matte, drag=drag))

    def stroke(
        self, points: Sequence[tuple[float, float]], radius: float, erase: bool, soft: bool = False
    ) -> None:
        """A brush or eraser stroke is one SetMask (origin: hand-edited) on the current object and frame; a soft
        one blends into the mask's edge (roto.editor.brush)."""
        doc, target = self.state.document, self.state.target
        if doc is None or target is None:
            self.state.status.emit("Add an object first (Object ▸ Add Object).")
            return
        if self._refused_while_busy():
            return
        current = doc.project.get_mask(target.shot_id, target.object_id, target.frame)
        base = current if current is not None else np.zeros(doc.shot.frame_shape, bool)
        painted = paint_brush(base, points, radius, not erase, soft)
        if np.array_equal(painted, base):
            return
        # Erased to nothing, the frame keeps an empty hand-edited mask: as a prompt it tells SAM2 the object is
        # absent there (Clear Frame is what removes a frame's mask and prompts).
        label = "Erase" if erase else "Brush stroke"
        self.push(
            SetMask(target.shot_id, target.object_id, target.frame, painted, MaskOrigin.EDITED, label=label)
        )

    # -- propagation -------------------------------------------------------------------------------

    def _refused_while_busy(self) -> bool:
        """True (with the reason in the status text) while a propagation owns the document."""
        if self.state.run is None:
            return False
        self.state.status.emit("Propagating: wait for it to finish or cancel it (Esc) to edit.")
        return True

    def propagate(self, direction: Direction) -> PropagateRequest | None:
        """Track the selected objects from the playhead within the in/out range (docs/ui.md, "Propagation")."""
        state, doc = self.state, self.state.document
        if doc is None or self._refused_while_busy():
            return None
        if state.engine is None:
            state.status.emit("No model is loaded: propagation needs one (see the model status).")
            return None
        if self.prompts is not None and self.prompts.waiting:
            state.status.emit("A click is still being answered: propagate once its mask is shown.")
            return None
        chosen = state.selected_objects()
        locked = [obj.name for obj in chosen if obj.locked]
        objects = prompt_sets((obj for obj in chosen if not obj.locked), doc.shot, doc.project.masks)
        first, last = state.frame_range
        if not first <= state.frame <= last:
            state.status.emit(f"The current frame is outside the in/out range ({first + 1}–{last + 1}).")
            return None
        legs = plan_legs(direction, state.frame, first, last, objects)
        if not legs:
            reason = f"{', '.join(locked)} is locked" if locked else "click on the object on some frame first"
            if objects and not locked:
                reason = "the objects' prompts are all on the other side of the playhead"
            state.status.emit(f"Nothing to propagate: {reason}.")
            return None
        self._drop_proposals("propagating")
        self._next_run_id += 1
        request = PropagateRequest(self._next_run_id, objects, legs)
        state.candidates = None
        state.run = PropagationRun(request.run_id, LABELS[direction], request.total, follow=state.frame)
        self.engine.propagate(request)
        return request

    def cancel_propagation(self) -> None:
        run = self.state.run
        if run is not None and not run.cancelling:
            run.cancelling = True
            self.engine.cancel_propagation()
            self.state.status.emit("Cancelling…")

    def abandon_run(self) -> None:
        """Stop the run and ignore what it still sends (the document is closing)."""
        if self.state.run is not None:
            self.engine.cancel_propagation()
            self.state.run = None

    def on_propagated(self, run_id: int, index: int, masks: dict[int, EncodedMask]) -> None:
        """A frame of the run (a media index) lands in the document, merged into the run's undo step."""
        run, doc = self.state.run, self.state.document
        if run is None or run.run_id != run_id or doc is None:
            return
        if masks:
            step = frame_step(run_id, run.label, doc.shot.id, doc.shot.first_frame + index, masks)
            if not self.push(step):
                self.cancel_propagation()
                return
        now = time.monotonic()
        run.note_frame(now)
        run.last_frame = index
        if now - run.followed_at >= FOLLOW_INTERVAL_S:
            run.followed_at = now
            self._follow(run)

    def _follow(self, run: PropagationRun) -> None:
        """Show the run's latest frame, until the user moves the playhead themself."""
        if run.follow is not None and run.last_frame is not None and self.state.frame == run.follow:
            run.follow = run.last_frame
            self.state.frame = run.last_frame

    def on_propagation_done(self, run_id: int, cancelled: bool) -> None:
        run = self.state.run
        if run is None or run.run_id != run_id:
            return
        self.state.run = None
        self._follow(run)
        what = "cancelled: kept" if cancelled else "done:"
        self.state.status.emit(f"Propagation {what} {run.frames_done} frames (one undo step).")

    def on_propagation_failed(self, run_id: int, message: str) -> None:
        run = self.state.run
        if run is None or run.run_id != run_id:
            return
        self.state.run = None
        self.state.error.emit(
            ("Propagation failed", f"{message}\n\nThe {run.frames_done} frames done are kept.")
        )

    # -- propose objects (segment everything on the frame; roto.editor.proposals) -------------------------

    def propose_objects(self) -> ProposeRequest | None:
        """Segment everything on the playhead's frame in the background; the proposals then wait to be picked."""
        state, doc = self.state, self.state.document
        if doc is None or self._refused_while_busy():
            return None
        if state.engine is None:
            state.status.emit("No model is loaded: proposing objects needs one (see the model status).")
            return None
        if state.proposing is not None:
            state.status.emit("Objects are already being proposed: wait, or cancel with Esc.")
            return None
        self._next_job_id += 1
        request = ProposeRequest(self._next_job_id, state.frame, self.proposal_params)
        state.proposals = None
        state.proposing = ProposalJob(request.job_id, doc.shot.first_frame + state.frame)
        self.engine.propose(request)
        return request

    def on_proposal_progress(self, job_id: int, done: int, total: int) -> None:
        job = self.state.proposing
        if job is not None and job.job_id == job_id:
            self.state.proposing = replace(job, done=done, total=total)

    def on_proposals(self, result: ProposalSet) -> None:
        """The proposals of the job still wanted are shown to be picked from."""
        state, job, doc = self.state, self.state.proposing, self.state.document
        if job is None or job.job_id != result.job_id or doc is None:
            return
        state.proposing = None
        if not result.proposals:
            state.status.emit("No object proposed on this frame.")
            return
        state.proposals = ProposalPicker(doc.shot.id, job.frame, result.proposals, result.outlines)
        state.status.emit(
            f"{len(result.proposals)} objects proposed: click one to pick it, Shift+click to pick several, "
            "Enter adds them as objects, Esc dismisses."
        )

    def on_proposals_failed(self, job_id: int, message: str) -> None:
        job = self.state.proposing
        if job is not None and job.job_id == job_id:
            self.state.proposing = None
            self.state.error.emit(("Cannot propose objects", message))

    def on_proposals_cancelled(self, job_id: int) -> None:
        job = self.state.proposing
        if job is not None and job.job_id == job_id:
            self.state.proposing = None
            self.state.status.emit("Propose objects cancelled.")

    def dismiss_proposals(self) -> None:
        """Esc: cancel the proposing in progress, or take the proposals off the canvas."""
        job = self.state.proposing
        if job is not None:
            if not job.cancelling:
                self.state.proposing = replace(job, cancelling=True)
                self.engine.cancel_proposals()
                self.state.status.emit("Cancelling…")
        elif self.state.proposals is not None:
            self.state.proposals = None
            self.state.status.emit("Proposals dismissed.")

    def _drop_proposals(self, reason: str = "") -> None:
        """Forget the proposals shown and stop a job in progress: they belong to a frame and a document."""
        state = self.state
        if state.proposing is not None:
            self.engine.cancel_proposals()
            state.proposing = None  # what the job still sends is ignored
            if reason:
                state.status.emit(f"Propose objects cancelled: {reason}.")
        if state.proposals is not None:
            state.proposals = None
            if reason:
                state.status.emit(f"Proposals dismissed: {reason}.")

    def pick_proposal(self, x: float, y: float, add: bool) -> None:
        """A click on the canvas while proposals are shown: pick the one there; `add` (Shift) picks several."""
        picker = self.state.proposals
        if picker is not None:
            self.state.proposals = picker.picked(x, y, add)

    def add_proposed_objects(self) -> list[int]:
        """Enter: the picked proposals as new objects in one undo step (the first becomes current); their ids."""
        state, doc, picker = self.state, self.state.document, self.state.proposals
        if doc is None or picker is None or self._refused_while_busy():
            return []
        if not picker.chosen:
            state.status.emit("Pick a proposal first: click inside its outline (Shift+click for several).")
            return []
        command = AddProposedObjects(picker.shot_id, picker.frame, picker.chosen_masks)
        if not self.push(command):
            return []
        state.proposals = None
        state.object_id = command.object_ids[0]
        count = len(command.object_ids)
        state.status.emit(f"Added {count} object{'s' if count > 1 else ''} (one undo step).")
        return command.object_ids

    # -- helpers -----------------------------------------------------------------------------------

    def _guard(self, title: str, action: Callable[[], R]) -> R | None:
        """Run an edit; a RotoError is shown under `title` and the edit is dropped (returns None)."""
        try:
            return action()
        except RotoError as exc:
            self.state.error.emit((title, str(exc)))
            return None
