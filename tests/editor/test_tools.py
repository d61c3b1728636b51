"""The canvas tools' rules, driven with synthetic events in frame pixels: no QApplication, no window."""

from __future__ import annotations

import numpy as np
import pytest

from roto.editor.tools import (
    BACKGROUND,
    BRUSH_RADIUS,
    DRAG_THRESHOLD,
    MAX_BRUSH,
    MIN_BOX,
    MIN_BRUSH,
    MOVE,
    OBJECT,
    PICK_RADIUS,
    AddPoint,
    BoxDrag,
    BoxEdit,
    Button,
    CanvasTools,
    DeletePoint,
    DrawBox,
    Frame,
    MoveBox,
    MovePoint,
    Painting,
    PointDrag,
    PointerEvent,
    Stroke,
    Tool,
    paint_stroke,
    pick_box_edges,
    pick_point,
    scale_brush,
)

FRAME = Frame(width=200, height=100)
LEFT, RIGHT = Button.LEFT, Button.RIGHT


def at(x: float, y: float, button: Button = LEFT, **kw: bool | float) -> PointerEvent:
    return PointerEvent(x, y, button, **kw)  # type: ignore[arg-type]


def click(tools: CanvasTools, x: float, y: float, points=(), **kw):  # type: ignore[no-untyped-def]
    """Press and release at the same place; the results of both, without Nones."""
    event = at(x, y, **kw)
    results = [tools.press(event, FRAME, points), tools.release(event)]
    return [r for r in results if r is not None]


def drag(tools: CanvasTools, path, points=(), boxes=(), **kw):  # type: ignore[no-untyped-def]
    """Press at the first position, move through the others, release at the last: the release's result."""
    (x, y), *rest = path
    assert tools.press(at(x, y, **kw), FRAME, points, boxes) is None
    for x, y in rest:
        tools.move(at(x, y, **kw))
    return tools.release(at(x, y, **kw))


# -- point tool -------------------------------------------------------------------------------------


def test_left_click_adds_an_object_point() -> None:
    assert click(CanvasTools(), 10.5, 20.25) == [AddPoint(10.5, 20.25, OBJECT)]


@pytest.mark.parametrize("kw", [{"button": RIGHT}, {"alt": True}, {"button": RIGHT, "alt": True}])
def test_right_or_alt_click_adds_a_background_point(kw) -> None:  # type: ignore[no-untyped-def]
    assert click(CanvasTools(), 10, 20, **kw) == [AddPoint(10, 20, BACKGROUND)]


@pytest.mark.parametrize("position", [(-1, 5), (5, -0.5), (200, 5), (5, 100), (250, 300)])
def test_a_click_outside_the_frame_is_ignored(position) -> None:  # type: ignore[no-untyped-def]
    tools = CanvasTools()
    assert click(tools, *position) == []
    assert click(tools, *position, button=RIGHT) == []
    assert click(tools, 199.9, 99.9) == [AddPoint(199.9, 99.9, OBJECT)]  # the last pixel is inside


def test_press_on_a_point_and_drag_moves_it_with_a_preview() -> None:
    tools = CanvasTools()
    points = [(50.0, 50.0), (120.0, 40.0)]
    assert tools.press(at(121, 41), FRAME, points) is None
    assert tools.gesture == PointDrag(1, pressed=(121, 41), at=(120.0, 40.0))
    assert tools.move(at(130, 45)) == PointDrag(1, pressed=(121, 41), at=(130, 45))
    assert tools.move(at(300, -20)) == PointDrag(1, pressed=(121, 41), at=(199, 0))  # the marker stays inside
    assert tools.release(at(300, -20)) == MovePoint(1, 199, 0)
    assert tools.gesture is None


