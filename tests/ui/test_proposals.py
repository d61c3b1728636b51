"""Propose Objects in the window: the real worker thread, the test bundle and a generated clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from roto.editor.proposals import ProposalPicker
from roto.engine.automask import AutomaskParams
from roto.ui.actions import shortcut_rows
from roto.ui.app import MainWindow
from tests.ui.ui_helpers import click_image, current_mask, open_and_show

WAIT_MS = 30_000
EVERY = AutomaskParams(  # every candidate: random weights predict low IoU and near-identical boxes
    points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
)


def _propose(qtbot, win: MainWindow, params: AutomaskParams = EVERY) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Propose Objects from its shortcut; the progress reports the window received."""
    progress: list[tuple[int, int]] = []
    win.engine.proposal_progress.connect(lambda _job, done, total: progress.append((done, total)))
    win.editor.proposal_params = params
    qtbot.keyClick(
        win.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    return progress


def _spots(picker: ProposalPicker) -> dict[int, tuple[float, float]]:
    """A pixel where each proposal is the innermost one under the cursor (where a click picks it)."""
    spots = {}
    for index, proposal in enumerate(picker.proposals):
        for y, x in np.argwhere(proposal.mask)[:: max(1, proposal.area // 50)]:
            if picker.at(float(x) + 0.5, float(y) + 0.5) == index:
                spots[index] = (float(x) + 0.5, float(y) + 0.5)
                break
    return spots


def test_propose_with_progress_then_pick_and_add(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    doc = window.state.document
    before = [obj.id for obj in doc.shot.objects]  # a new document starts with one empty object
    progress = _propose(qtbot, window)
    assert window.state.proposing is not None and window.proposal_bar.isVisible()
    assert not window.menu_actions["propose_objects"].isEnabled()
    qtbot.waitUntil(lambda: window.state.proposals is not None, timeout=WAIT_MS)
    picker = window.state.proposals
    assert progress and progress[-1] == (16, 16)  # 4 x 4 grid points, the last report complete
    assert len(window.canvas._proposal_items) == len(picker.proposals) and window.canvas.picking
    assert "0 picked" in window.proposal_bar.text.text()
    assert not window.menu_actions["add_proposals"].isEnabled()

    spots = _spots(picker)
    first, second = list(spots)[:2]
    click_image(qtbot, window, *spots[second])
    click_image(qtbot, window, *spots[first])  # a plain click picks that one only
    assert window.state.proposals.chosen == (first,)
    click_image(qtbot, window, *spots[second], modifier=Qt.KeyboardModifier.ShiftModifier)
    assert window.state.proposals.chosen == (first, second)
    assert window.proposal_bar.add_button.text() == "Add 2 Objects (Enter)"
    assert [obj.id for obj in doc.shot.objects] == before  # picking adds nothing yet, and makes no prompt
    assert all(not obj.masks for obj in doc.shot.objects)

    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    ids = [obj.id for obj in doc.shot.objects][len(before) :]
    assert len(ids) == 2 and window.state.proposals is None and not window.canvas.picking
    assert not window.proposal_bar.isVisible() and window.canvas._proposal_items == []
    for object_id, index in zip(ids, (first, second), strict=True):
        mask = doc.project.get_mask(doc.shot.id, object_id, 0)
        assert np.array_equal(mask, picker.proposals[index].mask)
    assert window.state.object_id == ids[0] and np.array_equal(
        current_mask(window), picker.proposals[first].mask
    )
    assert window.objects.list.count() == len(before) + 2
    assert window.menu_actions["undo"].text() == "&Undo Add proposed objects"

    window.menu_actions["undo"].trigger()  # one step removes them all
    assert [obj.id for obj in doc.shot.objects] == before and window.objects.list.count() == len(before)
    window.menu_actions["redo"].trigger()
    assert [obj.id for obj in doc.shot.objects] == before + ids


def test_one_pick_with_the_add_button(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    _propose(qtbot, window)
    qtbot.waitUntil(lambda: window.state.proposals is not None, timeout=WAIT_MS)
    picker = window.state.proposals
    index, spot = next(iter(_spots(picker).items()))
    click_image(qtbot, window, *spot)
    assert window.proposal_bar.add_button.text() == "Add 1 Object (Enter)"
    qtbot.mouseClick(window.proposal_bar.add_button, Qt.MouseButton.LeftButton)
    obj = window.state.document.shot.objects[-1]
    assert window.state.object_id == obj.id
    assert np.array_equal(current_mask(window), picker.proposals[index].mask)
    assert obj.masks[0].origin.value == "edited"  # a mask prompt, as a brush correction: ready to propagate


def test_cancel_while_proposing(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    progress = _propose(qtbot, window, AutomaskParams(points_per_side=64))  # 4096 points: long enough
    assert window.proposal_bar.close_button.text() == "Cancel (Esc)"
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.state.proposing is not None and window.state.proposing.cancelling
    qtbot.waitUntil(lambda: window.state.proposing is None, timeout=WAIT_MS)
    assert window.state.proposals is None and not window.proposal_bar.isVisible()
    assert not progress or progress[-1][0] < 4096
    assert window.statusBar().currentMessage() == "Propose objects cancelled."
    assert window.menu_actions["propose_objects"].isEnabled()


def test_esc_dismisses_and_clicks_make_points_again(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    _propose(qtbot, window)
    qtbot.waitUntil(lambda: window.state.proposals is not None, timeout=WAIT_MS)
    click_image(qtbot, window, 50, 50)  # picks (or not): never a point prompt while proposals are shown
    assert current_mask(window) is None
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.state.proposals is None and not window.canvas.picking
    assert window.canvas._proposal_items == [] and len(window.state.document.shot.objects) == 1
    assert window.statusBar().currentMessage() == "Proposals dismissed."
    click_image(qtbot, window, 50, 50)  # the point tool again
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)


def test_listed_in_keyboard_shortcuts() -> None:
    rows = {command: keys for _menu, command, keys in shortcut_rows()}
    assert rows["Propose Objects"] == "Ctrl+Shift+A"
    assert rows["Add Picked Proposals"] == "Return" and rows["Dismiss Proposals"] == "Esc"
