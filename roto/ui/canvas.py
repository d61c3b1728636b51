"""The frame view: the picture, the mask overlay, the prompts, and the mouse tools (points, box, brush, eraser).

Scene coordinates are frame pixel coordinates (the frame pixmap sits at the origin, unscaled), so a mouse
position maps to a prompt with one `mapToScene` and zoom never changes what a click means. The canvas says which
part of the frame it shows (`visible_viewport`) and when that changed (`viewport_changed`, once a zoom or pan
settles), so the view over the frame is composed for the screen, not the frame. What the tools do
with a press, move or release is decided by `roto.editor.tools` (no Qt); the canvas turns Qt mouse events into
its `PointerEvent`s, draws the gesture in progress and emits a signal for each result. Panning stays here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QTransform,
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

from roto.editor import tools
from roto.editor.brush import Brush
from roto.editor.views import Outline, ViewImage, Viewport
from roto.project import FramePrompts
from roto.ui.prompt_markers import PromptMarkers
from roto.ui.stroke_preview import StrokePreview
from roto.ui.view_layer import PROPOSAL_Z, PreparedView, ViewLayer, replace_outlines

_Item = TypeVar("_Item", bound=QGraphicsItem)

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 32.0
VIEWPORT_SETTLE_MS = 60  # a zoom or pan recomposes the view once it rests this long


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be a read-only cached frame)."""
    height, width = rgb.shape[:2]
    data = np.ascontiguousarray(rgb)
    return QImage(data.data, width, height, data.strides[0], QImage.Format.Format_RGB888).copy()


