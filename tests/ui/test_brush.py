"""The brush in the window: soft edge, screen or frame pixels, remembered between launches, a live preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from roto.editor.brush import Brush, BrushUnits, paint_brush
from roto.ui.app import MainWindow
from tests.ui.ui_helpers import current_mask, drag_image, open_and_show


def test_a_soft_stroke_is_painted_soft(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["brush_tool"].trigger()
    drag_image(qtbot, window, (20, 60), (60, 60))  # hard
    before = current_mask(window).copy()
    strokes: list[tuple] = []
    window.canvas.stroke_finished.connect(lambda *args: strokes.append(args))
    qtbot.keyClick(window.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.brush.soft and window.menu_actions["soft_brush"].isChecked()
    assert window.status.brush.text().endswith("(frame, soft)")
    drag_image(qtbot, window, (75, 40), (75, 80))  # beside the first stroke's end
    ((points, radius, erase, soft),) = strokes
    assert soft and not erase
    np.testing.assert_array_equal(current_mask(window), paint_brush(before, points, radius, True, True))


def test_screen_pixel_brush_keeps_its_size_on_screen(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    canvas = window.canvas
    on_screen = canvas.brush_radius * canvas.zoom
    window.menu_actions["screen_brush"].trigger()
    assert canvas.brush.units is BrushUnits.SCREEN and window.status.brush.text().endswith("(screen)")
    assert abs(canvas.brush.size - on_screen) < 1e-6
    canvas.zoom_by(2.0)
    assert abs(canvas.brush_radius * canvas.zoom - on_screen) < 1e-6  # same size on screen, half on the frame
    window.menu_actions["screen_brush"].trigger()  # back to frame pixels: now fixed on the footage
    radius = canvas.brush_radius
    canvas.zoom_by(2.0)
    assert canvas.brush_radius == radius


def test_the_brush_is_remembered_between_launches(qtbot, window: MainWindow, dialogs) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    window.menu_actions["soft_brush"].trigger()
    chosen = window.canvas.brush
    assert chosen.soft and chosen.size > Brush().size
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.canvas.brush == chosen and again.menu_actions["soft_brush"].isChecked()
    again.close()


def test_the_preview_follows_the_cursor(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["brush_tool"].trigger()
    canvas, viewport = window.canvas, window.canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.image_to_view(20, 20))
    for x in range(25, 100, 5):
        qtbot.mouseMove(viewport, canvas.image_to_view(x, 30))
        end = canvas._stroke.end
        assert abs(end.x() - x) < 1 and abs(end.y() - 30) < 1  # the stroke reaches the cursor at every move
        assert abs(canvas._brush_cursor.rect().center().x() - x) < 1
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.image_to_view(95, 30))
    assert not canvas._stroke.visible and current_mask(window)[30, 60]
