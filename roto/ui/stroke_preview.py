"""The brush stroke being painted, drawn so that each mouse move costs the same however long the stroke is.

One path item for the whole stroke would be re-stroked and repainted over its whole (growing) bounding box at
every move: at 4K, 1 ms a move early in a stroke and 14 ms 400 moves later (benchmarks/brush_preview.py). The
stroke is therefore split into path items of at most `CHUNK` segments; a move changes only the last one, so Qt
repaints a region the size of a few segments. Consecutive items overlap at their shared point, where the
translucent preview is a little denser.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

CHUNK = 16  # segments per path item
STROKE_Z = 3.0


class StrokePreview:
    """Path items along the stroke so far, in frame pixel (scene) coordinates."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self._items: list[QGraphicsPathItem] = []
        self._path = QPainterPath()
        self._segments = 0
        self._pen = QPen()

    @property
    def end(self) -> QPointF:
        """Where the stroke drawn so far ends (the pointer's last position)."""
        return self._path.currentPosition()

    @property
    def visible(self) -> bool:
        return bool(self._items)

    def start(self, x: float, y: float, pen: QPen) -> None:
        self.clear()
        self._pen = pen
        self._new_item(QPointF(x, y))

    def extend(self, x: float, y: float) -> None:
        if not self._items:
            return
        if self._segments == CHUNK:
            self._new_item(self._path.currentPosition())
        self._path.lineTo(x, y)
        self._segments += 1
        self._items[-1].setPath(self._path)

    def clear(self) -> None:
        for item in self._items:
            self._scene.removeItem(item)
        self._items = []

    def _new_item(self, at: QPointF) -> None:
        self._path = QPainterPath(at)
        self._path.lineTo(at)  # a dab before the first move shows too
        self._segments = 0
        item = QGraphicsPathItem(self._path)
        item.setPen(self._pen)
        item.setZValue(STROKE_Z)
        self._scene.addItem(item)
        self._items.append(item)
