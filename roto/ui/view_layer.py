"""The canvas items that show a composed view (roto.editor.views): the picture over the frame and the outlines.

Outlines are path items with cosmetic pens, whose width is in screen pixels: at any zoom they are at least
`OUTLINE_PX` screen pixels wide, where an outline burnt into the full-resolution picture would vanish when
zoomed out. Onion-skin outlines of later frames are dashed, of earlier frames solid. A picture composed for the
visible part of the frame only is placed and scaled over that part.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainterPath, QPen, QPixmap, QPolygonF, QTransform
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene

from roto.editor.views import Outline, ViewImage

OUTLINE_PX = 1.5  # screen pixels
CURRENT_OUTLINE_PX = 2.0
PICTURE_Z, OUTLINE_Z = 1.0, 1.5  # above the frame (0), below prompts (2) and gestures (3)


def rgba_pixmap(rgba: np.ndarray) -> QPixmap:
    """A pixmap of a premultiplied RGBA array (copied: the array may go away)."""
    height, width = rgba.shape[:2]
    data = np.ascontiguousarray(rgba)
    image = QImage(data.data, width, height, width * 4, QImage.Format.Format_RGBA8888_Premultiplied)
    return QPixmap.fromImage(image.copy())


def outline_path(outline: Outline) -> QPainterPath:
    path = QPainterPath()
    for polygon in outline.polygons:
        path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in polygon]))
        path.closeSubpath()
    return path


def outline_pen(outline: Outline) -> QPen:
    color = QColor(*outline.color)
    color.setAlphaF(outline.opacity)
    width = CURRENT_OUTLINE_PX if outline.current and not outline.offset else OUTLINE_PX
    pen = QPen(color, width, Qt.PenStyle.DashLine if outline.offset > 0 else Qt.PenStyle.SolidLine)
    pen.setCosmetic(True)
    return pen


class ViewLayer:
    """The picture item and one path item per outline, replaced whenever the view is recomposed."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self.picture = QGraphicsPixmapItem()
        self.picture.setZValue(PICTURE_Z)
        scene.addItem(self.picture)
        self.outlines: list[QGraphicsPathItem] = []

    def show(self, view: ViewImage | None) -> None:
        """Show `view` (None: nothing over the frame)."""
        picture = None if view is None else view.picture
        self.picture.setPixmap(QPixmap() if picture is None else rgba_pixmap(picture))
        viewport = None if view is None else view.viewport
        self.picture.setPos(*((0, 0) if viewport is None else (viewport.x, viewport.y)))
        self.picture.setTransform(QTransform() if viewport is None else QTransform.fromScale(*viewport.scale))
        for item in self.outlines:
            self._scene.removeItem(item)
        self.outlines = []
        for outline in () if view is None else view.outlines:
            item = QGraphicsPathItem(outline_path(outline))
            item.setPen(outline_pen(outline))
            item.setZValue(OUTLINE_Z)
            self._scene.addItem(item)
            self.outlines.append(item)
