"""4K that keeps up, checked on a small clip through the real window: the view composed for what the canvas
shows at screen resolution, scrubbing that shows reduced previews, then the full frame on release, and outline
paths built at C speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPolygonF

from roto.editor.views import Outline
from roto.ui.app import MainWindow
from roto.ui.view_layer import outline_path
from roto.ui.worker import FrameLoader
from tests.conftest import CLIP_SIZE
from tests.ui.test_views import paint
from tests.ui.ui_helpers import open_and_show

WIDTH, HEIGHT = CLIP_SIZE


def test_view_is_composed_for_the_visible_part_at_screen_resolution(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    paint(qtbot, window)
    picture = window.canvas.view_layer.picture
    window.canvas.zoom_by(0.5 / window.canvas.zoom)  # the whole frame, at half a screen pixel per frame pixel
    qtbot.waitUntil(lambda: picture.pixmap().width() == WIDTH // 2, timeout=5000)
    assert picture.pixmap().height() == HEIGHT // 2
    assert picture.sceneBoundingRect() == QRectF(0, 0, WIDTH, HEIGHT)  # stretched back over the frame
    window.canvas.zoom_by(16.0)  # 8x: only part of the frame is on screen
    window.canvas.centerOn(QPointF(WIDTH * 0.75, HEIGHT * 0.75))
    qtbot.waitUntil(lambda: picture.sceneBoundingRect().left() > 0, timeout=5000)
    visible = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    shown = picture.sceneBoundingRect()
    assert shown.top() > 0 and picture.pixmap().width() < WIDTH
    assert shown.contains(visible.intersected(QRectF(0, 0, WIDTH, HEIGHT)).toAlignedRect().toRectF())
    assert picture.pixmap().width() == shown.width()  # zoomed in: one picture pixel per frame pixel


def test_scrubbing_shows_previews_then_the_full_frame_on_release(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    qtbot.waitUntil(lambda: window.status.engine.text() == "Ready", timeout=20_000)
    view, frame_item = window.timeline.view, window.canvas._frame_item
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPointF(view.scale.left(8) + 1, 5).toPoint())
    assert view.scrubbing and window.state.frame == 8
    window.loader.request(
        3, 40
    )  # a frame the drag passed, shrunk: the canvas shows it while the drag goes on
    qtbot.waitUntil(lambda: window.state.shown_frame == 3, timeout=5000)
    assert frame_item.pixmap().width() == 40
    assert frame_item.sceneBoundingRect() == QRectF(0, 0, WIDTH, HEIGHT)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPointF(view.scale.left(8) + 1, 5).toPoint())
    assert not view.scrubbing
    qtbot.waitUntil(
        lambda: window.state.shown_frame == 8 and frame_item.pixmap().width() == WIDTH, timeout=5000
    )
    assert frame_item.sceneBoundingRect() == QRectF(0, 0, WIDTH, HEIGHT)


def test_previews_are_decoded_ahead_in_the_direction_of_the_drag(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    doc = window.state.document
    assert doc is not None
    source, side, ahead = doc.media, 40, FrameLoader.AHEAD

    def cached(index: int) -> bool:
        return (source.media_id, "thumbnail", side, index) in source.cache

    window.loader.request(1, side)
    window.loader.request(2, side)  # the drag moves forward
    qtbot.waitUntil(lambda: all(cached(i) for i in range(3, 3 + ahead)), timeout=10_000)
    qtbot.wait(100)
    assert not cached(3 + ahead)  # only so far ahead
    window.loader.request(11, side)
    window.loader.request(10, side)  # and back
    qtbot.waitUntil(lambda: all(cached(i) for i in range(9, 9 - ahead, -1)), timeout=10_000)
    window.loader.request(10)  # released: the full frame
    qtbot.waitUntil(
        lambda: (source.media_id, 10) in source.cache and window.loader.queue.empty(), timeout=10_000
    )


def test_outline_paths_are_the_polygons_closed() -> None:
    """Built from numpy through QPainterPath's stream format: the same path as one QPointF at a time."""
    rng = np.random.default_rng(1)
    polygons = (
        rng.random((900, 2), np.float32) * 500,
        np.empty((0, 2), np.float32),
        rng.random((3, 2), np.float32),
    )
    expected = QPainterPath()
    for polygon in polygons[::2]:
        expected.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in polygon]))
        expected.closeSubpath()
    path = outline_path(Outline(polygons, (255, 0, 0)))
    assert path == expected and path.elementCount() == 901 + 4  # each closed back to its first point
