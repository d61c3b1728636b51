"""The timeline's geometry: cells, zoom around the cursor, scrolling that never leaves the shot, ruler labels."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roto.editor.timeline import MIN_VISIBLE_FRAMES, TimelineScale, timecode


def test_every_frame_owns_an_equal_cell_and_a_click_finds_it() -> None:
    scale = TimelineScale(100, 1000)
    assert scale.px_per_frame == 10 and scale.x(0) == 5 and scale.left(99) == 990
    assert [scale.frame_at(x) for x in (0, 9.9, 10, 995, 5000, -3)] == [0, 0, 1, 99, 99, 0]
    assert scale.visible() == range(100) and not scale.zoomed_in


def test_zoom_keeps_the_frame_under_the_cursor_and_stops_at_ten_frames() -> None:
    scale = TimelineScale(1000, 1000)
    zoomed = scale.zoomed(4.0, anchor_x=500)
    assert zoomed.visible_span == 250 and zoomed.zoomed_in
    assert zoomed.frame_at(500) == scale.frame_at(500)
    deepest = zoomed.zoomed(1e6, 500)
    assert deepest.visible_span == MIN_VISIBLE_FRAMES
    assert deepest.zoomed(1e-6, 0) == TimelineScale(1000, 1000)  # fully out: the whole shot again


@given(
    st.integers(1, 5000),
    st.integers(50, 3000),
    st.lists(st.tuples(st.floats(0.2, 5.0), st.floats(0, 3000), st.floats(-500, 500)), max_size=20),
)
def test_the_view_never_shows_space_outside_the_shot(
    frames: int, width: int, moves: list[tuple[float, float, float]]
) -> None:
    scale = TimelineScale(frames, width)
    for factor, anchor, scroll in moves:
        scale = scale.zoomed(factor, min(anchor, width)).scrolled(scroll)
        assert 0 <= scale.start <= max(0.0, frames - scale.visible_span) + 1e-9
        assert scale.visible().start >= 0 and scale.visible().stop <= frames


def test_the_playhead_is_scrolled_into_view() -> None:
    scale = TimelineScale(1000, 1000).zoomed(10, 0)
    assert 500 not in scale.visible()
    assert 500 in scale.showing(500).visible() and 999 in scale.showing(999).visible()


@pytest.mark.parametrize(
    ("frames", "width", "step"), [(100, 1000, 10), (1000, 1000, 100), (20, 1000, 2), (7, 1000, 1)]
)
def test_ruler_labels_fall_on_round_numbers_far_enough_apart(frames: int, width: int, step: int) -> None:
    scale = TimelineScale(frames, width)
    ticks = scale.ticks(64)
    assert ticks[0] == 0 and all(b - a == step for a, b in itertools.pairwise(ticks))
    assert step * scale.px_per_frame >= 64 and (step == 1 or scale.label_step(64 * 0.99) == step)


def test_timecode() -> None:
    assert timecode(0, 24) == "00:00:00:00"
    assert timecode(24 * 3661 + 5, 24) == "01:01:01:05"
    assert timecode(30, 29.97) == "00:00:01:00"