class Canvas(QGraphicsView):
    """Shows a frame; left click adds an object point, right- or alt-click a background point, drag a box,
    drag a point to move it, paint with the brush or eraser."""

    point_added = Signal(float, float, int)  # x, y, label
    box_drawn = Signal(float, float, float, float)
    prompt_delete_requested = Signal(str, int)  # "points"/"boxes", index
    point_moved = Signal(int, float, float)  # index, new x, new y (after a drag)
    box_moved = Signal(int, float, float, float, float)  # index, new left, top, right, bottom
    stroke_finished = Signal(object, float, bool, bool)  # [(x, y), ...] in frame pixels, radius, erase, soft
    brush_changed = Signal(object)  # the Brush
    zoom_changed = Signal(float)
    space_tapped = Signal()  # Space pressed and released without panning: play/pause
    viewport_changed = Signal()  # the visible part of the frame or its zoom changed, and has settled
    proposal_clicked = Signal(
        float, float, bool
    )  # x, y in frame pixels, Shift held: while proposals are shown

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
        self._frame_item = self._add(QGraphicsPixmapItem(), 0)
        self._frame_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        # Scaled once per frame or zoom, not on every repaint: drawing a 4K pixmap scaled took ~30-80 ms a paint.
        self._frame_item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.view_layer = ViewLayer(self.scene())  # the composed view: picture and outlines
        self.markers = PromptMarkers(self.scene())  # the current object's points and boxes
        self._proposal_items: list[QGraphicsPathItem] = []
        self.picking = False  # proposals are shown: a left click picks one, the tools wait
        self._rubber = self._add(QGraphicsRectItem(), 3, visible=False)  # the box tool's rubber band
        self._rubber.setPen(_cosmetic_pen(QColor(255, 255, 255), Qt.PenStyle.DashLine))
        self._stroke = StrokePreview(self.scene())  # the stroke being painted
        self._brush_cursor = self._add(QGraphicsEllipseItem(), 5, visible=False)
        self._brush_cursor.setPen(_cosmetic_pen(QColor(255, 255, 255)))
        self._tools = tools.CanvasTools()
        self.brush = Brush()
        self._frame_size: tuple[int, int] | None = None  # (width, height)
        self._pan_from: QPoint | None = None
        self._space_held = False
        self._panned = False
        self._fitted = True
        self._settle = QTimer(self, singleShot=True, interval=VIEWPORT_SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        self._shown_viewport: Viewport | None = None  # what the view on screen was composed for
        self.zoom_changed.connect(self._settle.start)
        self.horizontalScrollBar().valueChanged.connect(self._settle.start)
        self.verticalScrollBar().valueChanged.connect(self._settle.start)

    def _add(self, item: _Item, z: float, visible: bool = True) -> _Item:
        item.setZValue(z)
        item.setVisible(visible)
        self.scene().addItem(item)
        return item

    # -- content -------------------------------------------------------------------------------------

    def set_frame(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> None:
        """Show a frame; a preview smaller than the frame's `size` (width, height) is stretched over it."""
        width, height = size if size is not None else (rgb.shape[1], rgb.shape[0])
        first = self._frame_size != (width, height)
        self._frame_size = (width, height)
        self._frame_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
        self._frame_item.setTransform(QTransform.fromScale(width / rgb.shape[1], height / rgb.shape[0]))
        self.scene().setSceneRect(QRectF(0, 0, width, height))
        if first or self._fitted:
            self.fit()

    def show_view(self, view: ViewImage | PreparedView | None) -> None:
        """Lay a composed view (roto.editor.views), or one prepared for Qt, over the frame; None clears it."""
        self.view_layer.show(view if self._frame_size is not None else None)
        self._shown_viewport = None if view is None else view.viewport

    def show_proposals(self, outlines: Sequence[Outline] | None) -> None:
        """Propose Objects' outlines over everything (None: none shown); while shown, left clicks pick them."""
        self._proposal_items = replace_outlines(
            self.scene(), self._proposal_items, outlines or (), PROPOSAL_Z
        )
        self.picking = outlines is not None

    def _settled(self) -> None:
        """A zoom, pan or resize came to rest: ask for a new view only if it shows another part or size."""
        if self._frame_size is not None and self.visible_viewport() != self._shown_viewport:
            self.viewport_changed.emit()

    def set_prompts(self, prompts: FramePrompts, pending: bool) -> None:
        """Draw the current object's points and boxes; pending ones (mask on its way) are drawn hollow."""
        if isinstance(self._tools.gesture, tools.PointDrag | tools.BoxEdit):
            return  # a drag in progress owns the markers until it is released
        self.markers.show(prompts, pending, box_handles=self.tool == tools.Tool.BOX)

    # -- tools (their rules are roto.editor.tools; the canvas maps Qt events to them and draws) ---------

    @property
    def tool(self) -> tools.Tool:
        return self._tools.tool

    @tool.setter
    def tool(self, tool: tools.Tool) -> None:
        self._tools.tool = tool
        self._brush_cursor.setVisible(False)
        self.markers.show_box_handles(tool == tools.Tool.BOX)

    @property
    def brush_radius(self) -> float:
        """In frame pixels, at the current zoom (the brush's size may be in screen pixels)."""
        return self.brush.frame_radius(self.zoom)

    def scale_brush(self, factor: float) -> None:
        """[ and ] : a larger or smaller brush, in the brush's own units."""
        self.set_brush(self.brush.scaled(factor))

    def set_brush(self, brush: Brush) -> None:
        self.brush = brush
        self._tools.brush_radius = self.brush_radius  # [ or ] mid-stroke changes the stroke, as it always did
        self._update_brush_cursor(
            self._brush_cursor.rect().center() if self._brush_cursor.isVisible() else None
        )
        self.brush_changed.emit(brush)

    def _update_brush_cursor(self, centre: QPointF | None) -> None:
        if centre is None or not self.tool.paints or self.picking:
            self._brush_cursor.hide()
            return
        r = self.brush_radius
        self._brush_cursor.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        self._brush_cursor.show()

    # -- view ----------------------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """The shown frame's width and height (a preview is stretched to it); None before any frame."""
        return self._frame_size

    def visible_viewport(self) -> Viewport | None:
        """The part of the frame on screen and the device pixels it covers (None before a frame or off screen)."""
        if self._frame_size is None:
            return None
        rect = self.mapToScene(self.viewport().rect()).boundingRect()
        width, height = self._frame_size
        corners = (rect.left(), rect.top(), rect.right(), rect.bottom())
        return Viewport.visible((height, width), corners, self.zoom * self.devicePixelRatioF())

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
        self._settle.start()
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

    def _pointer(self, event: QMouseEvent, button: tools.Button = tools.Button.LEFT) -> tools.PointerEvent:
        """The event in frame pixels, with the zoom that turns the tools' screen-pixel thresholds into them."""
        scene, modifiers = self.mapToScene(event.position().toPoint()), event.modifiers()
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        alt = bool(modifiers & Qt.KeyboardModifier.AltModifier)
        return tools.PointerEvent(scene.x(), scene.y(), button, ctrl=ctrl, alt=alt, zoom=self.zoom)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if self._frame_size is None or button not in _BUTTONS:
            return
        if self.picking:
            if button == Qt.MouseButton.LeftButton:
                at = self.mapToScene(event.position().toPoint())
                shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.proposal_clicked.emit(at.x(), at.y(), shift)
            event.accept()
            return
        pointer = self._pointer(event, _BUTTONS[button])
        points = [(x, y) for x, y, _ in self.markers.points]
        self._tools.brush_radius = self.brush_radius  # in frame pixels at this zoom, for the whole stroke
        self._emit(self._tools.press(pointer, tools.Frame(*self._frame_size), points, self.markers.boxes))
        self._draw_gesture(self._tools.gesture)
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
        pointer = self._pointer(event)
        gesture = self._tools.move(pointer)
        if gesture is not None:
            self._draw_gesture(gesture)
            if not isinstance(gesture, tools.Painting):
                return
        self._update_brush_cursor(QPointF(pointer.x, pointer.y))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            return
        gesture = self._tools.gesture
        if gesture is None or event.button() not in _BUTTONS:
            super().mouseReleaseEvent(event)
            return
        result = self._tools.release(self._pointer(event, _BUTTONS[event.button()]))
        if self._tools.gesture is not None:
            return  # the other button came up: the gesture goes on
        self._rubber.hide()
        self._stroke.clear()
        if isinstance(gesture, tools.PointDrag) and not isinstance(result, tools.MovePoint):
            self.markers.restore_point(
                gesture.index
            )  # a click on a point is not a drag: the marker goes back
        if isinstance(gesture, tools.BoxEdit) and not isinstance(result, tools.MoveBox):
            self.markers.set_box(gesture.index, gesture.original)  # not a drag: put the box back
        self._emit(result)

    def _emit(self, result: tools.ToolResult | None) -> None:
        """Tell the window what a tool did, with the signals it has always had."""
        if isinstance(result, tools.AddPoint):
            self.point_added.emit(result.x, result.y, result.label)
        elif isinstance(result, tools.DeletePoint):
            self.prompt_delete_requested.emit("points", result.index)
        elif isinstance(result, tools.DrawBox):
            self.box_drawn.emit(result.x0, result.y0, result.x1, result.y1)
        elif isinstance(result, tools.MovePoint):
            self.point_moved.emit(result.index, result.x, result.y)
        elif isinstance(result, tools.MoveBox):
            self.box_moved.emit(result.index, result.x0, result.y0, result.x1, result.y1)
        elif isinstance(result, tools.Stroke):
            self.stroke_finished.emit(list(result.points), result.radius, result.erase, self.brush.soft)

    def _draw_gesture(self, gesture: tools.ToolGesture | None) -> None:
        """The rubber band, the dragged marker or the stroke so far."""
        if isinstance(gesture, tools.BoxDrag):
            x0, y0, x1, y1 = gesture.rect
            self._rubber.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self._rubber.show()
        elif isinstance(gesture, tools.PointDrag):
            self.markers.move_point(gesture.index, *gesture.at)
        elif isinstance(gesture, tools.BoxEdit):
            self.markers.set_box(gesture.index, gesture.rect)
        elif isinstance(gesture, tools.Painting):
            self._draw_stroke(gesture)

    def _draw_stroke(self, gesture: tools.Painting) -> None:
        """The stroke so far, one segment more per move (roto.ui.stroke_preview keeps that cost flat)."""
        if len(gesture.points) == 1:
            alpha = 110 if self.brush.soft else 150
            color = QColor(235, 60, 60, alpha) if gesture.erase else QColor(255, 255, 255, alpha)
            pen = QPen(color, 2 * self._tools.brush_radius + 1)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            self._stroke.start(*gesture.points[0], pen)
        else:
            self._stroke.extend(*gesture.points[-1])

    def leaveEvent(self, event: QEvent) -> None:
        self._brush_cursor.hide()
        super().leaveEvent(event)


_BUTTONS = {Qt.MouseButton.LeftButton: tools.Button.LEFT, Qt.MouseButton.RightButton: tools.Button.RIGHT}


def _cosmetic_pen(color: QColor, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, 1.5, style)
    pen.setCosmetic(True)
    return pen
