"""The timeline widget: click to jump, zoom and scroll, labels, prompted-frame keys, the shortcuts list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication

from roto.ui.actions import ACTIONS, shortcut_rows
from roto.ui.app import MainWindow
from roto.ui.timeline import Timeline
from tests.conftest import CLIP_FRAMES
from tests.ui.ui_helpers import click_image, current_mask, open_and_show

WAIT_MS = 30_000


def _wheel(widget, x: float, steps: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    position = QPointF(x, widget.height() / 2)
    event = QWheelEvent(
        position,
        widget.mapToGlobal(position),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_a_click_jumps_to_the_frame_and_a_drag_scrubs(qtbot) -> None:  # type: ignore[no-untyped-def]
    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.resize(800, 60)
    timeline.show()
    timeline.set_clip(200, 24.0, range(1001, 1201))
    view = timeline.view
    seen: list[int] = []
    timeline.frame_changed.connect(seen.append)
    x = view.scale.x(150)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(x), 20))
    assert timeline.frame == 150 and seen == [150]
    assert "#1151" in timeline.label.text()  # the number the exported file carries
    assert view.label(0) == "1001"


def test_the_wheel_zooms_around_the_cursor_and_the_bar_scrolls(qtbot) -> None:  # type: ignore[no-untyped-def]
    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.resize(800, 60)
    timeline.show()
    timeline.set_clip(1000, 24.0, range(1000))
    view = timeline.view
    under = view.scale.frame_at(400)
    _wheel(view, 400, 6)
    assert view.scale.zoomed_in and timeline.scroll_bar.isVisible()
    assert view.scale.frame_at(400) == under
    start = view.scale.start
    timeline.scroll_bar.setValue(timeline.scroll_bar.maximum())
    assert view.scale.start > start and 999 in view.scale.visible()
    timeline.set_frame(0)  # the playhead stays in view
    assert 0 in view.scale.visible()
    _wheel(view, 400, -60)
    assert not view.scale.zoomed_in and not timeline.scroll_bar.isVisible()


def test_timecode_on_demand(qtbot, window: MainWindow, small_clip: Path) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["timecode"].trigger()
    assert window.timeline.view.label(CLIP_FRAMES - 1) == "00:00:00:11"
    window.timeline.set_frame(5)
    assert "00:00:00:05" in window.timeline.label.text()
    window.menu_actions["timecode"].trigger()
    assert window.timeline.view.label(5) == "5"


def test_j_and_k_jump_between_prompted_frames(qtbot, window: MainWindow, small_clip: Path) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    for frame in (3, 8):
        window.timeline.set_frame(frame)
        qtbot.waitUntil(lambda f=frame: window.state.shown_frame == f, timeout=WAIT_MS)
        click_image(qtbot, window, 50, 50)
        qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    window.timeline.set_frame(0)
    qtbot.keyClick(window.canvas, Qt.Key.Key_K)
    assert window.timeline.frame == 3
    qtbot.keyClick(window.canvas, Qt.Key.Key_K)
    assert window.timeline.frame == 8
    qtbot.keyClick(window.canvas, Qt.Key.Key_J)
    assert window.timeline.frame == 3
    assert set(window.timeline.view.prompted) == {3, 8}


def test_the_shortcuts_list_names_every_bound_command() -> None:
    rows = shortcut_rows()

    def keys(spec: object) -> str:
        return QKeySequence(spec.shortcut).toString()  # type: ignore[attr-defined]

    bound = [spec for spec in ACTIONS if spec.shortcut is not None and keys(spec)]  # Quit has no key on Linux
    listed = {command for _, command, _ in rows}
    assert all(spec.text.replace("&", "").split("\t")[0] in listed for spec in bound)
    assert ("Playback", "Next Prompted Frame", "K") in rows and ("Playback", "Play / Pause", "Space") in rows


def test_in_out_points_are_saved_with_the_project(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, small_clip: Path, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    open_and_show(qtbot, window, small_clip)
    window.timeline.set_frame(2)
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    window.timeline.set_frame(7)
    qtbot.keyClick(window.canvas, Qt.Key.Key_O)
    assert window.state.document is not None and window.state.document.shot.in_out == (2, 7)
    assert window.isWindowModified() and window.menu_actions["undo"].text() == "&Undo Set in/out"
    folder = tmp_path / "shot.roto"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *_a, **_k: (str(folder), "")))
    assert window.save()
    window.editor.set_document(None)
    assert window.open_path(folder)
    assert window.timeline.in_out == (2, 7) and not window.isWindowModified()
    window.menu_actions["undo"].trigger()  # nothing to undo after opening: the range came from the file
    assert window.timeline.in_out == (2, 7)
