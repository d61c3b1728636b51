"""Propose objects without a window: pick proposals by click, add them as new objects in one undo step."""

from __future__ import annotations

import numpy as np

from roto.editor.proposals import ProposalPicker
from roto.engine.automask import AutomaskParams, Proposal, generate_proposals
from roto.project import MaskOrigin
from tests.editor.test_editor import Session, service, session  # noqa: F401  (fixtures)


def _square(shape: tuple[int, int], x0: int, y0: int, x1: int, y1: int) -> Proposal:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return Proposal(
        mask, (x0, y0, x1 - 1, y1 - 1), int(mask.sum()), 0.9, 0.97, (x0, y0), (0, 0, shape[1], shape[0])
    )


def test_picked_proposals_become_objects_in_one_undo_step(session: Session) -> None:  # noqa: F811
    editor, doc = session.editor, session.doc
    shape = doc.shot.frame_shape
    big, small = _square(shape, 10, 10, 60, 50), _square(shape, 20, 20, 30, 30)
    picker = ProposalPicker(doc.shot.id, 0, [big, small])
    assert picker.toggle_at(25, 25) == 1  # the innermost proposal under the cursor
    assert picker.toggle_at(50, 15) == 0
    assert picker.toggle_at(25, 25) == 1 and picker.chosen == [0]  # a second click unchooses
    assert picker.toggle_at(5, 5) is None
    picker.toggle_at(25, 25)
    before = len(doc.shot.objects)
    ids = picker.apply(editor)
    assert len(ids) == 2 and len(doc.shot.objects) == before + 2
    assert editor.state.object_id == ids[0]
    for object_id, proposal in zip(ids, (big, small), strict=True):
        assert np.array_equal(doc.project.get_mask(doc.shot.id, object_id, 0), proposal.mask)
        assert doc.shot.object(object_id).masks[0].origin == MaskOrigin.EDITED  # the frame's prompt
    assert doc.stack.undo_label == "Add proposed objects"
    editor.undo()
    assert len(doc.shot.objects) == before
    editor.redo()
    assert [obj.id for obj in doc.shot.objects][-2:] == ids
    assert np.array_equal(doc.project.get_mask(doc.shot.id, ids[1], 0), small.mask)


def test_engine_proposals_on_the_shown_frame(session: Session) -> None:  # noqa: F811
    editor, doc = session.editor, session.doc
    engine = session.sync.engine.service
    params = AutomaskParams(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    proposals = generate_proposals(engine, doc.media, 0, params)
    assert proposals
    picker = ProposalPicker(doc.shot.id, 0, proposals)
    y, x = np.argwhere(proposals[0].mask)[0]
    picker.toggle_at(float(x), float(y))
    (new,) = picker.apply(editor)
    assert doc.project.get_mask(doc.shot.id, new, 0) is not None
