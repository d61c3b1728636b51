"""The real editor window at 4K: click to mask drawn, GUI-thread stalls while propagating, frames shown while
scrubbing. Prints JSON.

A generated 3840x2160 H.264 clip (`--frames`, one keyframe a second) is opened in the window (offscreen Qt or
Xvfb) with the random-weight test bundle, as a user would: clicks on the canvas, Propagate forward, a drag along
the timeline. Measured:
- click: from the mouse click to the repaint that shows the new mask (model, masks, composition, Qt's paint);
- propagate: the gaps between the ticks of a 10 ms timer on the GUI thread while the run goes (a gap over
  50 ms is a stall the user sees);
- scrub: distinct frames put on the canvas per second while the timeline is dragged across the clip for
  `--drag-s`, and the time from the release to the full-resolution frame on the canvas.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editor_4k.py [--frames 60] [--clicks 6]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, percentile

from roto.editor.documents import Document
from roto.editor.propagation import Direction
from roto.editor.requests import PredictTarget
from roto.ui.app import MainWindow

ROOT = Path(__file__).resolve().parents[1]
TEST_BUNDLE = ROOT / "tests" / "data" / "bundles" / "sam2.1-test"
SIZE = (3840, 2160)
FPS = 24


def write_clip(path: Path, frames: int) -> Path:
    """Smooth gradients with a moving disc and bars: footage-like detail, a keyframe every second."""
    width, height = SIZE
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) * 255 // (width + height)], -1)
    base = base.astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = FPS
        stream.options = {"preset": "veryfast", "crf": "23"}
        for index in range(frames):
            image = base.copy()
            cx, cy = 1200 + index * 20, 1000 + index * 5
            image[cy - 400 : cy + 400, cx - 400 : cx + 400] = (230, 200, 40)
            image[:, (index * 37) % width :: 480] = 20
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def wait(app: QApplication, done: Callable[[], bool], timeout_s: float = 120.0) -> None:
    end = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the editor did not get there in time")
        app.processEvents()
        time.sleep(0.001)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def ready(window: MainWindow) -> bool:
    return window.status.engine.text() == "Ready" and window.engine.queue.empty()


def measure_clicks(app: QApplication, window: MainWindow, clicks: int) -> list[float]:
    """Each click a new object's first point (so the model answers with every candidate, as a first click does)."""
    canvas, shown = window.canvas, [0]
    show_view = canvas.show_view

    def counting(view):  # type: ignore[no-untyped-def]
        shown[0] += 1
        show_view(view)

    canvas.show_view = counting  # type: ignore[method-assign]
    times = []
    for number in range(clicks):
        window.editor.add_object()
        wait(app, lambda: ready(window))
        doc, target = window.state.document, window.state.target
        assert doc is not None and target is not None
        x, y = 900 + 350 * number, 700 + 150 * number
        before = shown[0]
        start = time.perf_counter()
        point = canvas.image_to_view(x, y)
        for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
            QApplication.sendEvent(
                canvas.viewport(),
                QMouseEvent(
                    kind,
                    QPointF(point),
                    QPointF(canvas.viewport().mapToGlobal(point)),
                    Qt.MouseButton.LeftButton,
                    Qt.MouseButton.LeftButton
                    if kind == QEvent.Type.MouseButtonPress
                    else Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier,
                ),
            )

        def drawn(doc: Document = doc, target: PredictTarget = target, before: int = before) -> bool:
            return (
                doc.project.get_mask(target.shot_id, target.object_id, target.frame) is not None
                and shown[0] > before
            )

        wait(app, drawn)
        canvas.viewport().repaint()
        times.append(time.perf_counter() - start)
    canvas.show_view = show_view  # type: ignore[method-assign]
    return times


def measure_propagation(app: QApplication, window: MainWindow) -> tuple[list[float], float, int]:
    """The GUI thread's 10 ms timer gaps while a forward run tracks the clip; the run's time and frames."""
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    wait(app, lambda: ready(window))
    start = time.perf_counter()
    timer.start()
    request = window.editor.propagate(Direction.FORWARD)
    assert request is not None
    wait(app, lambda: window.state.run is None, timeout_s=600)
    timer.stop()
    took = time.perf_counter() - start
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return gaps, took, request.total


