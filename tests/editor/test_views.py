"""View composition without Qt: overlay, matte only, cut-out, outlines, solo and onion skin as numpy results."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.editor.views import (
    CHECKER_GREYS,
    ObjectLayer,
    ViewImage,
    ViewMode,
    ViewOptions,
    Viewport,
    compose_view,
    frame_layers,
    onion_layers,
    outline_polygons,
    view_request,
)
from roto.matte import MatteOps
from roto.project import AddObject, Project, SetMask, Shot, UndoStack, UpdateObject
from roto.refine import RefineMode

SHAPE = (40, 60)
RED, BLUE = (255, 0, 0), (0, 0, 255)


def rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros(SHAPE, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def layer(object_id: int, color: tuple[int, int, int], mask: np.ndarray) -> ObjectLayer:
    return ObjectLayer(object_id, color, mask.astype(np.float32))


FIRST = layer(1, RED, rect(5, 5, 35, 30))
SECOND = layer(2, BLUE, rect(20, 10, 55, 35))  # overlaps the first, drawn after it
FRAME = np.full((*SHAPE, 3), 200, np.uint8)


def test_overlay_keeps_both_objects_visible_where_they_overlap() -> None:
    view = compose_view(ViewOptions(opacity=0.5), [FIRST, SECOND], 1, FRAME)
    assert view.picture is not None and view.picture.shape == (*SHAPE, 4)
    both = view.picture[20, 25]  # inside both: the first's red still shows through the second's blue
    assert both[0] > 0 and both[2] > 0
    np.testing.assert_array_equal(view.picture[20, 10], [128, 0, 0, 128])  # premultiplied red at 50 %
    np.testing.assert_array_equal(view.picture[0, 0], [0, 0, 0, 0])
    # Outlines are geometry above every fill, the first object's included, so nothing hides them.
    assert [(o.color, o.current) for o in view.outlines] == [(RED, True), (BLUE, False)]
    (polygon,) = view.outlines[0].polygons
    assert polygon.min(axis=0).tolist() == [5.5, 5.5] and polygon.max(axis=0).tolist() == [34.5, 29.5]


def test_outlines_only_and_solo() -> None:
    outlines = compose_view(ViewOptions(mode=ViewMode.OUTLINES), [FIRST, SECOND], 1, FRAME)
    assert outlines.picture is None and len(outlines.outlines) == 2
    solo = compose_view(ViewOptions(mode=ViewMode.SOLO, opacity=1.0), [FIRST, SECOND], 2, FRAME)
    assert [o.color for o in solo.outlines] == [BLUE]
    assert solo.picture is not None
    np.testing.assert_array_equal(solo.picture[20, 10], [0, 0, 0, 0])  # the first object is not drawn
    np.testing.assert_array_equal(solo.picture[20, 40], [0, 0, 255, 255])


def test_matte_only_is_grey_current_or_union() -> None:
    soft = ObjectLayer(1, RED, rect(5, 5, 35, 30) * np.float32(0.5))
    current = compose_view(ViewOptions(mode=ViewMode.MATTE), [soft, SECOND], 1, FRAME).picture
    assert current is not None
    np.testing.assert_array_equal(current[20, 10], [128, 128, 128, 255])
    np.testing.assert_array_equal(current[20, 40], [0, 0, 0, 255])  # another object: black
    union = compose_view(ViewOptions(mode=ViewMode.MATTE, all_objects=True), [soft, SECOND], 1, FRAME).picture
    assert union is not None
    np.testing.assert_array_equal(union[20, 40], [255, 255, 255, 255])


def test_cutout_over_a_checkerboard_or_a_colour() -> None:
    frame = np.zeros((*SHAPE, 3), np.uint8)
    frame[..., 1] = 180
    checker = compose_view(ViewOptions(mode=ViewMode.CUTOUT), [FIRST], 1, frame).picture
    assert checker is not None
    np.testing.assert_array_equal(checker[10, 10], [0, 180, 0, 255])  # the frame through the matte
    greys = {int(checker[y, x, 0]) for y, x in ((0, 0), (0, 16), (39, 59))}
    assert greys == {round(g * 255) for g in CHECKER_GREYS}
    coloured = compose_view(
        ViewOptions(mode=ViewMode.CUTOUT, background=(0, 0, 90)), [FIRST], 1, frame
    ).picture
    assert coloured is not None
    np.testing.assert_array_equal(coloured[38, 58], [0, 0, 90, 255])


def test_onion_outlines_fade_with_distance() -> None:
    onion = [(-1, [FIRST]), (1, [FIRST]), (-2, [SECOND]), (2, [SECOND])]
    view = compose_view(ViewOptions(onion=True, onion_frames=2), [FIRST], 1, FRAME, onion)
    faded = {o.offset: o.opacity for o in view.outlines if o.offset}
    assert faded[-1] == faded[1] > faded[-2] == faded[2] > 0
    assert [o.offset for o in view.outlines][-1] == 0  # the frame's own outline is drawn last, on top


def test_outline_polygons_include_holes() -> None:
    ring = rect(5, 5, 35, 30) & ~rect(15, 12, 25, 20)
    assert len(outline_polygons(ring)) == 2
    assert outline_polygons(np.zeros(SHAPE, bool)) == ()


@pytest.fixture
def stack(tmp_path: Path) -> UndoStack:
    shot = Shot("s", tmp_path / "clip.mp4", 100, 5, Fraction(24), SHAPE[1], SHAPE[0])
    stack = UndoStack(Project("p", [shot]))
    stack.push(AddObject("s", "a", RED))
    stack.push(AddObject("s", "b", BLUE))
    for frame in range(100, 105):
        stack.push(SetMask("s", 1, frame, rect(5 + frame - 100, 5, 30, 30)))
    stack.push(SetMask("s", 2, 102, rect(40, 5, 50, 30) & ~rect(44, 15, 46, 17)))
    return stack


def test_layers_show_the_finished_matte_and_follow_visibility(stack: UndoStack) -> None:
    project = stack.project
    shot = project.shot("s")
    plain = {layer.object_id: layer.alpha for layer in frame_layers(project, shot, 102)}
    assert plain[2][16, 45] == 0.0  # the hole
    stack.push(UpdateObject("s", 2, matte=MatteOps(fill_holes=True, grow_px=1)))
    finished = {layer.object_id: layer.alpha for layer in frame_layers(project, shot, 102)}
    assert finished[2][16, 45] == 1.0 and finished[2][4, 45] == 1.0  # hole filled, grown by one pixel
    stack.push(UpdateObject("s", 2, visible=False))
    assert [layer.object_id for layer in frame_layers(project, shot, 102)] == [1]


def test_refine_edge_uses_the_frame_picture_and_is_left_out_without_one(stack: UndoStack) -> None:
    project = stack.project
    shot = project.shot("s")
    refined = MatteOps(refine=RefineMode.FAST, refine_band_px=3)
    stack.push(UpdateObject("s", 1, matte=refined))
    picture = np.zeros((*SHAPE, 3), np.uint8)
    mask = project.get_mask("s", 1, 102)
    assert mask is not None
    picture[mask] = (200, 80, 60)  # a frame whose colour edge is the mask's own edge
    picture[:, :, 2] += np.arange(SHAPE[1], dtype=np.uint8)[None, :] % 7  # and some texture
    layers = {layer.object_id: layer.alpha for layer in frame_layers(project, shot, 102, picture=picture)}
    np.testing.assert_array_equal(layers[1], refined.apply(mask, picture=picture))
    assert not np.array_equal(layers[1], mask.astype(np.float32))
    bare = {layer.object_id: layer.alpha for layer in frame_layers(project, shot, 102)}  # a scrubbing preview
    np.testing.assert_array_equal(bare[1], mask.astype(np.float32))


def test_onion_layers_stay_inside_the_shot(stack: UndoStack) -> None:
    project = stack.project
    onion = onion_layers(project, project.shot("s"), 100, 2)
    assert [offset for offset, _ in onion] == [1, 2]
    assert [layer.object_id for layer in onion[1][1]] == [1, 2]  # frame 102 has both objects


def same_view(a: ViewImage, b: ViewImage) -> bool:
    pictures = (a.picture is None and b.picture is None) or (
        a.picture is not None and b.picture is not None and np.array_equal(a.picture, b.picture)
    )
    return (
        pictures
        and len(a.outlines) == len(b.outlines)
        and all(
            (x.color, x.opacity, x.current, x.offset) == (y.color, y.opacity, y.current, y.offset)
            and len(x.polygons) == len(y.polygons)
            and all(np.array_equal(p, q) for p, q in zip(x.polygons, y.polygons, strict=True))
            for x, y in zip(a.outlines, b.outlines, strict=True)
        )
    )


def test_a_view_request_composes_what_the_document_held_when_it_was_taken(stack: UndoStack) -> None:
    """Taken on the GUI thread, composed on another while the document goes on changing."""
    project, shot = stack.project, stack.project.shot("s")
    stack.push(UpdateObject("s", 1, matte=MatteOps(chatter_frames=1)))  # reads the neighbours' masks too
    options = ViewOptions(onion=True, onion_frames=1)
    request = view_request(project, shot, 102, options, 1)
    expected = compose_view(
        options, frame_layers(project, shot, 102), 1, None, onion_layers(project, shot, 102, 1), SHAPE
    )
    assert same_view(request.compose(), expected) and len(expected.outlines) == 2 + 2  # onion: object 1 only
    stack.push(SetMask("s", 1, 102, rect(0, 0, 5, 5)))
    stack.push(SetMask("s", 1, 103, rect(0, 0, 5, 5)))
    stack.push(UpdateObject("s", 2, visible=False))
    assert same_view(request.compose(), expected)  # the request still shows what it was taken from
    assert not same_view(view_request(project, shot, 102, options, 1).compose(), expected)


def test_a_view_request_fits_plain_masks_before_they_become_floats(stack: UndoStack) -> None:
    """At the viewport's size the request resizes plain masks as bytes: the view is the one compose_view makes
    from the full-size mattes, to a level of rounding; an object with matte settings takes the full-size path."""
    project, shot = stack.project, stack.project.shot("s")
    stack.push(UpdateObject("s", 2, matte=MatteOps(grow_px=1)))
    options = ViewOptions(onion=True, onion_frames=1, opacity=0.8)
    viewport = Viewport.visible(SHAPE, (0.0, 0.0, 60.0, 40.0), 0.5)
    assert viewport is not None and (viewport.out_width, viewport.out_height) == (30, 20)
    request = view_request(project, shot, 102, options, 1, viewport=viewport)
    assert [o.plain(None) for o in request.objects] == [True, False]
    fast = request.compose()
    full = compose_view(
        options,
        frame_layers(project, shot, 102),
        1,
        None,
        onion_layers(project, shot, 102, 1),
        SHAPE,
        viewport,
    )
    assert fast.picture is not None and full.picture is not None and fast.viewport == viewport
    assert np.abs(fast.picture.astype(int) - full.picture.astype(int)).max() <= 1
    assert len(fast.outlines) == len(full.outlines) == 4


def test_opacity_and_onion_steps_stay_in_range() -> None:
    options = ViewOptions(opacity=0.9)
    assert options.step_opacity(0.25).opacity == 1.0 and options.step_opacity(-2).opacity == 0.05
    assert options.reach == 0
    onion = options.step_onion(1)
    assert (onion.onion, onion.reach) == (True, 3)
    assert ViewOptions(onion_frames=10).step_onion(1).onion_frames == 10
    with pytest.raises(ValueError, match="opacity"):
        ViewOptions(opacity=1.5)


def big_layer(object_id: int, color: tuple[int, int, int], x0: int, y0: int, x1: int, y1: int) -> ObjectLayer:
    """A disc-cornered shape on a 480x640 frame, so averaging down has soft edges to get right."""
    mask = np.zeros((480, 640), bool)
    mask[y0:y1, x0:x1] = True
    yy, xx = np.ogrid[:480, :640]
    mask |= (yy - y1) ** 2 + (xx - x1) ** 2 < 60**2
    return ObjectLayer(object_id, color, mask.astype(np.float32))


def test_viewport_composes_only_what_the_view_shows_at_its_resolution() -> None:
    layers = [big_layer(1, RED, 100, 80, 300, 260), big_layer(2, BLUE, 250, 200, 520, 400)]
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
    whole = compose_view(ViewOptions(opacity=0.6), layers, 1, frame)
    assert whole.picture is not None
    # Fitted at a quarter of the size: the picture is the full composition resized (rounding aside).
    viewport = Viewport.visible((480, 640), (-30.0, -10.0, 700.0, 500.0), 0.25)
    assert viewport == Viewport(0, 0, 640, 480, 160, 120)
    small = compose_view(ViewOptions(opacity=0.6), layers, 1, frame, viewport=viewport)
    assert small.picture is not None and small.picture.shape == (120, 160, 4) and small.viewport == viewport
    expected = cv2.resize(whole.picture, (160, 120), interpolation=cv2.INTER_LINEAR).astype(int)
    difference = np.abs(small.picture.astype(int) - expected)
    assert difference.max() <= 16 and difference.mean() < 0.01  # only where the two objects' edges cross
    # Outlines come back in frame coordinates, within a picture pixel (4 frame pixels) of the full ones.
    for full, reduced in zip(whole.outlines, small.outlines, strict=True):
        a, b = np.concatenate(full.polygons), np.concatenate(reduced.polygons)
        np.testing.assert_allclose(a.min(axis=0), b.min(axis=0), atol=4)
        np.testing.assert_allclose(a.max(axis=0), b.max(axis=0), atol=4)
    # Zoomed in on a corner: exactly that part of the full composition, one picture pixel per frame pixel.
    corner = Viewport.visible((480, 640), (200.5, 150.2, 420.0, 330.9), 3.0)
    assert corner == Viewport(200, 150, 220, 181, 220, 181)
    part = compose_view(ViewOptions(mode=ViewMode.MATTE), layers, 2, frame, viewport=corner)
    full_matte = compose_view(ViewOptions(mode=ViewMode.MATTE), layers, 2, frame)
    assert part.picture is not None and full_matte.picture is not None
    np.testing.assert_array_equal(part.picture, full_matte.picture[150:331, 200:420])
    assert Viewport.visible((480, 640), (700.0, 0.0, 900.0, 100.0), 1.0) is None
