"""The canvas tools (point, box, brush, eraser) as plain Python over frame pixel coordinates.

The canvas turns each Qt mouse event into a `PointerEvent` (frame pixel position, button, modifiers, and the zoom
in screen pixels per frame pixel) and hands it to `CanvasTools.press` / `move` / `release`. Those return what the
user did as a typed `ToolResult` (`AddPoint`, `DrawBox`, `MoveBox`, `MovePoint`, `DeletePoint`, `Stroke`) or
None, and `CanvasTools.gesture` is the gesture in progress (`BoxDrag`, `BoxEdit`, `PointDrag`, `Painting`) for the
canvas to draw: the rubber band, the box being moved, the dragged marker, the stroke so far. Panning is not a
tool: it stays in the canvas.

The rules, each tested with synthetic events in tests/editor/test_tools.py:
- point tool: left click adds an object point (label 1), right click or Alt+click a background point (label 0);
  a click outside the frame adds nothing.
- a left press on a point (within `PICK_RADIUS` screen pixels) with the point tool drags it; it moves only if the
  release is at least `DRAG_THRESHOLD` screen pixels away (a click on a point changes nothing). The marker stays
  inside the frame.
- Ctrl+click on a point (point or box tool) deletes it; Ctrl+click elsewhere does nothing.
- box tool: a left drag draws a box clamped to the frame; one under `MIN_BOX` frame pixels wide or high is not a
  box. Right click or Alt+click with the box tool adds a background point.
- box tool on the current box: a left press within `PICK_RADIUS` screen pixels of an edge or a corner drags that
  edge or corner (resize), a press inside it drags the whole box (move, kept inside the frame); the release is a
  `MoveBox` if it is `DRAG_THRESHOLD` screen pixels from the press and the box is still `MIN_BOX` wide and high.
- brush / eraser: a drag is a stroke of frame positions painted with a round brush of `brush_radius` frame
  pixels; the right button or Alt does the other one (brush erases, eraser paints), so no tool switch mid-task.
  The radius is in frame pixels, `scale_brush` keeps it within `MIN_BRUSH`..`MAX_BRUSH`.

Thresholds are in screen pixels, so they feel the same at any zoom: a distance in frame pixels times the zoom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum, StrEnum

import cv2
import numpy as np

DRAG_THRESHOLD = 3.0  # screen pixels a point must travel before a press on it becomes a move
PICK_RADIUS = 9.0  # screen pixels within which a press hits a point (Manhattan distance)
MIN_BOX = 2.0  # frame pixels: a narrower or lower box tool drag is a click, not a box
BRUSH_RADIUS = 12.0  # frame pixels
MIN_BRUSH, MAX_BRUSH = 1.0, 500.0
OBJECT, BACKGROUND = 1, 0  # point labels, as in roto.project.Point


class Tool(StrEnum):
    POINT = "point"
    BOX = "box"
    BRUSH = "brush"
    ERASER = "eraser"

    @property
    def paints(self) -> bool:
        """The brush and the eraser paint the mask; the point and box tools prompt the model."""
        return self in (Tool.BRUSH, Tool.ERASER)


class Button(Enum):
    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True)
class PointerEvent:
    """A mouse event as the tools see it: position in frame pixels, button, modifiers, and the zoom."""

    x: float
    y: float
    button: Button = Button.LEFT
    ctrl: bool = False
    alt: bool = False
    zoom: float = 1.0  # screen pixels per frame pixel, to turn screen-pixel thresholds into frame pixels

    @property
    def background(self) -> bool:
        """Right button or Alt: a background point, or the other of brush and eraser."""
        return self.button == Button.RIGHT or self.alt


@dataclass(frozen=True)
class Frame:
    """The size of the frame the tools work on, in pixels."""

    width: int
    height: int

    def contains(self, x: float, y: float) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        """The nearest position on the frame's pixels."""
        return min(max(x, 0.0), self.width - 1.0), min(max(y, 0.0), self.height - 1.0)


# -- what happened ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddPoint:
    x: float
    y: float
    label: int  # OBJECT or BACKGROUND


@dataclass(frozen=True)
class DrawBox:
    x0: float  # left, top, right, bottom
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class MoveBox:
    index: int
    x0: float  # left, top, right, bottom
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class MovePoint:
    index: int
    x: float
    y: float


@dataclass(frozen=True)
class DeletePoint:
    index: int


