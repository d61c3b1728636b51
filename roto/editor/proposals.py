"""Propose objects: segment everything on a frame, pick among the proposals; each pick becomes a new object.

The proposals come from `roto.engine.automask`, run by the engine client off the GUI thread (`ProposalJob` is the
run in progress, `ProposalSet` its answer, with each proposal's outline already traced). `ProposalPicker` is what
the canvas shows and which proposals are picked; the editor replaces it on every pick, so the state's change event
tells the window. `AddProposedObjects` adds one object per picked mask, each with that mask on the frame as a
hand-edited mask (origin EDITED: propagation uses it as the frame's prompt), all as one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from roto.editor.views import Outline, outline_polygons
from roto.engine.automask import Proposal
from roto.project import MaskOrigin
from roto.project.commands import AddObject, Change, Command, SetMask
from roto.project.model import Project, object_colour

PROPOSAL_COLOR = (255, 255, 255)  # a proposal not picked: a thin white outline
PICKED_COLOR = (255, 214, 10)  # a picked one: a wider yellow outline


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


@dataclass(frozen=True)
class ProposalJob:
    """Segment everything in progress on one frame (a shot frame): what the progress bar shows."""

    job_id: int
    frame: int
    done: int = 0  # grid points decoded
    total: int = 0  # grid points in all (0 until the first progress report)
    cancelling: bool = False


@dataclass(frozen=True)
class ProposalSet:
    """The engine's answer to a ProposeRequest: the proposals, best first, and each one's outline polygons."""

    job_id: int
    proposals: tuple[Proposal, ...]
    outlines: tuple[tuple[np.ndarray, ...], ...]  # per proposal: closed polygons (N, 2) in frame pixels


@dataclass(frozen=True)
class ProposalPicker:
    """The proposals on one shot frame and which of them are picked (indices, in the order they were picked)."""

    shot_id: str
    frame: int
    proposals: tuple[Proposal, ...]
    outlines: tuple[tuple[np.ndarray, ...], ...]
    chosen: tuple[int, ...] = ()

    def at(self, x: float, y: float) -> int | None:
        """The smallest proposal covering pixel (x, y): the innermost object under the cursor; None if none."""
        column, row = int(x), int(y)
        covering = [
            i
            for i, p in enumerate(self.proposals)
            if 0 <= row < p.mask.shape[0] and 0 <= column < p.mask.shape[1] and p.mask[row, column]
        ]
        return min(covering, key=lambda i: self.proposals[i].area, default=None)

    def picked(self, x: float, y: float, add: bool) -> ProposalPicker:
        """A click at (x, y): pick only the proposal there (nothing there: pick none); with `add` (Shift), add it
        to the picks or take it out of them."""
        index = self.at(x, y)
        if not add:
            return replace(self, chosen=() if index is None else (index,))
        if index is None:
            return self
        if index in self.chosen:
            return replace(self, chosen=tuple(i for i in self.chosen if i != index))
        return replace(self, chosen=(*self.chosen, index))

    @property
    def chosen_masks(self) -> list[np.ndarray]:
        return [self.proposals[i].mask for i in self.chosen]

    def outline_view(self) -> tuple[Outline, ...]:
        """Every proposal's outline for the canvas, the picked ones wider and in PICKED_COLOR, drawn last."""
        chosen = set(self.chosen)
        plain = [
            Outline(polygons, PROPOSAL_COLOR, 0.8)
            for i, polygons in enumerate(self.outlines)
            if i not in chosen
        ]
        picked = [Outline(self.outlines[i], PICKED_COLOR, 1.0, current=True) for i in self.chosen]
        return (*plain, *picked)


def proposal_set(job_id: int, proposals: Sequence[Proposal]) -> ProposalSet:
    """The answer to a request, each proposal's outline traced (off the GUI thread, where the engine runs)."""
    return ProposalSet(job_id, tuple(proposals), tuple(outline_polygons(p.mask) for p in proposals))
