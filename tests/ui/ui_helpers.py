"""Steps the editor tests share."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from roto.ui.app import MainWindow
from roto.ui.view_layer import ViewLayer

SHARED_CLIP = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "bedroom.mp4"


def open_and_show(qtbot, win: MainWindow, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Open a clip and wait until its first frame is on the canvas."""
    assert win.open_path(path)
    qtbot.waitUntil(lambda: win.state.shown_frame == 0, timeout=10_000)


def click_image(
    qtbot,
    win: MainWindow,
    x: float,
    y: float,
    button=Qt.MouseButton.LeftButton,
    modifier=Qt.KeyboardModifier.NoModifier,
) -> None:  # type: ignore[no-untyped-def]
    """Click the canvas where frame pixel (x, y) is drawn, as a user would."""
    qtbot.mouseClick(win.canvas.viewport(), button, modifier, win.canvas.image_to_view(x, y))


def current_mask(win: MainWindow):  # type: ignore[no-untyped-def]
    target = win.state.target
    assert win.state.document is not None and target is not None
    return win.state.document.project.get_mask(target.shot_id, target.object_id, target.frame)


def drag_image(qtbot, win: MainWindow, start: tuple[float, float], end: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    """Press at frame pixel `start`, move through the middle to `end`, release: a brush stroke or a drag."""
    viewport = win.canvas.viewport()
    a, b = win.canvas.image_to_view(*start), win.canvas.image_to_view(*end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(viewport, (a + b) / 2)
    qtbot.mouseMove(viewport, b)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)


def shown_view(win: MainWindow, timeout_s: float = 10.0) -> ViewLayer:
    """The canvas's view layer once the latest view asked for is on it (views are composed on their own thread)."""
    end = time.monotonic() + timeout_s
    while win.view.composing:
        assert time.monotonic() < end, "the view asked for never reached the canvas"
        QTest.qWait(5)
    return win.canvas.view_layer
