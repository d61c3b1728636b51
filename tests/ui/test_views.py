"""Views and the Matte dock driven through the real window: keys, menu checks, what the canvas shows, undo."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor

from roto import matte as matte_module
from roto.editor.views import ViewMode, object_alpha
from roto.matte import MatteOps
from roto.refine import RefineMode, refine_alpha
from roto.ui.app import MainWindow
from roto.ui.canvas import MIN_ZOOM
from tests.ui.ui_helpers import current_mask, drag_image, open_and_show, shown_view


def paint(qtbot, window: MainWindow) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A brush stroke: the current object's mask is a thick horizontal bar from x 40 to 100 at y 60."""
    window.menu_actions["brush_tool"].trigger()
    drag_image(qtbot, window, (40, 60), (100, 60))
    mask = current_mask(window)
    assert mask is not None
    return mask


def picture_at(window: MainWindow, x: int, y: int) -> QColor:
    return shown_view(window).picture.pixmap().toImage().pixelColor(x, y)


def test_view_keys_switch_the_view_and_tick_the_menu(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    mask = paint(qtbot, window)
    canvas = window.canvas
    assert window.menu_actions["view_overlay"].isChecked()
    assert len(shown_view(window).outlines) == 1 and picture_at(window, 70, 60).alpha() > 0
    qtbot.keyClick(canvas, Qt.Key.Key_M)
    assert window.state.view.mode is ViewMode.MATTE and window.menu_actions["view_matte"].isChecked()
    assert picture_at(window, 70, 60).getRgb() == (255, 255, 255, 255)  # the matte in grey, opaque
    assert picture_at(window, 5, 5).getRgb() == (0, 0, 0, 255)
    qtbot.keyClick(canvas, Qt.Key.Key_X)
    assert window.state.view.mode is ViewMode.CUTOUT
    assert picture_at(window, 5, 5).red() in (102, 153)  # the checkerboard where there is no matte
    qtbot.keyClick(canvas, Qt.Key.Key_L)
    assert window.state.view.mode is ViewMode.OUTLINES
    assert shown_view(window).picture.pixmap().isNull() and len(shown_view(window).outlines) == 1
    qtbot.keyClick(canvas, Qt.Key.Key_S)
    assert window.menu_actions["view_solo"].isChecked()
    qtbot.keyClick(canvas, Qt.Key.Key_V)
    assert window.state.view.mode is ViewMode.OVERLAY
    before = picture_at(window, 70, 60).alpha()
    window.menu_actions["more_opacity"].trigger()
    assert picture_at(window, 70, 60).alpha() > before
    assert np.array_equal(current_mask(window), mask)  # views never touch the document
    assert (
        not window.state.document.stack.can_redo and window.state.document.stack.undo_label == "Brush stroke"
    )


def test_outline_stays_visible_zoomed_far_out(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    window.menu_actions["view_outlines"].trigger()
    for _ in range(3):
        window.canvas.zoom_by(0.05)  # down to the smallest zoom: the frame is a few screen pixels wide
    assert window.canvas.zoom == pytest.approx(MIN_ZOOM)
    (item,) = shown_view(window).outlines
    assert item.pen().isCosmetic() and item.pen().widthF() >= 1.0
    image = window.canvas.viewport().grab().toImage()
    colour = QColor(*window.state.current_object.color)
    near = [
        (x, y)
        for x in range(image.width())
        for y in range(image.height())
        if abs(image.pixelColor(x, y).red() - colour.red()) < 40
        and abs(image.pixelColor(x, y).green() - colour.green()) < 40
        and abs(image.pixelColor(x, y).blue() - colour.blue()) < 40
    ]
    assert near, "the outline disappeared when zoomed out"


def test_onion_skin_shows_the_neighbours_outlines(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.state.shown_frame == 1, timeout=10_000)
    assert shown_view(window).outlines == []  # nothing on frame 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    assert window.state.view.onion and window.menu_actions["onion"].isChecked()
    (item,) = shown_view(window).outlines  # frame 0's outline, faded
    assert 0 < item.pen().color().alphaF() < 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    assert shown_view(window).outlines == []


def test_matte_panel_edits_are_undoable_and_a_drag_is_one_step(
    qtbot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    mask = paint(qtbot, window)
    panel, obj = window.matte_panel, window.state.current_object
    assert panel.isEnabled()
    window.menu_actions["view_matte"].trigger()
    top = int(np.argwhere(mask[:, 70]).min())
    assert picture_at(window, 70, top - 3).red() == 0
    panel.spins["grow"].setValue(4)  # as a committed spin box edit
    assert obj.matte == MatteOps(grow_px=4)
    assert window.state.document.stack.undo_label == "Change matte"
    assert picture_at(window, 70, top - 3).red() == 255  # the matte view shows the grown matte
    slider = panel.sliders["feather"]
    slider.setSliderDown(True)  # a drag: several values, one step
    for value in (2, 4, 6):
        slider.setValue(value)
    slider.setSliderDown(False)
    assert obj.matte == MatteOps(grow_px=4, feather_px=3.0) and panel.spins["feather"].value() == 3.0
    window.menu_actions["undo"].trigger()
    assert obj.matte == MatteOps(grow_px=4) and panel.spins["feather"].value() == 0.0
    window.menu_actions["undo"].trigger()
    assert obj.matte == MatteOps() and panel.spins["grow"].value() == 0
    assert picture_at(window, 70, top - 3).red() == 0
    assert np.array_equal(current_mask(window), mask)  # non-destructive: the mask itself never changed


def test_refine_edge_is_previewed_soft_and_is_one_undo_step(
    qtbot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    mask = paint(qtbot, window)
    panel, obj = window.matte_panel, window.state.current_object
    window.menu_actions["view_matte"].trigger()
    top = int(np.argwhere(mask[:, 70]).min())
    column = [picture_at(window, 70, y).red() for y in range(top - 6, top + 6)]
    assert set(column) <= {0, 255}  # the painted mask: hard
    panel.refine.setCurrentIndex(panel.refine.findData(RefineMode.FAST.value))
    assert obj.matte == MatteOps(refine=RefineMode.FAST)
    assert window.state.document.stack.undo_label == "Change matte"
    column = [picture_at(window, 70, y).red() for y in range(top - 6, top + 6)]
    assert any(0 < value < 255 for value in column)  # refined against the frame: soft values at the edge
    panel.spins["band"].setValue(3)
    assert obj.matte == MatteOps(refine=RefineMode.FAST, refine_band_px=3)
    window.menu_actions["undo"].trigger()
    window.menu_actions["undo"].trigger()
    assert obj.matte == MatteOps() and panel.refine.currentData() == RefineMode.OFF
    assert set(picture_at(window, 70, y).red() for y in range(top - 6, top + 6)) <= {0, 255}


def test_quality_refine_is_previewed_from_a_background_thread_and_the_window_never_waits(
    qtbot, window: MainWindow, small_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quality mode's refinement runs on the refiner thread: while it is held there, the window returns from the
    change at once, shows the matte unrefined and keeps running its event loop (its timer releases the job);
    then the refined preview arrives, equal to refining on this thread."""
    open_and_show(qtbot, window, small_clip)
    mask = paint(qtbot, window)
    panel, obj = window.matte_panel, window.state.current_object
    window.menu_actions["view_matte"].trigger()
    top = int(np.argwhere(mask[:, 70]).min())
    edge = range(top - 6, top + 6)
    doc = window.state.document
    frame = doc.shot.first_frame + window.state.shown_frame
    rgb = window.view._rgb
    assert rgb is not None
    gui, threads, release = threading.get_ident(), [], threading.Event()

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        release.wait(20)  # only the window's event loop lets the refinement go on
        return refine_alpha(*args, **kwargs)

    monkeypatch.setattr(matte_module, "refine_alpha", held)
    panel.refine.setCurrentIndex(panel.refine.findData(RefineMode.QUALITY.value))
    assert obj.matte == MatteOps(refine=RefineMode.QUALITY) and not release.is_set()
    assert set(picture_at(window, 70, y).red() for y in edge) <= {0, 255}  # unrefined meanwhile
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)  # the job waits in the refiner thread
    QTimer.singleShot(0, release.set)  # the window's event loop runs: it lets the job go
    qtbot.waitUntil(lambda: any(0 < picture_at(window, 70, y).red() < 255 for y in edge), timeout=30_000)
    assert release.is_set() and threads and gui not in threads
    obj = window.state.current_object
    shown = window.view._refined.lookup(doc.project, doc.shot, obj, frame, rgb)
    expected = object_alpha(doc.project, doc.shot, obj, frame, picture=rgb)  # refined on this thread
    assert shown is not None and expected is not None
    np.testing.assert_array_equal(shown, expected)
    assert window.view._refined.take_jobs() == []