@pytest.mark.parametrize("zoom", [0.25, 1.0, 4.0])
def test_drag_threshold_is_in_screen_pixels_at_every_zoom(zoom: float) -> None:
    points = [(50.0, 50.0)]
    short = (DRAG_THRESHOLD - 0.5) / zoom  # frame pixels that are just under the threshold on screen
    enough = DRAG_THRESHOLD / zoom
    assert drag(CanvasTools(), [(50, 50), (50 + short, 50)], points, zoom=zoom) is None
    assert drag(CanvasTools(), [(50, 50), (50 + enough, 50)], points, zoom=zoom) == MovePoint(
        0, 50 + enough, 50
    )
    # Manhattan distance, as on screen: half the threshold across and half down is enough.
    half = enough / 2
    assert drag(CanvasTools(), [(50, 50), (50 + half, 50 + half)], points, zoom=zoom) == MovePoint(
        0, 50 + half, 50 + half
    )


def test_a_click_on_a_point_changes_nothing() -> None:
    assert click(CanvasTools(), 50, 50, points=[(50.0, 50.0)]) == []
    # Moving away and coming back before the release is a click too.
    assert drag(CanvasTools(), [(50, 50), (80, 80), (50, 51)], [(50.0, 50.0)]) is None


def test_right_or_alt_press_on_a_point_adds_a_background_point_or_drags() -> None:
    points = [(50.0, 50.0)]
    assert click(CanvasTools(), 51, 50, points, button=RIGHT) == [AddPoint(51, 50, BACKGROUND)]
    assert drag(CanvasTools(), [(50, 50), (60, 60)], points, alt=True) == MovePoint(0, 60, 60)


@pytest.mark.parametrize("tool", [Tool.POINT, Tool.BOX])
def test_ctrl_click_on_a_point_deletes_it_and_elsewhere_does_nothing(tool: Tool) -> None:
    tools = CanvasTools(tool)
    points = [(50.0, 50.0), (54.0, 50.0)]
    assert click(tools, 53, 50, points, ctrl=True) == [DeletePoint(1)]  # the nearest
    assert click(tools, 51, 50, points, ctrl=True, button=RIGHT) == [DeletePoint(0)]
    assert click(tools, 150, 50, points, ctrl=True) == []


@pytest.mark.parametrize("zoom", [0.5, 1.0, 3.0])
def test_point_picking_is_within_pick_radius_screen_pixels(zoom: float) -> None:
    points = [(100.0, 50.0)]
    inside = PICK_RADIUS / zoom
    outside = (PICK_RADIUS + 0.5) / zoom
    assert pick_point(points, 100 + inside, 50, zoom) == 0
    assert pick_point(points, 100 + inside / 2, 50 - inside / 2, zoom) == 0
    assert pick_point(points, 100 + outside, 50, zoom) is None
    assert pick_point(points, 100 + outside / 2, 50 + outside / 2, zoom) is None
    assert pick_point([], 100, 50, zoom) is None
    assert pick_point([(100.0, 50.0), (100.0, 50.0)], 100, 50, zoom) == 0  # the first wins a tie


# -- box tool ---------------------------------------------------------------------------------------


def test_box_drag_draws_a_box_with_a_rubber_band() -> None:
    tools = CanvasTools(Tool.BOX)
    assert tools.press(at(80, 75), FRAME) is None
    assert tools.move(at(25, 25)) == BoxDrag((80, 75), (25, 25))
    assert tools.gesture is not None and tools.gesture.rect == (25, 25, 80, 75)  # type: ignore[union-attr]
    assert tools.release(at(25, 25)) == DrawBox(25, 25, 80, 75)


@pytest.mark.parametrize(
    ("end", "is_box"), [((11.9, 30), False), ((30, 11.9), False), ((12, 12), True), ((10, 10), False)]
)
def test_a_box_under_two_pixels_either_way_is_not_a_box(end, is_box: bool) -> None:  # type: ignore[no-untyped-def]
    result = drag(CanvasTools(Tool.BOX), [(10, 10), end])
    assert (result == DrawBox(10, 10, *end)) if is_box else result is None


def test_a_box_is_clamped_to_the_frame_wherever_it_starts() -> None:
    assert drag(CanvasTools(Tool.BOX), [(-30, 50), (250, 150)]) == DrawBox(0, 50, 199, 99)
    assert drag(CanvasTools(Tool.BOX), [(-30, -30), (-5, -8)]) is None  # squashed onto the corner


