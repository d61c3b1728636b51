"""The editor end to end on the offscreen platform: real clicks on the canvas, the real worker and test bundle."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from roto.project import Point, load_project
from roto.ui.app import MainWindow
from roto.ui.export_dialog import ExportDialog
from tests.conftest import CLIP_FRAMES, CLIP_SIZE
from tests.ui.conftest import Dialogs
from tests.ui.ui_helpers import SHARED_CLIP, click_image, current_mask, open_and_show

WAIT_MS = 15_000


def test_click_on_the_sample_clip_gives_a_mask_of_the_frame_shape(qtbot, window: MainWindow) -> None:
    if not SHARED_CLIP.is_file():
        pytest.skip(f"sample clip not found at {SHARED_CLIP}")
    open_and_show(qtbot, window, SHARED_CLIP)
    click_image(qtbot, window, 480, 270)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    assert current_mask(window).shape == (540, 960)
    assert "random weights (test bundle)" in window.status.model.text()


def test_click_undo_redo(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    mask = current_mask(window).copy()
    assert mask.shape == (CLIP_SIZE[1], CLIP_SIZE[0])
    obj = window.state.document.shot.object(window.state.object_id)
    (point,) = obj.prompts[0].points
    assert (point.label, round(point.x), round(point.y)) == (1, 50, 50)
    assert window.menu_actions["undo"].text() == "&Undo Add point"

    requests: list[object] = []
    window.engine.mask_ready.connect(requests.append)
    window.menu_actions["undo"].trigger()
    assert current_mask(window) is None and 0 not in obj.prompts
    window.menu_actions["redo"].trigger()
    assert np.array_equal(current_mask(window), mask) and obj.prompts[0].points == [point]
    qtbot.wait(100)
    assert requests == []  # undo/redo restored the mask without running the model


def test_box_drag_gives_a_mask(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["box_tool"].trigger()
    viewport = window.canvas.viewport()
    start, end = window.canvas.image_to_view(25, 25), window.canvas.image_to_view(80, 75)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, (start + end) / 2)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    (box,) = window.state.document.shot.object(window.state.object_id).prompts[0].boxes
    assert [round(v) for v in (box.x0, box.y0, box.x1, box.y1)] == [25, 25, 80, 75]
    assert window.menu_actions["undo"].text() == "&Undo Add box"


def test_right_click_is_background_and_ctrl_click_deletes(
    qtbot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    click_image(qtbot, window, 120, 20, button=Qt.MouseButton.RightButton)
    obj = window.state.document.shot.object(window.state.object_id)
    qtbot.waitUntil(lambda: len(obj.prompts[0].points) == 2, timeout=WAIT_MS)
    assert obj.prompts[0].points[1].label == 0
    click_image(qtbot, window, 50, 50, modifier=Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(obj.prompts[0].points) == 1, timeout=WAIT_MS)
    assert obj.prompts[0].points[0].label == 0


def test_broken_file_shows_an_error_and_the_editor_keeps_working(
    qtbot, window: MainWindow, dialogs: Dialogs, small_clip: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert not window.open_path(bad)
    assert len(dialogs.errors) == 1
    title, text = dialogs.errors[0]
    assert title == "Cannot open" and "bad.mp4" in text
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    assert len(dialogs.errors) == 1


def test_first_run_without_a_model_explains_how_to_install_one(
    qtbot, dialogs: Dialogs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_clip: Path
) -> None:
    monkeypatch.delenv("ROTO_MODEL", raising=False)
    monkeypatch.setenv("ROTO_MODELS_DIR", str(tmp_path / "no-models"))
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    assert "roto models install tiny" in win.message.text()
    assert "roto models import" in win.message.text()
    assert win.status.model.text() == "No model installed"
    open_and_show(qtbot, win, small_clip)  # clips still open and play without a model
    assert "Encoding" not in win.status.engine.text()  # nothing will encode the frame shown
    click_image(qtbot, win, 50, 50)
    assert "No model is loaded" in win.statusBar().currentMessage()
    assert dialogs.errors == []
    win.close()


def test_gui_thread_stays_responsive_while_frames_are_encoded(
    qtbot, window: MainWindow, small_clip: Path
) -> None:
    """The issue's responsiveness requirement: model work never blocks the GUI for 100 ms or more."""
    open_and_show(qtbot, window, small_clip)
    encoded: list[int] = []
    window.engine.frame_encoded.connect(encoded.append)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    for frame in range(1, 6):
        window.timeline.set_frame(frame)
        qtbot.waitUntil(lambda f=frame: f in encoded, timeout=WAIT_MS)
    # Frames encoded ahead come back in milliseconds: the five can be done before the timer ticked six times.
    qtbot.waitUntil(lambda: len(ticks) > 5, timeout=WAIT_MS)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 5 and gaps.max() < 0.1, f"longest GUI stall {gaps.max() * 1000:.0f} ms"