@dataclass(frozen=True)
class Stroke:
    points: tuple[tuple[float, float], ...]  # frame pixels
    radius: float  # frame pixels
    erase: bool


ToolResult = AddPoint | DrawBox | MoveBox | MovePoint | DeletePoint | Stroke


# -- gestures in progress (what the canvas draws while the button is down) ---------------------------


@dataclass(frozen=True)
class BoxDrag:
    """The box tool's rubber band: from the press to the pointer, both clamped to the frame."""

    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """Left, top, right, bottom."""
        (ax, ay), (bx, by) = self.start, self.end
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


Rect = tuple[float, float, float, float]  # left, top, right, bottom in frame pixels
Edges = tuple[bool, bool, bool, bool]  # which of left, top, right, bottom follow the pointer
MOVE: Edges = (True, True, True, True)  # all four: the whole box moves


@dataclass(frozen=True)
class BoxEdit:
    """A box being moved or resized: its edges that follow the pointer, where it was pressed, and its rect now."""

    index: int
    edges: Edges
    pressed: tuple[float, float]
    original: Rect
    rect: Rect

    def dragged_to(self, x: float, y: float, frame: Frame) -> BoxEdit:
        """The edit with the pointer at (x, y): a moved box stays whole inside the frame, a resized one is
        clamped to it and turned the right way round if an edge was dragged past the opposite one."""
        dx, dy = x - self.pressed[0], y - self.pressed[1]
        x0, y0, x1, y1 = self.original
        if self.edges == MOVE:
            dx = min(max(dx, -x0), max(frame.width - 1.0 - x1, -x0))
            dy = min(max(dy, -y0), max(frame.height - 1.0 - y1, -y0))
            return replace(self, rect=(x0 + dx, y0 + dy, x1 + dx, y1 + dy))
        left, top, right, bottom = self.edges
        ax, ay = frame.clamp(x0 + dx if left else x0, y0 + dy if top else y0)
        bx, by = frame.clamp(x1 + dx if right else x1, y1 + dy if bottom else y1)
        return replace(self, rect=(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))


@dataclass(frozen=True)
class PointDrag:
    """A point being dragged: where it was pressed, and where its marker is now (clamped to the frame)."""

    index: int
    pressed: tuple[float, float]
    at: tuple[float, float]


@dataclass(frozen=True)
class Painting:
    """A brush or eraser stroke so far."""

    points: tuple[tuple[float, float], ...]
    erase: bool


ToolGesture = BoxDrag | BoxEdit | PointDrag | Painting


# -- rules -------------------------------------------------------------------------------------------


def screen_distance(a: tuple[float, float], b: tuple[float, float], zoom: float) -> float:
    """Manhattan distance in screen pixels between two frame positions seen at `zoom`."""
    return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * zoom


def pick_point(
    points: Sequence[tuple[float, float]], x: float, y: float, zoom: float, radius: float = PICK_RADIUS
) -> int | None:
    """Index of the point nearest (x, y) if it is within `radius` screen pixels, else None (first wins a tie)."""
    best: tuple[float, int] | None = None
    for index, point in enumerate(points):
        distance = screen_distance(point, (x, y), zoom)
        if distance <= radius and (best is None or distance < best[0]):
            best = (distance, index)
    return None if best is None else best[1]


def pick_box_edges(rect: Rect, x: float, y: float, zoom: float, radius: float = PICK_RADIUS) -> Edges | None:
    """Which edges of `rect` a press at (x, y) grabs: an edge or a corner within `radius` screen pixels (the
    nearer of two opposite edges on a thin box), all four inside it, None outside."""
    x0, y0, x1, y1 = rect
    reach = radius / zoom
    if not (x0 - reach <= x <= x1 + reach and y0 - reach <= y <= y1 + reach):
        return None
    near = [abs(x - x0), abs(y - y0), abs(x - x1), abs(y - y1)]
    edges = (
        near[0] <= reach and near[0] <= near[2],
        near[1] <= reach and near[1] <= near[3],
        near[2] <= reach and near[2] < near[0],
        near[3] <= reach and near[3] < near[1],
    )
    if any(edges):
        return edges
    return MOVE if x0 < x < x1 and y0 < y < y1 else None


def scale_brush(radius: float, factor: float) -> float:
    """The brush radius times `factor`, kept within MIN_BRUSH..MAX_BRUSH frame pixels."""
    return min(MAX_BRUSH, max(MIN_BRUSH, radius * factor))


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