def test_box_tool_right_or_alt_click_is_a_background_point() -> None:
    assert click(CanvasTools(Tool.BOX), 40, 30, button=RIGHT) == [AddPoint(40, 30, BACKGROUND)]
    assert click(CanvasTools(Tool.BOX), 40, 30, alt=True) == [AddPoint(40, 30, BACKGROUND)]
    assert click(CanvasTools(Tool.BOX), 400, 30, alt=True) == []
    assert click(CanvasTools(Tool.BOX), 40, 30) == []  # a left click is a box too small to be one


def test_box_tool_does_not_drag_points() -> None:
    assert drag(CanvasTools(Tool.BOX), [(50, 50), (90, 80)], [(50.0, 50.0)]) == DrawBox(50, 50, 90, 80)


# -- brush and eraser -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "kw", "erase"),
    [
        (Tool.BRUSH, {}, False),
        (Tool.BRUSH, {"button": RIGHT}, True),
        (Tool.BRUSH, {"alt": True}, True),
        (Tool.ERASER, {}, True),
        (Tool.ERASER, {"button": RIGHT}, False),
        (Tool.ERASER, {"alt": True}, False),
    ],
)
def test_right_button_or_alt_inverts_brush_and_eraser(tool: Tool, kw, erase: bool) -> None:  # type: ignore[no-untyped-def]
    result = drag(CanvasTools(tool, brush_radius=7), [(10, 10), (20, 10), (30, 12)], **kw)
    assert result == Stroke(((10, 10), (20, 10), (30, 12)), 7, erase)


def test_a_stroke_previews_its_points_and_may_leave_the_frame() -> None:
    tools = CanvasTools(Tool.BRUSH)
    tools.press(at(190, 50), FRAME, [(190.0, 50.0)])  # painting ignores the points under it
    assert tools.gesture == Painting(((190, 50),), erase=False)
    assert tools.move(at(230, 50)) == Painting(((190, 50), (230, 50)), erase=False)
    tools.brush_radius = 30  # [ or ] mid-stroke: the stroke is painted with the radius at its release
    assert tools.release(at(230, 50)) == Stroke(((190, 50), (230, 50)), 30, False)
    assert click(tools, 5, 5) == [Stroke(((5, 5),), 30, False)]  # a click is a dab


def test_brush_radius_scales_within_its_limits() -> None:
    tools = CanvasTools()
    assert tools.brush_radius == BRUSH_RADIUS
    assert tools.scale_brush(1.25) == BRUSH_RADIUS * 1.25 == tools.brush_radius
    for _ in range(100):
        tools.scale_brush(1.25)
    assert tools.brush_radius == MAX_BRUSH
    for _ in range(100):
        tools.scale_brush(0.8)
    assert tools.brush_radius == MIN_BRUSH
    assert scale_brush(10, 0.5) == 5 and scale_brush(0.5, 1) == MIN_BRUSH and scale_brush(1e4, 1) == MAX_BRUSH


def test_paint_stroke_covers_the_path_and_erases() -> None:
    empty = np.zeros((20, 40), bool)
    painted = paint_stroke(empty, [(5, 10), (35, 10)], 2, True)
    assert painted[10, 5:36].all() and painted[8, 20] and not painted[5, 20]
    assert painted[10, 3] and not painted[10, 0] and not painted[15, 20]  # about the radius around the path
    assert not paint_stroke(painted, [(20, 10)], 3, False)[10, 18:23].any()
    dab = paint_stroke(empty, [(10.4, 10.6)], 0, True)
    assert dab.sum() == 1 and dab[11, 10]  # positions round to the nearest pixel
    assert not empty.any()  # the input is left alone


# -- gestures ---------------------------------------------------------------------------------------


def test_moves_without_a_press_and_releases_without_a_gesture_do_nothing() -> None:
    tools = CanvasTools(Tool.BOX)
    assert tools.move(at(10, 10)) is None
    assert tools.release(at(10, 10)) is None
    assert tools.gesture is None


