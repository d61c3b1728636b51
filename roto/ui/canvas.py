"""The frame view: the picture, the mask overlay, the prompts, and the mouse tools (points, box, brush, eraser).

Scene coordinates are frame pixel coordinates (the frame pixmap sits at the origin, unscaled), so a mouse
position maps to a prompt with one `mapToScene` and zoom never changes what a click means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from roto.project import Box, FramePrompts

OVERLAY_OPACITY = 0.45
OUTLINE_PX = 2
MARKER_RADIUS = 5.0
PICK_RADIUS = 9.0  # screen pixels within which a ctrl-click hits a point
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 32.0
POSITIVE = QColor(60, 220, 90)
NEGATIVE = QColor(235, 60, 60)
DRAG_THRESHOLD = 3  # screen pixels a point must travel before a press on it becomes a drag
BRUSH_RADIUS = 12.0
MIN_BRUSH, MAX_BRUSH = 1.0, 500.0
BRUSH_STEP = 1.25


class Tool(StrEnum):
    POINT = "point"
    BOX = "box"
    BRUSH = "brush"
    ERASER = "eraser"


def paint_stroke(
    mask: np.ndarray, points: Sequence[tuple[float, float]], radius: float, value: bool
) -> np.ndarray:
    """A copy of `mask` with a round brush of `radius` frame pixels dragged through `points` (set or cleared)."""
    painted = mask.astype(np.uint8)
    centres = np.round(np.asarray(points, np.float64)).astype(np.int32).reshape(-1, 2)
    r = max(0, round(radius))
    fill = int(value)
    for x, y in centres:
        cv2.circle(painted, (int(x), int(y)), r, fill, -1)
    if len(centres) > 1:
        cv2.polylines(painted, [centres.reshape(-1, 1, 2)], False, fill, max(1, 2 * r + 1))
    return painted.astype(bool)


@dataclass(frozen=True)
class ObjectMask:
    """One object's mask to draw, in its colour."""

    mask: np.ndarray  # bool (H, W)
    color: tuple[int, int, int]


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be a read-only cached frame)."""
    height, width = rgb.shape[:2]
    data = np.ascontiguousarray(rgb)
    return QImage(data.data, width, height, data.strides[0], QImage.Format.Format_RGB888).copy()


def compose_overlay(masks: Sequence[ObjectMask], shape: tuple[int, int]) -> np.ndarray:
    """Premultiplied RGBA (H, W, 4): translucent fill plus an opaque outline per object, later ones on top."""
    overlay = np.zeros((*shape, 4), np.uint8)
    kernel = np.ones((2 * OUTLINE_PX + 1, 2 * OUTLINE_PX + 1), np.uint8)
    fill_alpha = round(255 * OVERLAY_OPACITY)
    for item in masks:
        mask8 = item.mask.astype(np.uint8)
        fill = item.mask
        outline = cv2.morphologyEx(mask8, cv2.MORPH_GRADIENT, kernel).astype(bool) & fill
        color = np.array(item.color, np.float32)
        overlay[fill] = (*np.round(color * OVERLAY_OPACITY).astype(np.uint8), fill_alpha)
        overlay[outline] = (*color.astype(np.uint8), 255)
    return overlay


class Canvas(QGraphicsView):
    """Shows a frame; left click adds an object point, right- or alt-click a background point, drag a box,
    drag a point to move it, paint with the brush or eraser."""

    point_added = Signal(float, float, int)  # x, y, label
    box_drawn = Signal(float, float, float, float)
    prompt_delete_requested = Signal(str, int)  # "points"/"boxes", index
    point_moved = Signal(int, float, float)  # index, new x, new y (after a drag)
    stroke_finished = Signal(object, float, bool)  # [(x, y), ...] in frame pixels, radius, erase
    brush_changed = Signal(float)  # radius in frame pixels
    zoom_changed = Signal(float)
    space_tapped = Signal()  # Space pressed and released without panning: play/pause

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(32, 33, 36))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # dropped files are for the window, which opens them
        self.viewport().setAcceptDrops(False)
        self._frame_item = QGraphicsPixmapItem()
        self._frame_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self._overlay_item = QGraphicsPixmapItem()
        self._overlay_item.setZValue(1)
        self.scene().addItem(self._frame_item)
        self.scene().addItem(self._overlay_item)
        self._prompt_items: list[QGraphicsItem] = []
        self._rubber = QGraphicsRectItem()
        self._rubber.setPen(_cosmetic_pen(QColor(255, 255, 255), Qt.PenStyle.DashLine))
        self._rubber.setZValue(3)
        self._rubber.hide()
        self.scene().addItem(self._rubber)
        self._stroke_item = QGraphicsPathItem()
        self._stroke_item.setZValue(3)
        self.scene().addItem(self._stroke_item)
        self._brush_cursor = QGraphicsEllipseItem()
        self._brush_cursor.setPen(_cosmetic_pen(QColor(255, 255, 255)))
        self._brush_cursor.setZValue(5)
        self._brush_cursor.hide()
        self.scene().addItem(self._brush_cursor)
        self._tool = Tool.POINT
        self.brush_radius = BRUSH_RADIUS
        self._stroke: list[tuple[float, float]] | None = None
        self._erasing = False
        self._dragged: tuple[int, QPointF] | None = None  # point index, press position (widget)
        self._point_items: list[QGraphicsEllipseItem] = []
        self._points: list[tuple[float, float, int]] = []
        self._frame_size: tuple[int, int] | None = None  # (width, height)
        self._drag_start: QPointF | None = None
        self._pan_from: QPoint | None = None
        self._space_held = False
        self._panned = False
        self._fitted = True

    # -- content -------------------------------------------------------------------------------------

    def set_frame(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        first = self._frame_size != (width, height)
        self._frame_size = (width, height)
        self._frame_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
        self.scene().setSceneRect(QRectF(0, 0, width, height))
        if first or self._fitted:
            self.fit()

    def clear_frame(self) -> None:
        self._frame_size = None
        self._frame_item.setPixmap(QPixmap())
        self._overlay_item.setPixmap(QPixmap())
        self.set_prompts(FramePrompts(), pending=False)

    def set_masks(self, masks: Sequence[ObjectMask]) -> None:
        if self._frame_size is None or not masks:
            self._overlay_item.setPixmap(QPixmap())
            return
        width, height = self._frame_size
        rgba = compose_overlay(masks, (height, width))
        image = QImage(rgba.data, width, height, width * 4, QImage.Format.Format_RGBA8888_Premultiplied)
        self._overlay_item.setPixmap(QPixmap.fromImage(image.copy()))

    def set_prompts(self, prompts: FramePrompts, pending: bool) -> None:
        """Draw the current object's points and boxes; pending ones (mask on its way) are drawn hollow."""
        if self._dragged is not None:
            return  # a drag in progress owns the markers until it is released
        for item in self._prompt_items:
            self.scene().removeItem(item)
        self._points = [(p.x, p.y, p.label) for p in prompts.points]
        self._point_items = [self._marker(x, y, label, pending) for x, y, label in self._points]
        self._prompt_items = [self._box_item(box) for box in prompts.boxes] + list(self._point_items)

    def _box_item(self, box: Box) -> QGraphicsRectItem:
        item = QGraphicsRectItem(QRectF(QPointF(box.x0, box.y0), QPointF(box.x1, box.y1)).normalized())
        item.setPen(_cosmetic_pen(QColor(255, 210, 60)))
        item.setZValue(2)
        self.scene().addItem(item)
        return item

    def _marker(self, x: float, y: float, label: int, pending: bool) -> QGraphicsEllipseItem:
        r = MARKER_RADIUS
        item = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        item.setPos(x, y)
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        color = POSITIVE if label == 1 else NEGATIVE
        item.setPen(QPen(color if pending else QColor(255, 255, 255), 1.5))
        item.setBrush(QBrush(Qt.BrushStyle.NoBrush) if pending else QBrush(color))
        item.setZValue(4)
        self.scene().addItem(item)
        return item

    # -- tools ---------------------------------------------------------------------------------------

    @property
    def tool(self) -> Tool:
        return self._tool

    @tool.setter
    def tool(self, tool: Tool) -> None:
        self._tool = tool
        self._brush_cursor.setVisible(False)

    def scale_brush(self, factor: float) -> None:
        """[ and ] : the brush radius in frame pixels, so a size suits the footage whatever the zoom."""
        self.brush_radius = min(MAX_BRUSH, max(MIN_BRUSH, self.brush_radius * factor))
        self._update_brush_cursor(
            self._brush_cursor.rect().center() if self._brush_cursor.isVisible() else None
        )
        self.brush_changed.emit(self.brush_radius)

    def _painting_tool(self) -> bool:
        return self._tool in (Tool.BRUSH, Tool.ERASER)

    def _update_brush_cursor(self, centre: QPointF | None) -> None:
        if centre is None or not self._painting_tool():
            self._brush_cursor.hide()
            return
        r = self.brush_radius
        self._brush_cursor.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        self._brush_cursor.show()

    def _stroke_pen(self) -> QPen:
        color = QColor(235, 60, 60, 150) if self._erasing else QColor(255, 255, 255, 150)
        pen = QPen(color, 2 * self.brush_radius + 1)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _draw_stroke(self) -> None:
        assert self._stroke is not None
        path = QPainterPath(QPointF(*self._stroke[0]))
        for x, y in self._stroke[1:] or self._stroke:
            path.lineTo(x, y)
        self._stroke_item.setPen(self._stroke_pen())
        self._stroke_item.setPath(path)

    # -- view ----------------------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        self._fitted = True
        if self._frame_size is not None:
            self.fitInView(self._frame_item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    def actual_size(self) -> None:
        self._fitted = False
        self.resetTransform()
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        self._fitted = False
        self.scale(target / self.zoom, target / self.zoom)
        self.zoom_changed.emit(self.zoom)

    def image_to_view(self, x: float, y: float) -> QPoint:
        """Widget position of a frame pixel coordinate (tests aim their clicks with it)."""
        return self.mapFromScene(QPointF(x, y))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        event.accept()

    # -- mouse tools ---------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self._panned = False
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().unsetCursor()
            if not self._panned:
                self.space_tapped.emit()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if self._frame_size is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        modifiers = event.modifiers()
        scene = self.mapToScene(event.position().toPoint())
        negative = button == Qt.MouseButton.RightButton or bool(modifiers & Qt.KeyboardModifier.AltModifier)
        if self._painting_tool():
            # Right button or Alt with the brush erases (and paints with the eraser): no tool switch mid-task.
            self._erasing = (self._tool == Tool.ERASER) != negative
            self._stroke = [(scene.x(), scene.y())]
            self._draw_stroke()
            self._stroke_item.show()
            event.accept()
            return
        hit = self._point_at(event.position())
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            if hit is not None:
                self.prompt_delete_requested.emit("points", hit)
            event.accept()
            return
        if hit is not None and button == Qt.MouseButton.LeftButton and self._tool == Tool.POINT:
            self._dragged = (hit, event.position())
            event.accept()
            return
        if self._tool == Tool.BOX and button == Qt.MouseButton.LeftButton and not negative:
            self._drag_start = self._clamped(scene)
            self._rubber.setRect(QRectF(self._drag_start, self._drag_start))
            self._rubber.show()
        elif self._inside(scene):
            self.point_added.emit(scene.x(), scene.y(), 0 if negative else 1)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            self._fitted = False
            self._panned = True
            return
        scene = self.mapToScene(event.position().toPoint())
        if self._drag_start is not None:
            self._rubber.setRect(QRectF(self._drag_start, self._clamped(scene)).normalized())
            return
        if self._stroke is not None:
            self._stroke.append((scene.x(), scene.y()))
            self._draw_stroke()
        if self._dragged is not None:
            index, _ = self._dragged
            if self._frame_size is not None:
                self._point_items[index].setPos(self._clamped(scene))
            return
        self._update_brush_cursor(scene)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            return
        if self._drag_start is not None:
            rect = self._rubber.rect()
            self._rubber.hide()
            self._drag_start = None
            if rect.width() >= 2 and rect.height() >= 2:  # a click with the box tool is not a box
                self.box_drawn.emit(rect.left(), rect.top(), rect.right(), rect.bottom())
            return
        if self._stroke is not None:
            stroke, self._stroke = self._stroke, None
            self._stroke_item.hide()
            self.stroke_finished.emit(stroke, self.brush_radius, self._erasing)
            return
        if self._dragged is not None:
            index, pressed = self._dragged
            self._dragged = None
            if (event.position() - pressed).manhattanLength() >= DRAG_THRESHOLD:
                end = self._clamped(self.mapToScene(event.position().toPoint()))
                self.point_moved.emit(index, end.x(), end.y())
            else:  # a click on a point is not a drag: put the marker back
                x, y, _ = self._points[index]
                self._point_items[index].setPos(x, y)
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._brush_cursor.hide()
        super().leaveEvent(event)

    def _inside(self, scene: QPointF) -> bool:
        assert self._frame_size is not None
        width, height = self._frame_size
        return 0 <= scene.x() < width and 0 <= scene.y() < height

    def _clamped(self, scene: QPointF) -> QPointF:
        assert self._frame_size is not None
        width, height = self._frame_size
        return QPointF(min(max(scene.x(), 0.0), width - 1.0), min(max(scene.y(), 0.0), height - 1.0))

    def _point_at(self, position: QPointF) -> int | None:
        """Index of the point drawn nearest the cursor, if within PICK_RADIUS screen pixels."""
        best: tuple[float, int] | None = None
        for index, (x, y, _) in enumerate(self._points):
            on_screen = QPointF(self.mapFromScene(QPointF(x, y)))
            distance = (on_screen - position).manhattanLength()
            if distance <= PICK_RADIUS and (best is None or distance < best[0]):
                best = (distance, index)
        return None if best is None else best[1]


def _cosmetic_pen(color: QColor, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, 1.5, style)
    pen.setCosmetic(True)
    return pen
