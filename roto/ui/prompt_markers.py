"""The current object's prompts drawn over the frame: point markers and box items, kept in the order of the
prompts so a tool's gesture can name one by index."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsScene

from roto.editor.tools import Rect
from roto.project import Box, FramePrompts
from roto.ui.box_item import BoxPromptItem

MARKER_RADIUS = 5.0
POSITIVE = QColor(60, 220, 90)
NEGATIVE = QColor(235, 60, 60)
_BOX_Z, _POINT_Z = 2, 4


class PromptMarkers:
    """Markers of one frame's points (filled, or hollow while their mask is on its way) and its boxes."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self.points: list[tuple[float, float, int]] = []  # x, y, label, as drawn
        self._point_items: list[QGraphicsEllipseItem] = []
        self._box_items: list[BoxPromptItem] = []

    @property
    def boxes(self) -> list[Rect]:
        return [item.box for item in self._box_items]

    def show(self, prompts: FramePrompts, pending: bool, box_handles: bool) -> None:
        for item in [*self._box_items, *self._point_items]:
            self._scene.removeItem(item)
        self.points = [(p.x, p.y, p.label) for p in prompts.points]
        self._point_items = [self._marker(x, y, label, pending) for x, y, label in self.points]
        self._box_items = [self._box_item(box, box_handles) for box in prompts.boxes]

    def show_box_handles(self, shown: bool) -> None:
        """The box tool moves and resizes boxes: their handles show where."""
        for item in self._box_items:
            item.show_handles(shown)

    def move_point(self, index: int, x: float, y: float) -> None:
        self._point_items[index].setPos(x, y)

    def restore_point(self, index: int) -> None:
        """Put a dragged marker back where its prompt is (the press was a click, not a drag)."""
        x, y, _ = self.points[index]
        self.move_point(index, x, y)

    def set_box(self, index: int, rect: Rect) -> None:
        self._box_items[index].set_box(rect)

    def _box_item(self, box: Box, handles: bool) -> BoxPromptItem:
        item = BoxPromptItem((box.x0, box.y0, box.x1, box.y1))
        item.show_handles(handles)
        item.setZValue(_BOX_Z)
        self._scene.addItem(item)
        return item

    def _marker(self, x: float, y: float, label: int, pending: bool) -> QGraphicsEllipseItem:
        r = MARKER_RADIUS
        item = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        item.setPos(x, y)
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        color = POSITIVE if label == 1 else NEGATIVE
        item.setPen(QPen(color if pending else QColor(255, 255, 255), 1.5))
        item.setBrush(QBrush(Qt.BrushStyle.NoBrush) if pending else QBrush(color))
        item.setZValue(_POINT_Z)
        self._scene.addItem(item)
        return item
