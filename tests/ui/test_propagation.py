"""Propagation in the editor: the real worker thread, the test bundle and a generated clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer

from roto.project import MaskEntry, MaskOrigin
from roto.ui.app import MainWindow
from tests.conftest import CLIP_FRAMES, CLIP_SIZE
from tests.ui.ui_helpers import click_image, current_mask, drag_image, open_and_show

WAIT_MS = 30_000
SHAPE = (CLIP_SIZE[1], CLIP_SIZE[0])


def _prompt_frame_zero(qtbot, win: MainWindow) -> MaskEntry:  # type: ignore[no-untyped-def]
    click_image(qtbot, win, 50, 50)
    qtbot.waitUntil(lambda: current_mask(win) is not None, timeout=WAIT_MS)
    return win.state.document.shot.object(win.state.object_id).masks[0]


def _wait_run_end(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: win.state.run is None, timeout=WAIT_MS)


def _masks(win: MainWindow) -> dict[int, MaskEntry]:
    return dict(win.state.document.shot.object(win.state.object_id).masks)


def test_propagate_forward_within_out_point(qtbot, window: MainWindow, small_clip: Path) -> None:
    """Ten frames (0..9, the out point set with O): masks of the frame's shape, progress for each frame."""
    open_and_show(qtbot, window, small_clip)
    prompted = _prompt_frame_zero(qtbot, window)
    window.timeline.set_frame(9)
    qtbot.keyClick(window.canvas, Qt.Key.Key_O)
    window.timeline.set_frame(0)
    assert window.timeline.in_out == (0, 9)
    progress: list[tuple[int, int]] = []
    window.engine.propagation_progress.connect(lambda _run, done, total: progress.append((done, total)))
    window.menu_actions["propagate_forward"].trigger()
    assert window.state.run is not None and not window.menu_actions["undo"].isEnabled()
    _wait_run_end(qtbot, window)

    masks = _masks(window)
    assert sorted(masks) == list(range(10))  # the in/out range limits the run: nothing on frames 10 and 11
    for frame in range(10):
        mask = window.state.document.project.get_mask(
            window.state.document.shot.id, window.state.object_id, frame
        )
        assert mask is not None and mask.shape == SHAPE and mask.dtype == np.bool_
    assert masks[0] == prompted  # the animator's prompted frame is never overwritten
    assert all(masks[f].origin == MaskOrigin.PROPAGATED for f in range(1, 10))
    assert progress == [(done, 10) for done in range(1, 11)]
    assert set(window.timeline.view.rows[0].frames) == set(range(10))
    assert window.timeline.frame == 9  # the playhead followed the run
    assert window.menu_actions["undo"].text() == "&Undo Propagate forward"


def test_undo_restores_previous_masks_exactly(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    _prompt_frame_zero(qtbot, window)
    window.timeline.set_frame(4)
    qtbot.waitUntil(lambda: window.state.shown_frame == 4, timeout=WAIT_MS)
    window.menu_actions["brush_tool"].trigger()
    drag_image(qtbot, window, (20, 20), (60, 20))  # a hand-painted mask on frame 4 before the run
    before = _masks(window)
    assert sorted(before) == [0, 4] and before[4].origin == MaskOrigin.EDITED
    window.timeline.set_frame(0)
    window.menu_actions["propagate_forward"].trigger()
    _wait_run_end(qtbot, window)
    after = _masks(window)
    assert sorted(after) == list(range(CLIP_FRAMES))
    assert after[4] == before[4]  # the paint is frame 4's prompt: the run keeps it

    window.menu_actions["undo"].trigger()  # the whole run is one step
    assert _masks(window) == before
    window.menu_actions["redo"].trigger()
    assert _masks(window) == after
    window.menu_actions["undo"].trigger()
    assert window.menu_actions["undo"].text() == "&Undo Brush stroke"


def test_cancel_keeps_done_frames_through_other_undo_redo(
    qtbot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    _prompt_frame_zero(qtbot, window)
    # Cancel from the worker thread right after its third frame, so the run stops at a known frame.
    window.engine.propagation_progress.connect(
        lambda _run, done, _total: window.engine.cancel_propagation() if done == 3 else None,
        Qt.ConnectionType.DirectConnection,
    )
    window.menu_actions["propagate_forward"].trigger()
    _wait_run_end(qtbot, window)
    assert sorted(_masks(window)) == [0, 1, 2]
    assert "cancelled" in window.statusBar().currentMessage()
    kept = _masks(window)

    window.menu_actions["add_object"].trigger()  # another edit, undone and redone
    window.menu_actions["undo"].trigger()
    window.menu_actions["redo"].trigger()
    window.menu_actions["undo"].trigger()
    assert window.state.document.shot.object(1).masks == kept
    window.menu_actions["undo"].trigger()  # then the cancelled run itself
    assert sorted(window.state.document.shot.object(1).masks) == [0]


def test_backward_and_both_ways_respect_the_in_point(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    window.timeline.set_frame(6)
    qtbot.waitUntil(lambda: window.state.shown_frame == 6, timeout=WAIT_MS)
    click_image(qtbot, window, 60, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    window.timeline.set_in(3)
    window.menu_actions["propagate_backward"].trigger()
    _wait_run_end(qtbot, window)
    assert sorted(_masks(window)) == [3, 4, 5, 6]
    window.menu_actions["undo"].trigger()
    window.timeline.set_frame(6)
    window.menu_actions["propagate_both"].trigger()
    _wait_run_end(qtbot, window)
    assert sorted(_masks(window)) == list(range(3, CLIP_FRAMES))


def test_gui_keeps_running_while_masks_arrive(qtbot, window: MainWindow, small_clip: Path) -> None:
    """The issue's responsiveness requirement: the model works off the GUI thread, so the GUI's event loop runs
    between arriving frames and sees the run part-done (a run on the GUI thread would show only its start and
    end). How long the loop may stall is a figure for benchmarks/editor_run.py and editor_4k.py, not a test."""
    open_and_show(qtbot, window, small_clip)
    _prompt_frame_zero(qtbot, window)
    seen: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: seen.append(len(_masks(window))))
    timer.start(5)
    window.menu_actions["propagate_forward"].trigger()
    _wait_run_end(qtbot, window)
    timer.stop()
    assert len(_masks(window)) == CLIP_FRAMES
    part_done = {count for count in seen if 1 < count < CLIP_FRAMES}
    assert len(part_done) >= 2, f"the GUI saw mask counts {sorted(set(seen))} during the run"


def test_edits_wait_while_a_run_owns_the_document(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    _prompt_frame_zero(qtbot, window)
    window.menu_actions["propagate_forward"].trigger()
    click_image(qtbot, window, 100, 60)  # refused: it would split the run's undo step
    assert "Propagating" in window.statusBar().currentMessage()
    _wait_run_end(qtbot, window)
    assert len(window.state.document.shot.object(1).prompts[0].points) == 1


def test_selected_objects_propagate_together(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    _prompt_frame_zero(qtbot, window)
    window.menu_actions["add_object"].trigger()
    click_image(qtbot, window, 130, 80)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    window.objects.list.selectAll()
    assert sorted(window.objects.selected_ids()) == [1, 2]
    window.timeline.set_out(3)
    window.menu_actions["propagate_forward"].trigger()
    _wait_run_end(qtbot, window)
    assert [sorted(obj.masks) for obj in window.state.document.shot.objects] == [[0, 1, 2, 3], [0, 1, 2, 3]]
    assert len(window.timeline.view.rows) == 2
    window.menu_actions["undo"].trigger()
    assert [sorted(obj.masks) for obj in window.state.document.shot.objects] == [[0], [0]]