def test_the_other_button_does_not_interrupt_a_gesture() -> None:
    tools = CanvasTools(Tool.BOX)
    tools.press(at(10, 10), FRAME)
    assert tools.press(at(50, 50, RIGHT), FRAME) is None  # no background point mid-drag
    assert tools.release(at(50, 50, RIGHT)) is None
    assert tools.gesture == BoxDrag((10, 10), (10, 10))
    assert tools.release(at(60, 40)) == DrawBox(10, 10, 60, 40)


def test_cancel_drops_the_gesture() -> None:
    tools = CanvasTools(Tool.BRUSH)
    tools.press(at(10, 10), FRAME)
    tools.cancel()
    assert tools.gesture is None and tools.release(at(10, 10)) is None


# -- moving and resizing a box ------------------------------------------------------------------------

BOX = (40.0, 20.0, 100.0, 60.0)


def test_box_edges_and_corners_are_picked_within_pick_radius_screen_pixels() -> None:
    reach = PICK_RADIUS / 2  # at zoom 2
    assert pick_box_edges(BOX, 40 - reach, 40, 2) == (True, False, False, False)  # left edge, from outside
    assert pick_box_edges(BOX, 40 - reach - 0.1, 40, 2) is None
    assert pick_box_edges(BOX, 70, 60 + reach, 2) == (False, False, False, True)  # bottom edge
    assert pick_box_edges(BOX, 101, 19, 2) == (False, True, True, False)  # top-right corner
    assert pick_box_edges(BOX, 70, 40, 2) == MOVE  # inside, away from the edges
    assert pick_box_edges(BOX, 150, 40, 2) is None
    thin = (40.0, 20.0, 42.0, 60.0)  # thinner than the pick radius: the nearer side wins
    assert pick_box_edges(thin, 42.5, 40, 1) == (False, False, True, False)


def test_dragging_inside_a_box_moves_it_whole_and_keeps_it_in_the_frame() -> None:
    tools = CanvasTools(Tool.BOX)
    assert tools.press(at(70, 40), FRAME, (), [BOX]) is None
    assert tools.gesture == BoxEdit(0, MOVE, (70, 40), BOX, BOX)
    assert tools.move(at(80, 45)) == BoxEdit(0, MOVE, (70, 40), BOX, (50, 25, 110, 65))
    assert tools.release(at(80, 45)) == MoveBox(0, 50, 25, 110, 65)
    # pushed past the frame's corner, it stops against the edges with its size kept
    assert drag(CanvasTools(Tool.BOX), [(70, 40), (500, -300)], boxes=[BOX]) == MoveBox(0, 139, 0, 199, 40)


def test_dragging_an_edge_or_corner_resizes_the_box() -> None:
    assert drag(CanvasTools(Tool.BOX), [(100, 40), (130, 40)], boxes=[BOX]) == MoveBox(0, 40, 20, 130, 60)
    assert drag(CanvasTools(Tool.BOX), [(40, 20), (10, 5)], boxes=[BOX]) == MoveBox(0, 10, 5, 100, 60)
    # a corner dragged past the opposite one turns the box the right way round, clamped to the frame
    assert drag(CanvasTools(Tool.BOX), [(100, 60), (0, 500)], boxes=[BOX]) == MoveBox(0, 0, 20, 40, 99)


def test_a_box_edit_under_the_drag_threshold_or_too_small_is_nothing() -> None:
    tools = CanvasTools(Tool.BOX)
    assert drag(tools, [(70, 40), (70 + DRAG_THRESHOLD - 0.5, 40)], boxes=[BOX]) is None
    squashed = 40 + MIN_BOX / 2
    assert drag(tools, [(100, 40), (squashed, 40)], boxes=[BOX]) is None
    # outside every box the box tool still draws a new one
    assert drag(tools, [(120, 70), (150, 90)], boxes=[BOX]) == DrawBox(120, 70, 150, 90)


def test_only_the_box_tool_edits_boxes() -> None:
    assert click(CanvasTools(Tool.POINT), 70, 40) == [AddPoint(70, 40, OBJECT)]  # a point inside a box
    tools = CanvasTools(Tool.BOX)
    assert click(tools, 70, 40, button=RIGHT) == [AddPoint(70, 40, BACKGROUND)]  # right: background point
