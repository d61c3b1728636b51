"""Canvas tools, the in/out range, dropped files and preferences, through the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel

from roto.editor.tools import paint_stroke
from roto.project import MaskOrigin
from roto.ui.app import MainWindow
from roto.ui.preferences import Preferences, PreferencesDialog
from tests.ui.ui_helpers import click_image, current_mask, drag_image, open_and_show

WAIT_MS = 15_000


def test_brush_stroke_is_one_undoable_hand_edit(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["brush_tool"].trigger()
    drag_image(qtbot, window, (20, 20), (80, 20))
    mask = current_mask(window)
    assert mask is not None and mask[20, 20] and mask[20, 50] and mask[20, 80] and not mask[80, 20]
    assert window.state.document.shot.object(1).masks[0].origin == MaskOrigin.EDITED
    assert window.menu_actions["undo"].text() == "&Undo Brush stroke"
    window.menu_actions["eraser_tool"].trigger()
    drag_image(qtbot, window, (40, 20), (60, 20))
    erased = current_mask(window)
    assert erased[20, 20] and not erased[20, 50]
    window.menu_actions["undo"].trigger()
    assert np.array_equal(current_mask(window), mask)
    window.menu_actions["undo"].trigger()
    assert current_mask(window) is None


def test_bracket_keys_resize_the_brush(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    radius = window.canvas.brush_radius
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_radius > radius
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    assert window.canvas.brush_radius < radius
    assert window.status.brush.text() == f"Brush {window.canvas.brush_radius:.0f} px (frame)"


def test_paint_stroke_covers_the_path_and_erases() -> None:
    empty = np.zeros((20, 40), bool)
    painted = paint_stroke(empty, [(5, 10), (35, 10)], 2, True)
    assert painted[10, 5:36].all() and painted[8, 20] and not painted[5, 20]
    assert not paint_stroke(painted, [(20, 10)], 3, False)[10, 18:23].any()
    assert not empty.any()  # the input is left alone


def test_multimask_candidates_cycle_with_c(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    candidates = window.state.candidates
    assert candidates is not None and len(candidates.masks) == 3
    assert np.array_equal(current_mask(window), candidates.masks[0])
    assert any(not np.array_equal(candidates.masks[0], m) for m in candidates.masks[1:])
    for index in (1, 2, 0):
        qtbot.keyClick(window.canvas, Qt.Key.Key_C)
        assert np.array_equal(current_mask(window), candidates.masks[index])
    assert window.menu_actions["undo"].text() == "&Undo Next mask candidate"
    click_image(qtbot, window, 120, 20, button=Qt.MouseButton.RightButton)  # two points: one mask only
    obj = window.state.document.shot.object(1)
    qtbot.waitUntil(lambda: len(obj.prompts[0].points) == 2, timeout=WAIT_MS)
    assert window.state.candidates is None and not window.menu_actions["next_candidate"].isEnabled()


def test_dragging_a_point_moves_it_in_one_step(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    drag_image(qtbot, window, (50, 50), (90, 60))
    obj = window.state.document.shot.object(1)
    qtbot.waitUntil(lambda: round(obj.prompts[0].points[0].x) == 90, timeout=WAIT_MS)
    (point,) = obj.prompts[0].points
    assert (round(point.x), round(point.y), point.label) == (90, 60, 1)
    assert window.menu_actions["undo"].text() == "&Undo Move point"
    window.menu_actions["undo"].trigger()
    assert [(round(p.x), round(p.y)) for p in obj.prompts[0].points] == [(50, 50)]


def test_in_out_keys_set_the_range_shown_on_the_timeline(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    window.timeline.set_frame(2)
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    window.timeline.set_frame(7)
    qtbot.keyClick(window.canvas, Qt.Key.Key_O)
    assert window.timeline.in_out == (2, 7) == window.timeline.view.in_out
    assert "[in 3–out 8]" in window.timeline.label.text()
    window.timeline.set_frame(1)
    qtbot.keyClick(window.canvas, Qt.Key.Key_O)  # an out point before the in point moves the in point
    assert window.timeline.in_out == (0, 1)
    qtbot.keyClick(window.canvas, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier)
    assert window.timeline.in_out is None and window.timeline.frame_range == (0, 11)


def test_dropped_file_opens(qtbot, window: MainWindow, small_clip: Path) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(small_clip))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert window.state.document is not None and window.state.document.media.path == small_clip
    qtbot.waitUntil(lambda: window.state.shown_frame == 0, timeout=WAIT_MS)


def test_preferences_are_stored_and_applied(
    qtbot, window: MainWindow, small_clip: Path, tmp_path: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    window.state.document.move_to(tmp_path / "shot.roto")
    chosen = Preferences(provider="cpu", threads=1, cache_mib=64, autosave_s=15)
    window.apply_preferences(chosen)
    assert Preferences.load() == chosen
    assert window.engine.cache.max_bytes == 64 << 20
    assert window.state.document.autosaver is not None and window.state.document.autosaver.delay_s == 15
    qtbot.waitUntil(lambda: window.state.engine is not None, timeout=WAIT_MS)  # reloaded with the new runtime
    assert "CPU" in window.status.model.text()
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)


def test_preferences_say_when_the_environment_overrides_them(
    qtbot, monkeypatch: pytest.MonkeyPatch, test_bundle_path: Path
) -> None:
    monkeypatch.setenv("ROTO_MODEL", str(test_bundle_path))
    monkeypatch.delenv("ROTO_PROVIDER", raising=False)
    dialog = PreferencesDialog(Preferences())
    qtbot.addWidget(dialog)
    note = dialog.findChild(QLabel, "ROTO_MODEL_override")
    assert note is not None and str(test_bundle_path) in note.text()
    assert dialog.findChild(QLabel, "ROTO_PROVIDER_override") is None
    assert "overridden by ROTO_MODEL" in dialog.bundle.toolTip()
