"""A box prompt on the canvas: its rectangle, and handles on its corners and edges while the box tool can edit it.

Where a press grabs the box is decided by `roto.editor.tools.pick_box_edges` (within `PICK_RADIUS` screen pixels of
an edge, inside it to move); the handles only show the user where those places are, at one size at every zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from roto.editor.tools import Rect

BOX_COLOUR = QColor(255, 210, 60)
HANDLE_SIZE = 7.0  # screen pixels


class BoxPromptItem(QGraphicsRectItem):
    """One box prompt in frame pixels, with eight handles (corners and edge middles) shown on request."""

    def __init__(self, rect: Rect) -> None:
        super().__init__()
        pen = QPen(BOX_COLOUR, 1.5)
        pen.setCosmetic(True)
        self.setPen(pen)
        half = HANDLE_SIZE / 2
        self.box: Rect = rect
        self._handles = []
        for _ in range(8):
            handle = QGraphicsRectItem(-half, -half, HANDLE_SIZE, HANDLE_SIZE, self)
            handle.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            handle.setPen(QPen(QColor(30, 30, 30), 1.0))
            handle.setBrush(QBrush(BOX_COLOUR))
            self._handles.append(handle)
        self.set_box(rect)

    def set_box(self, rect: Rect) -> None:
        """Move the box (and its handles) to `rect`: left, top, right, bottom."""
        x0, y0, x1, y1 = self.box = rect
        self.setRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        xs, ys = (x0, (x0 + x1) / 2, x1), (y0, (y0 + y1) / 2, y1)
        places = [(x, y) for y in ys for x in xs if (x, y) != (xs[1], ys[1])]
        for handle, (x, y) in zip(self._handles, places, strict=True):
            handle.setPos(x, y)

    def show_handles(self, shown: bool) -> None:
        for handle in self._handles:
            handle.setVisible(shown)
