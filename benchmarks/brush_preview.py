"""The brush stroke preview at 4K: GUI time per mouse move, early and late in a long stroke. Prints JSON.

An offscreen canvas shows a 3840x2160 frame fitted into a 1600x900 view (and, in a second pass, zoomed to 100 %)
with a 4K overlay picture over it; the brush is dragged along a wavy path of `--moves` mouse moves. Each move is
sent as a real Qt mouse event and followed by the event loop's processing, which paints the region the move made
dirty: the time measured is what the GUI thread spends between the mouse moving and the stroke and the brush
circle following it. `fitted_hover` is the brush circle alone (no button down), for comparison. The claim checked:
a move costs far less than a 60 Hz display frame (16.7 ms) and does not grow with the length of the stroke.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/brush_preview.py [--moves 600]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, percentile

from roto.editor.tools import Tool
from roto.editor.views import ObjectLayer, ViewOptions, compose_view
from roto.ui.canvas import Canvas

WIDTH, HEIGHT = 3840, 2160


def mouse(canvas: Canvas, kind: QEvent.Type, x: float, y: float) -> None:
    position = QPointF(canvas.image_to_view(x, y))
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
    event = QMouseEvent(
        kind, position, position, Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas.viewport(), event)


def stroke(canvas: Canvas, moves: int, press: bool = True) -> list[float]:
    """Milliseconds from each mouse move to the repainted viewport (press False: the brush circle hovering)."""
    path = [
        (400 + 3000 * i / moves, HEIGHT / 2 + 500 * math.sin(i / moves * 6 * math.pi))
        for i in range(moves + 1)
    ]
    if press:
        mouse(canvas, QEvent.Type.MouseButtonPress, *path[0])
    times = []
    for x, y in path[1:]:
        start = time.perf_counter()
        mouse(canvas, QEvent.Type.MouseMove, x, y)
        QApplication.processEvents()  # paints what the move made dirty, as the event loop would
        times.append((time.perf_counter() - start) * 1000)
    if press:
        mouse(canvas, QEvent.Type.MouseButtonRelease, *path[-1])
    return times


def summary(times: list[float]) -> dict[str, float]:
    tenth = max(1, len(times) // 10)
    return {
        "mean_ms": round(statistics.fmean(times), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
        "first_tenth_mean_ms": round(statistics.fmean(times[:tenth]), 2),
        "last_tenth_mean_ms": round(statistics.fmean(times[-tenth:]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=600)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    canvas = Canvas()
    canvas.resize(1600, 900)
    canvas.show()
    rng = np.random.default_rng(0)
    canvas.set_frame(rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    mask[600:1600, 1000:2800] = 1.0
    canvas.show_view(compose_view(ViewOptions(), [ObjectLayer(1, (255, 64, 160), mask)], 1, None))
    canvas.tool = Tool.BRUSH
    app.processEvents()
    result: dict[str, object] = {"frame": f"{WIDTH}x{HEIGHT}", "view": "1600x900", "moves": args.moves}
    canvas.fit()
    result["fitted_hover"] = {
        "zoom": round(canvas.zoom, 3),
        **summary(stroke(canvas, args.moves, press=False)),
    }
    result["fitted"] = {"zoom": round(canvas.zoom, 3), **summary(stroke(canvas, args.moves))}
    canvas.actual_size()
    result["actual_size"] = {"zoom": round(canvas.zoom, 3), **summary(stroke(canvas, args.moves))}
    emit(result)


if __name__ == "__main__":
    main()
