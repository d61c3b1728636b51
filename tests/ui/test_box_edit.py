"""Boxes in the window: drawn, moved by their inside, resized by an edge, each one undo step; C after a box."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from roto.ui.app import MainWindow
from tests.ui.ui_helpers import current_mask, drag_image, open_and_show

WAIT_MS = 15_000


def _box(window: MainWindow) -> tuple[int, ...]:
    (box,) = window.state.document.shot.object(1).prompts[0].boxes
    return tuple(round(v) for v in (box.x0, box.y0, box.x1, box.y1))


def test_a_box_moves_and_resizes_in_one_step_each(qtbot, window: MainWindow, small_clip: Path) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["box_tool"].trigger()
    drag_image(qtbot, window, (20, 20), (80, 70))
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    assert _box(window) == (20, 20, 80, 70)
    handles = [h for h in window.canvas.markers._box_items[0].childItems() if h.isVisible()]
    assert len(handles) == 8  # the box tool shows where the box can be grabbed

    candidates = window.state.candidates  # a box alone offers SAM2's candidates, as a single click does
    assert candidates is not None and len(candidates.masks) == 3
    qtbot.keyClick(window.canvas, Qt.Key.Key_C)
    assert np.array_equal(current_mask(window), candidates.masks[1])

    drag_image(qtbot, window, (50, 45), (70, 50))  # inside: the whole box moves
    qtbot.waitUntil(lambda: _box(window) == (40, 25, 100, 75), timeout=WAIT_MS)
    assert window.menu_actions["undo"].text() == "&Undo Move box"
    drag_image(qtbot, window, (100, 50), (130, 50))  # its right edge: the box widens
    qtbot.waitUntil(lambda: _box(window) == (40, 25, 130, 75), timeout=WAIT_MS)
    moved = current_mask(window)
    assert moved is not None and moved.shape == (96, 160)

    window.menu_actions["undo"].trigger()
    assert _box(window) == (40, 25, 100, 75)
    window.menu_actions["undo"].trigger()
    assert _box(window) == (20, 20, 80, 70)
    assert np.array_equal(current_mask(window), candidates.masks[1])

    window.menu_actions["point_tool"].trigger()
    assert not any(h.isVisible() for h in window.canvas.markers._box_items[0].childItems())