class CanvasTools:
    """The current tool, the brush radius, and the gesture between a press and its release."""

    def __init__(self, tool: Tool = Tool.POINT, brush_radius: float = BRUSH_RADIUS) -> None:
        self.tool = tool
        self.brush_radius = brush_radius
        self._gesture: ToolGesture | None = None
        self._frame: Frame | None = None
        self._button = Button.LEFT  # the button that began the gesture; only its release ends it

    @property
    def gesture(self) -> ToolGesture | None:
        """The gesture in progress, or None between a release and the next press."""
        return self._gesture

    def scale_brush(self, factor: float) -> float:
        """[ and ] : the new radius, in frame pixels so a size suits the footage whatever the zoom."""
        self.brush_radius = scale_brush(self.brush_radius, factor)
        return self.brush_radius

    def cancel(self) -> None:
        """Drop the gesture in progress without a result."""
        self._gesture = None
        self._frame = None

    def press(
        self,
        event: PointerEvent,
        frame: Frame,
        points: Sequence[tuple[float, float]] = (),
        boxes: Sequence[Rect] = (),
    ) -> ToolResult | None:
        """A button went down on `frame`, whose current object has `points` and `boxes` (frame pixels).

        Returns an immediate result (a point added or deleted), or None: nothing, or a gesture has begun.
        A press of the other button while a gesture is in progress is ignored.
        """
        if self._gesture is not None:
            return None
        self._frame, self._button = frame, event.button
        position = (event.x, event.y)
        if self.tool.paints:
            self._gesture = Painting((position,), erase=(self.tool == Tool.ERASER) != event.background)
            return None
        hit = pick_point(points, event.x, event.y, event.zoom)
        if event.ctrl:
            return None if hit is None else DeletePoint(hit)
        if hit is not None and event.button == Button.LEFT and self.tool == Tool.POINT:
            self._gesture = PointDrag(hit, pressed=position, at=points[hit])
            return None
        if self.tool == Tool.BOX and not event.background:
            for index in reversed(range(len(boxes))):  # the last box is drawn on top
                edges = pick_box_edges(boxes[index], event.x, event.y, event.zoom)
                if edges is not None:
                    self._gesture = BoxEdit(index, edges, position, boxes[index], boxes[index])
                    return None
            start = frame.clamp(*position)
            self._gesture = BoxDrag(start, start)
            return None
        if frame.contains(*position):
            return AddPoint(event.x, event.y, BACKGROUND if event.background else OBJECT)
        return None

    def move(self, event: PointerEvent) -> ToolGesture | None:
        """The pointer moved: the gesture in progress, updated (None when there is none)."""
        gesture, frame = self._gesture, self._frame
        if gesture is None or frame is None:
            return None
        if isinstance(gesture, BoxDrag):
            gesture = replace(gesture, end=frame.clamp(event.x, event.y))
        elif isinstance(gesture, BoxEdit):
            gesture = gesture.dragged_to(event.x, event.y, frame)
        elif isinstance(gesture, PointDrag):
            gesture = replace(gesture, at=frame.clamp(event.x, event.y))
        else:
            gesture = replace(gesture, points=(*gesture.points, (event.x, event.y)))
        self._gesture = gesture
        return gesture

    def release(self, event: PointerEvent) -> ToolResult | None:
        """The button came up: what the gesture did, if anything. The gesture is over, unless the release is
        of another button than the one that began it (then nothing happens)."""
        gesture, frame = self._gesture, self._frame
        if gesture is None or frame is None or event.button != self._button:
            return None
        self.cancel()
        if isinstance(gesture, Painting):
            return Stroke(gesture.points, self.brush_radius, gesture.erase)
        end = frame.clamp(event.x, event.y)
        if isinstance(gesture, BoxDrag):
            x0, y0, x1, y1 = BoxDrag(gesture.start, end).rect
            return DrawBox(x0, y0, x1, y1) if x1 - x0 >= MIN_BOX and y1 - y0 >= MIN_BOX else None
        if screen_distance(gesture.pressed, (event.x, event.y), event.zoom) < DRAG_THRESHOLD:
            return None  # a click on a point or a box is not a drag
        if isinstance(gesture, BoxEdit):
            x0, y0, x1, y1 = gesture.dragged_to(event.x, event.y, frame).rect
            return MoveBox(gesture.index, x0, y0, x1, y1) if min(x1 - x0, y1 - y0) >= MIN_BOX else None
        return MovePoint(gesture.index, *end)