def test_arrow_keys_step_and_prompted_frames_are_marked(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    assert window.timeline.last_frame == CLIP_FRAMES - 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.state.shown_frame == 2, timeout=WAIT_MS)
    click_image(qtbot, window, 60, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    assert set(window.timeline.view.prompted) == {2}
    qtbot.keyClick(window.canvas, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: window.state.shown_frame == 1, timeout=WAIT_MS)
    assert current_mask(window) is None


def test_objects_are_added_renamed_hidden_through_undoable_commands(
    qtbot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    window.menu_actions["add_object"].trigger()
    shot = window.state.document.shot
    assert [o.name for o in shot.objects] == ["Object 1", "Object 2"] and window.state.object_id == 2
    item = window.objects.list.item(1)
    item.setText("Hat")
    assert shot.object(2).name == "Hat"
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not shot.object(2).visible
    window.editor.undo()
    window.editor.undo()
    assert shot.object(2).visible and shot.object(2).name == "Object 2"
    assert window.objects.list.item(1).text() == "Object 2"


def test_save_and_reopen_project_keeps_the_mask(
    qtbot, window: MainWindow, small_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    mask = current_mask(window).copy()
    folder = tmp_path / "shot.roto"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *_a, **_k: (str(folder), "")))
    assert window.save()
    assert not window.isWindowModified()
    assert load_project(folder).shots[0].objects[0].prompts[0].points[0] == Point(*_point(window))
    assert window.open_path(folder)
    qtbot.waitUntil(lambda: window.state.shown_frame == 0, timeout=WAIT_MS)
    assert np.array_equal(current_mask(window), mask)


def test_a_project_whose_media_moved_offers_to_locate_it(
    qtbot,
    window: MainWindow,
    dialogs: Dialogs,
    small_clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    media = tmp_path / "clip.mp4"
    media.write_bytes(small_clip.read_bytes())
    open_and_show(qtbot, window, media)
    folder = tmp_path / "shot.roto"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *_a, **_k: (str(folder), "")))
    assert window.save()
    window.editor.set_document(None)
    moved = tmp_path / "elsewhere" / "clip.mp4"
    moved.parent.mkdir()
    media.rename(moved)
    dialogs.answer = QMessageBox.StandardButton.Yes  # "Locate the media?"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *_a, **_k: (str(moved), "")))
    assert window.open_path(folder)
    qtbot.waitUntil(lambda: window.state.shown_frame == 0, timeout=WAIT_MS)
    assert window.state.document is not None and window.state.document.shot.media == moved
    assert window.isWindowModified() and window.menu_actions["undo"].text() == "&Undo Relink media"
    assert not dialogs.errors
    dialogs.answer = QMessageBox.StandardButton.Discard


def _point(win: MainWindow) -> tuple[float, float, int]:
    p = win.state.document.shot.objects[0].prompts[0].points[0]
    return (p.x, p.y, p.label)


def test_space_on_the_canvas_plays_and_pauses(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert window.timeline.playing
    qtbot.waitUntil(lambda: window.timeline.frame >= 2, timeout=WAIT_MS)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert not window.timeline.playing


def test_wheel_zooms_and_fit_restores(qtbot, window: MainWindow, small_clip: Path) -> None:
    open_and_show(qtbot, window, small_clip)
    fitted = window.canvas.zoom
    window.canvas.zoom_by(2.0)
    assert window.canvas.zoom == pytest.approx(fitted * 2)
    window.canvas.actual_size()
    assert window.canvas.zoom == 1.0
    window.canvas.fit()
    assert window.canvas.zoom == pytest.approx(fitted)
    assert QPoint(0, 0) != window.canvas.image_to_view(10, 10)


def test_export_dialog_writes_png_mattes(
    qtbot, window: MainWindow, small_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    mask = current_mask(window).copy()
    out = tmp_path / "mattes"

    def accept(dialog: ExportDialog) -> int:
        dialog.folder.setText(str(out))
        return ExportDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    window.menu_actions["export"].trigger()  # runs in the background: the files appear together at the end
    qtbot.waitUntil(lambda: len(list(out.glob("*.png"))) == CLIP_FRAMES, timeout=WAIT_MS)
    files = sorted(out.glob("*.png"))
    assert len(files) == CLIP_FRAMES
    first = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(first > 127, mask)
    assert not cv2.imread(str(files[1]), cv2.IMREAD_UNCHANGED).any()  # frames without a mask are empty


def test_save_as_starts_beside_the_last_project(
    qtbot, window: MainWindow, small_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = tmp_path / "projects"
    projects.mkdir()
    offered: list[str] = []

    def save_to(folder: Path):  # type: ignore[no-untyped-def]
        def dialog(_parent, _title, suggested, _filter):  # type: ignore[no-untyped-def]
            offered.append(suggested)
            return str(folder), ""

        return staticmethod(dialog)

    open_and_show(qtbot, window, small_clip)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_to(projects / "first.roto"))
    assert window.save()
    assert Path(offered[0]).parent == small_clip.parent  # the first project: beside its media
    window.editor.set_document(None)
    open_and_show(qtbot, window, small_clip)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_to(projects / "second.roto"))
    assert window.save()
    assert Path(offered[1]).parent == projects  # then beside the last project
