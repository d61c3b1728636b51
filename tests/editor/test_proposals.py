"""Propose objects without a window: the job, picking by click, the picks as new objects in one undo step."""

from __future__ import annotations

import numpy as np

from roto.editor.propagation import Direction
from roto.editor.proposals import ProposalPicker
from roto.engine.automask import AutomaskParams, Proposal, generate_proposals
from roto.project import MaskOrigin
from tests.editor.test_editor import Session, service, session  # noqa: F401  (fixtures)

ALL = AutomaskParams(  # every candidate: random weights predict low IoU and near-identical boxes
    points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
)


def _square(shape: tuple[int, int], x0: int, y0: int, x1: int, y1: int) -> Proposal:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return Proposal(
        mask, (x0, y0, x1 - 1, y1 - 1), int(mask.sum()), 0.9, 0.97, (x0, y0), (0, 0, shape[1], shape[0])
    )


def _wire(session: Session) -> list[tuple[int, int]]:  # noqa: F811
    """Connect the sync engine's proposal answers to the editor; the progress reports are collected."""
    editor, sync = session.editor, session.sync
    progress: list[tuple[int, int]] = []

    def on_progress(job: int, done: int, total: int) -> None:
        progress.append((done, total))
        editor.on_proposal_progress(job, done, total)

    sync.on_proposals, sync.on_proposal_progress = editor.on_proposals, on_progress
    sync.on_proposals_cancelled = editor.on_proposals_cancelled
    editor.proposal_params = ALL
    return progress


def test_picks_by_click_and_shift_click() -> None:
    shape = (80, 100)
    big, small = _square(shape, 10, 10, 60, 50), _square(shape, 20, 20, 30, 30)
    picker = ProposalPicker("shot", 0, (big, small), ((), ()))
    assert picker.at(25, 25) == 1 and picker.at(50, 15) == 0 and picker.at(5, 5) is None  # innermost first
    assert picker.picked(25, 25, add=False).chosen == (1,)
    assert picker.picked(25, 25, add=False).picked(50, 15, add=False).chosen == (0,)  # a click picks one
    both = picker.picked(25, 25, add=False).picked(50, 15, add=True)
    assert both.chosen == (1, 0)  # Shift+click adds, in the order picked
    assert both.picked(25, 25, add=True).chosen == (0,)  # and takes out again
    assert both.picked(5, 5, add=True).chosen == (1, 0) and both.picked(5, 5, add=False).chosen == ()
    outlines = both.outline_view()
    assert [o.current for o in outlines] == [True, True]  # the picked ones are drawn wider


def test_proposed_objects_are_picked_and_added_in_one_undo_step(session: Session) -> None:  # noqa: F811
    editor, doc, state = session.editor, session.doc, session.editor.state
    progress = _wire(session)
    request = editor.propose_objects()
    assert request is not None and state.proposing is not None and state.proposing.frame == 0
    assert editor.propose_objects() is None  # one job at a time
    session.sync.run_pending()
    assert state.proposing is None and state.proposals is not None
    assert progress[-1] == (16, 16) and [done for done, _ in progress] == list(range(1, 17))
    picker = state.proposals
    expected = generate_proposals(session.sync.engine.service, doc.media, 0, ALL)
    assert len(picker.proposals) == len(expected) >= 2
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(picker.proposals, expected, strict=True))
    assert all(len(polygons) for polygons in picker.outlines)

    spots = {}  # a pixel where each proposal is the innermost one under the cursor
    for index, proposal in enumerate(picker.proposals):
        for y, x in np.argwhere(proposal.mask)[:: max(1, proposal.area // 50)]:
            if picker.at(float(x), float(y)) == index:
                spots[index] = (float(x), float(y))
                break
    first, second = list(spots)[:2]
    editor.pick_proposal(*spots[first], add=False)
    editor.pick_proposal(*spots[second], add=True)
    assert state.proposals.chosen == (first, second)
    before = len(doc.shot.objects)
    ids = editor.add_proposed_objects()
    assert len(ids) == 2 and len(doc.shot.objects) == before + 2 and state.proposals is None
    assert state.object_id == ids[0]
    for object_id, index in zip(ids, (first, second), strict=True):
        assert np.array_equal(doc.project.get_mask(doc.shot.id, object_id, 0), picker.proposals[index].mask)
        assert doc.shot.object(object_id).masks[0].origin == MaskOrigin.EDITED  # the frame's prompt
    assert doc.stack.undo_label == "Add proposed objects"
    editor.undo()
    assert len(doc.shot.objects) == before
    editor.redo()
    assert [obj.id for obj in doc.shot.objects][-2:] == ids
    assert np.array_equal(doc.project.get_mask(doc.shot.id, ids[1], 0), picker.proposals[second].mask)


def test_cancel_dismiss_and_the_playhead_moving(session: Session) -> None:  # noqa: F811
    editor, state = session.editor, session.editor.state
    _wire(session)
    editor.propose_objects()
    editor.dismiss_proposals()  # Esc while the job runs: it stops at the next grid point
    assert state.proposing is not None and state.proposing.cancelling
    session.sync.run_pending()
    assert state.proposing is None and state.proposals is None
    assert session.statuses[-1] == "Propose objects cancelled."

    editor.propose_objects()
    session.sync.run_pending()
    assert state.proposals is not None
    assert editor.add_proposed_objects() == []  # nothing picked yet: said so, nothing added
    assert "Pick a proposal first" in session.statuses[-1]
    editor.dismiss_proposals()  # Esc with proposals shown
    assert state.proposals is None and session.statuses[-1] == "Proposals dismissed."

    editor.propose_objects()
    session.sync.run_pending()
    state.frame = 3  # proposals belong to their frame
    assert state.proposals is None and "the playhead moved" in session.statuses[-1]
    editor.propose_objects()
    state.frame = 0
    assert state.proposing is None
    session.sync.run_pending()  # the abandoned job's answer is dropped
    assert state.proposals is None


def test_refused_while_a_propagation_owns_the_document(session: Session) -> None:  # noqa: F811
    editor, state, doc = session.editor, session.editor.state, session.doc
    _wire(session)
    editor.add_object()
    editor.add_point(50, 50, 1)
    session.sync.run_pending()
    editor.propose_objects()
    assert editor.propagate(Direction.FORWARD) is not None
    assert state.proposing is None  # a run drops the job in progress
    objects = len(doc.shot.objects)
    assert editor.propose_objects() is None
    assert session.statuses[-1].startswith("Propagating: wait for it to finish")
    state.proposals = ProposalPicker(doc.shot.id, 0, (_square(doc.shot.frame_shape, 0, 0, 9, 9),), ((),))
    editor.pick_proposal(1, 1, add=False)
    assert editor.add_proposed_objects() == [] and len(doc.shot.objects) == objects
    assert session.statuses[-1].startswith("Propagating: wait for it to finish")
    session.sync.run_pending()
    assert state.run is None
