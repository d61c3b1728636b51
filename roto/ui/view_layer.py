"""The canvas items that show a composed view (roto.editor.views): the picture over the frame and the outlines.

Outlines are path items with cosmetic pens, whose width is in screen pixels: at any zoom they are at least
`OUTLINE_PX` screen pixels wide, where an outline burnt into the full-resolution picture would vanish when
zoomed out. Onion-skin outlines of later frames are dashed, of earlier frames solid. A picture composed for the
visible part of the frame only is placed and scaled over that part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, Qt
from PySide6.QtGui import QColor, QImage, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene

from roto.editor.views import Outline, ViewImage, Viewport

OUTLINE_PX = 1.5  # screen pixels
CURRENT_OUTLINE_PX = 2.0
PICTURE_Z, OUTLINE_Z = 1.0, 1.5  # above the frame (0), below prompts (2) and gestures (3)
PROPOSAL_Z = 1.8  # Propose Objects' outlines: above the objects' own


def rgba_image(rgba: np.ndarray) -> QImage:
    """A QImage of a premultiplied RGBA array (copied: the array may go away)."""
    height, width = rgba.shape[:2]
    data = np.ascontiguousarray(rgba)
    return QImage(data.data, width, height, width * 4, QImage.Format.Format_RGBA8888_Premultiplied).copy()


_ELEMENT = np.dtype([("type", ">i4"), ("x", ">f8"), ("y", ">f8")])  # QPainterPath's QDataStream record


def outline_path(outline: Outline) -> QPainterPath:
    """The closed polygons as one path, read from QPainterPath's stream format built with numpy.

    A noisy mask's edge has thousands of points: one QPointF each from Python took 1.4 s of a 4K click's GUI
    time (22 outlines); the stream reads them at C speed (about 25 times faster) into the same path. The
    elements of all polygons are laid out at once, not polygon by polygon: a noisy mask has thousands of them.
    """
    polygons = [polygon for polygon in outline.polygons if len(polygon)]
    if not polygons:
        return QPainterPath()
    sizes = np.array([len(polygon) for polygon in polygons])
    points = np.concatenate(polygons)
    firsts = np.cumsum(sizes) - sizes  # each polygon's first point
    closes = np.cumsum(sizes + 1) - 1  # each polygon's last element: a line back to its first point
    at = np.arange(len(points)) + np.repeat(np.arange(len(sizes)), sizes)  # point i's element
    elements = np.empty(len(points) + len(sizes), _ELEMENT)
    elements["type"] = QPainterPath.ElementType.LineToElement.value
    elements["type"][closes - sizes] = QPainterPath.ElementType.MoveToElement.value
    elements["x"][at], elements["y"][at] = points[:, 0], points[:, 1]
    elements["x"][closes], elements["y"][closes] = points[firsts, 0], points[firsts, 1]
    count, tail = np.array([len(elements)], ">i4"), np.array([0, 0], ">i4")  # start of last subpath, odd-even
    path = QPainterPath()
    QDataStream(QByteArray(count.tobytes() + elements.tobytes() + tail.tobytes())) >> path
    return path


def outline_pen(outline: Outline) -> QPen:
    color = QColor(*outline.color)
    color.setAlphaF(outline.opacity)
    width = CURRENT_OUTLINE_PX if outline.current and not outline.offset else OUTLINE_PX
    pen = QPen(color, width, Qt.PenStyle.DashLine if outline.offset > 0 else Qt.PenStyle.SolidLine)
    pen.setCosmetic(True)
    return pen


def replace_outlines(
    scene: QGraphicsScene, items: list[QGraphicsPathItem], outlines: Sequence[Outline], z: float
) -> list[QGraphicsPathItem]:
    """Take `items` off the scene and put one path item per outline on it at height `z`; the new items."""
    return replace_paths(
        scene, items, [(outline_path(outline), outline_pen(outline)) for outline in outlines], z
    )


def replace_paths(
    scene: QGraphicsScene,
    items: list[QGraphicsPathItem],
    paths: Sequence[tuple[QPainterPath, QPen]],
    z: float,
) -> list[QGraphicsPathItem]:
    """`replace_outlines` for outlines already made into paths and pens (`PreparedView`)."""
    for item in items:
        scene.removeItem(item)
    added = []
    for path, pen in paths:
        item = QGraphicsPathItem(path)
        item.setPen(pen)
        item.setZValue(z)
        scene.addItem(item)
        added.append(item)
    return added


@dataclass(frozen=True)
class PreparedView:
    """A composed view turned into what Qt draws: the picture as an image, each outline as a path and pen.

    QImage and QPainterPath may be made on any thread (unlike QPixmap and scene items), so a composing thread
    prepares the view and the GUI thread only hands the image to a pixmap and the paths to items.
    """

    picture: QImage | None
    outlines: tuple[tuple[QPainterPath, QPen], ...]
    viewport: Viewport | None

    @classmethod
    def of(cls, view: ViewImage) -> PreparedView:
        picture = None if view.picture is None else rgba_image(view.picture)
        outlines = tuple((outline_path(outline), outline_pen(outline)) for outline in view.outlines)
        return cls(picture, outlines, view.viewport)


class ViewLayer:
    """The picture item and one path item per outline, replaced whenever the view is recomposed."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self.picture = QGraphicsPixmapItem()
        self.picture.setZValue(PICTURE_Z)
        scene.addItem(self.picture)
        self.outlines: list[QGraphicsPathItem] = []

    def show(self, view: ViewImage | PreparedView | None) -> None:
        """Show `view` (None: nothing over the frame)."""
        if isinstance(view, ViewImage):
            view = PreparedView.of(view)
        picture = None if view is None else view.picture
        self.picture.setPixmap(QPixmap() if picture is None else QPixmap.fromImage(picture))
        viewport = None if view is None else view.viewport
        self.picture.setPos(*((0, 0) if viewport is None else (viewport.x, viewport.y)))
        self.picture.setTransform(QTransform() if viewport is None else QTransform.fromScale(*viewport.scale))
        self.outlines = replace_paths(
            self._scene, self.outlines, () if view is None else view.outlines, OUTLINE_Z
        )
