"""Propose objects: pick among segment-everything proposals on a frame; each pick becomes a new object.

The proposals come from `roto.engine.automask` (run in the background by the UI). The picker keeps which are
chosen; `AddProposedObjects` adds one object per chosen mask, each with that mask on the frame as a hand-edited
mask (origin EDITED: propagation uses it as the frame's prompt), all as one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from roto.editor.editor import Editor
from roto.engine.automask import Proposal
from roto.project import MaskOrigin
from roto.project.commands import AddObject, Change, Command, SetMask
from roto.project.model import Project, object_colour


@dataclass
class AddProposedObjects(Command):
    """New objects, one per mask, each with its mask on `frame`; ids and names are chosen on the first `do`."""

    shot_id: str
    frame: int
    masks: list[np.ndarray]
    label: str = "Add proposed objects"
    object_ids: list[int] = field(default_factory=list, init=False)
    _steps: list[Command] = field(default_factory=list, init=False, repr=False)

    def do(self, project: Project) -> list[Change]:
        if self._steps:  # redo: the same objects, ids and compressed masks again
            return [change for step in self._steps for change in step.do(project)]
        shot = project.shot(self.shot_id)
        changes: list[Change] = []
        try:
            for mask in self.masks:
                add = AddObject(self.shot_id, shot.unused_object_name(), object_colour(len(shot.objects)))
                changes += add.do(project)
                self._steps.append(add)
                assert add.object_id is not None
                paint = SetMask(self.shot_id, add.object_id, self.frame, mask, MaskOrigin.EDITED)
                changes += paint.do(project)
                self._steps.append(paint)
        except Exception:
            self.undo(project)
            self._steps.clear()
            raise
        self.object_ids = [
            step.object_id
            for step in self._steps
            if isinstance(step, AddObject) and step.object_id is not None
        ]
        self.masks = []  # compressed into the project's store by SetMask
        return changes

    def undo(self, project: Project) -> list[Change]:
        return [change for step in reversed(self._steps) for change in step.undo(project)]


class ProposalPicker:
    """The proposals on one frame and which of them are chosen (by click)."""

    def __init__(self, shot_id: str, frame: int, proposals: Sequence[Proposal]) -> None:
        self.shot_id = shot_id
        self.frame = frame
        self.proposals = list(proposals)
        self.chosen: list[int] = []  # indices into proposals, in the order they were picked

    def at(self, x: float, y: float) -> int | None:
        """The smallest proposal covering pixel (x, y): the innermost object under the cursor; None if none."""
        covering = [
            i
            for i, p in enumerate(self.proposals)
            if 0 <= int(y) < p.mask.shape[0] and 0 <= int(x) < p.mask.shape[1] and p.mask[int(y), int(x)]
        ]
        return min(covering, key=lambda i: self.proposals[i].area, default=None)

    def toggle_at(self, x: float, y: float) -> int | None:
        """Choose the proposal under (x, y), or unchoose it if chosen; returns its index (None: nothing there)."""
        index = self.at(x, y)
        if index is not None:
            if index in self.chosen:
                self.chosen.remove(index)
            else:
                self.chosen.append(index)
        return index

    def apply(self, editor: Editor) -> list[int]:
        """The chosen proposals as new objects in one undo step; their ids (empty when refused or none chosen).

        The first new object becomes the current one, ready to refine and propagate.
        """
        doc = editor.state.document
        if doc is None or not self.chosen or doc.shot.id != self.shot_id:
            return []
        if editor.state.run is not None:
            editor.state.status.emit("Propagating: wait for it to finish or cancel it (Esc) to add objects.")
            return []
        command = AddProposedObjects(self.shot_id, self.frame, [self.proposals[i].mask for i in self.chosen])
        if not editor.push(command):
            return []
        self.chosen = []
        editor.state.object_id = command.object_ids[0]
        return command.object_ids
