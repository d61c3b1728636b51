"""The view composed off the GUI thread: the latest request wins, late results of older ones are dropped, and the
canvas shows the full-resolution composition reduced to the canvas's size."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtGui import QImage

from roto.editor.views import ViewMode, ViewOptions, view_request
from roto.ui.app import MainWindow
from roto.ui.view_layer import PreparedView
from tests.conftest import CLIP_SIZE
from tests.ui.test_views import paint
from tests.ui.ui_helpers import open_and_show, shown_view

WIDTH, HEIGHT = CLIP_SIZE


def rgba(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888_Premultiplied)
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4).copy()  # the image's memory goes with it


def test_the_latest_view_wins_and_late_results_are_dropped(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    shown_view(window)
    composed: list[ViewMode] = []
    window.composer.composed.connect(lambda request, _prepared: composed.append(request.options.mode))
    gate = threading.Event()
    window.composer.queue.put("busy", lambda: gate.wait(10))  # the composer is busy with an earlier view
    window.menu_actions["view_matte"].trigger()
    window.menu_actions["view_outlines"].trigger()  # asked for while the matte view still waits
    assert window.view.composing
    gate.set()
    layer = shown_view(window)
    qtbot.wait(50)  # time for anything else the composer might send
    assert composed == [ViewMode.OUTLINES]  # the waiting matte view was replaced, never composed
    assert layer.picture.pixmap().isNull() and len(layer.outlines) == 1
    doc = window.state.document
    assert doc is not None and window.state.shown_frame is not None
    frame = doc.shot.first_frame + window.state.shown_frame
    older = view_request(
        doc.project, doc.shot, frame, ViewOptions(mode=ViewMode.MATTE), window.state.object_id
    )
    window.view._on_composed(older, PreparedView.of(older.compose()))  # a result arriving late
    assert layer.picture.pixmap().isNull() and not window.view.composing  # dropped: the outlines stay


def test_a_view_finished_after_a_newer_one_was_asked_for_is_still_shown(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    """Playback slower than composing: each result is shown in turn (the canvas follows late, never freezes)."""
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    shown_view(window)
    gate = threading.Event()
    window.composer.queue.put("busy", lambda: gate.wait(10))
    window.menu_actions["view_matte"].trigger()
    window.menu_actions["view_outlines"].trigger()
    (matte, _), (outlines, _) = window.view._posted
    assert matte.options.mode == ViewMode.MATTE and outlines.options.mode == ViewMode.OUTLINES
    layer = window.canvas.view_layer
    window.view._on_composed(matte, PreparedView.of(matte.compose()))  # it was composing when outlines came
    assert not layer.picture.pixmap().isNull() and window.view.composing  # shown; outlines still to come
    gate.set()
    shown_view(window)
    assert layer.picture.pixmap().isNull() and len(layer.outlines) == 1
    window.view._on_composed(matte, PreparedView.of(matte.compose()))  # overtaken: never shown again
    assert layer.picture.pixmap().isNull()


def test_the_canvas_shows_the_full_composition_reduced_to_its_size(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    window.canvas.zoom_by(0.5 / window.canvas.zoom)  # the whole frame at half a screen pixel per frame pixel
    picture = window.canvas.view_layer.picture
    qtbot.waitUntil(lambda: picture.pixmap().width() == WIDTH // 2, timeout=5000)
    doc, state = window.state.document, window.state
    assert doc is not None and state.shown_frame is not None
    frame = doc.shot.first_frame + state.shown_frame
    full = view_request(doc.project, doc.shot, frame, state.view, state.object_id).compose()
    assert full.picture is not None and full.picture.shape[:2] == (HEIGHT, WIDTH)
    expected = cv2.resize(full.picture, (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_LINEAR)
    shown = rgba(shown_view(window).picture.pixmap().toImage())
    difference = np.abs(shown.astype(int) - expected.astype(int))
    assert difference.max() <= 2  # the same fill, reduced (rounding aside)
    assert (shown[..., 3] > 0).sum() > 100  # and there is a fill to compare


def test_a_new_picture_waits_for_its_own_view(qtbot, window: MainWindow, small_clip: Path) -> None:  # type: ignore[no-untyped-def]
    """Stepping to the next frame never shows its picture under the previous frame's masks: both arrive together."""
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    layer = shown_view(window)
    frame_item = window.canvas._frame_item
    before_picture, before_view = frame_item.pixmap().cacheKey(), layer.picture.pixmap().cacheKey()
    gate = threading.Event()
    window.composer.queue.put("busy", lambda: gate.wait(10))
    window.menu_actions["next_frame"].trigger()
    qtbot.waitUntil(lambda: window.state.shown_frame == 1, timeout=10_000)  # frame 1 is decoded
    qtbot.wait(50)
    assert window.view.composing
    assert frame_item.pixmap().cacheKey() == before_picture  # frame 0's picture, with frame 0's view
    assert layer.picture.pixmap().cacheKey() == before_view
    gate.set()
    shown_view(window)
    assert frame_item.pixmap().cacheKey() != before_picture  # frame 1's picture and its own view, together


def test_a_picture_is_shown_even_when_its_view_fails(qtbot, window: MainWindow, small_clip: Path) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    shown_view(window)
    frame_item = window.canvas._frame_item
    before = frame_item.pixmap().cacheKey()
    gate = threading.Event()
    window.composer.queue.put("busy", lambda: gate.wait(10))
    window.menu_actions["next_frame"].trigger()
    qtbot.waitUntil(lambda: window.state.shown_frame == 1, timeout=10_000)
    window.view._on_compose_failed()  # what the composer's failed signal does
    assert frame_item.pixmap().cacheKey() != before and not window.view.composing
    gate.set()
    shown_view(window)