def timeline_event(kind: QEvent.Type, x: float, y: float, pressed: bool) -> QMouseEvent:
    buttons = Qt.MouseButton.LeftButton if pressed else Qt.MouseButton.NoButton
    return QMouseEvent(
        kind, QPointF(x, y), QPointF(x, y), Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier
    )


def measure_scrub(app: QApplication, window: MainWindow, drag_s: float) -> dict[str, float]:
    """Drag the timeline from the first frame to the last over `drag_s`, 60 mouse moves a second."""
    view, canvas = window.timeline.view, window.canvas
    wait(app, lambda: ready(window))
    window.timeline.set_frame(0)
    wait(app, lambda: window.state.shown_frame == 0)
    wait(app, lambda: ready(window))
    shown: list[tuple[float, tuple[int, ...]]] = []
    set_frame = canvas.set_frame

    def recording(rgb: np.ndarray, *size: tuple[int, int]) -> None:
        set_frame(rgb, *size)
        shown.append((time.perf_counter(), rgb.shape))

    canvas.set_frame = recording  # type: ignore[method-assign]
    last = window.timeline.last_frame
    x0, x1 = view.scale.left(0) + 1, view.scale.left(last) + 1
    y = view.height() / 2
    QApplication.sendEvent(view, timeline_event(QEvent.Type.MouseButtonPress, x0, y, True))
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < drag_s:
        x = x0 + (x1 - x0) * elapsed / drag_s
        QApplication.sendEvent(view, timeline_event(QEvent.Type.MouseMove, x, y, True))
        tick = time.perf_counter() + 1 / 60
        while time.perf_counter() < tick:
            app.processEvents()
            time.sleep(0.001)
    QApplication.sendEvent(view, timeline_event(QEvent.Type.MouseMove, x1, y, True))
    released = time.perf_counter()
    QApplication.sendEvent(view, timeline_event(QEvent.Type.MouseButtonRelease, x1, y, False))
    full = (SIZE[1], SIZE[0], 3)
    wait(app, lambda: window.state.shown_frame == last and bool(shown) and shown[-1][1] == full)
    canvas.set_frame = set_frame  # type: ignore[method-assign]
    during = [at for at, _shape in shown if at <= released]
    return {
        "drag_s": round(released - start, 2),
        "frames_shown_while_dragging": len(during),
        "fps_while_dragging": round(len(during) / (released - start), 2),
        "reduced_frames_shown": sum(1 for _at, shape in shown if shape != full),
        "release_to_full_frame_ms": ms(shown[-1][0] - released),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--clicks", type=int, default=6)
    parser.add_argument("--drag-s", type=float, default=2.5)
    args = parser.parse_args()
    os.environ.setdefault("ROTO_MODEL", str(TEST_BUNDLE))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "uhd.mp4", args.frames)
        window = MainWindow()
        window.resize(1400, 860)
        window.show()
        wait(app, lambda: window.state.engine is not None)
        assert window.open_path(clip)
        wait(app, lambda: window.state.shown_frame == 0)
        clicks = measure_clicks(app, window, args.clicks)
        gaps, run_s, run_frames = measure_propagation(app, window)
        scrub = measure_scrub(app, window, args.drag_s)
        emit(
            {
                "frame_size": list(SIZE),
                "frames": args.frames,
                "window": [window.width(), window.height()],
                "platform": QApplication.platformName(),
                "load_1min": round(os.getloadavg()[0], 2),
                "click_to_mask_drawn_ms": {
                    "median": ms(statistics.median(clicks)),
                    "max": ms(max(clicks)),
                    "all": [ms(t) for t in clicks],
                },
                "propagation": {
                    "frames": run_frames,
                    "seconds": round(run_s, 2),
                    "gui_timer_gap_ms_p50": ms(percentile(gaps, 50)),
                    "gui_timer_gap_ms_p99": ms(percentile(gaps, 99)),
                    "gui_timer_gap_ms_max": ms(max(gaps)),
                    "gaps_over_50ms": sum(1 for g in gaps if g > 0.05),
                },
                "scrub": scrub,
            }
        )
        window.state.document.stack.set_clean()  # type: ignore[union-attr]
        window.close()


if __name__ == "__main__":
    main()
