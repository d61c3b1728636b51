"""roto.shapes: masks to Bézier paths within the tolerance, stable anchors over a run, hostile masks."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from roto.shapes import ShapeSettings, ShapeTracker
from tests.shapes.conftest import HEIGHT, WIDTH, fill_paths, iou, moving_mask


def _track(masks: list[np.ndarray | None], settings: ShapeSettings | None = None) -> ShapeTracker:
    tracker = ShapeTracker(settings or ShapeSettings())
    for frame, mask in enumerate(masks):
        tracker.add(frame, mask)
    return tracker


def test_parts_and_holes_fit_the_matte() -> None:
    mask = moving_mask(0)
    paths = _track([mask]).paths()
    assert sorted(p.is_hole for p in paths) == [False, False, True]
    drawn = fill_paths([p.keys[0].sample(32) for p in paths])
    assert iou(drawn, mask) >= 0.99
    assert all(p.count <= 40 for p in paths)  # few anchors: an ellipse, a rectangle, a circle


def test_a_moving_object_keeps_its_anchor_count_and_its_anchors_move_with_it() -> None:
    paths = _track([moving_mask(frame) for frame in range(100)]).paths()
    assert len(paths) == 3
    for path in paths:
        assert sorted(path.keys) == list(range(100))
        assert {len(key) for key in path.keys.values()} == {path.count}
        frames = sorted(path.keys)
        moved = [
            np.linalg.norm(path.keys[b].anchors - path.keys[a].anchors, axis=1).mean()
            for a, b in itertools.pairwise(frames)
        ]
        centroid = [
            np.linalg.norm(path.keys[b].centroid() - path.keys[a].centroid())
            for a, b in itertools.pairwise(frames)
        ]
        assert np.mean(moved) <= 1.5 * np.mean(centroid)


def test_empty_and_missing_masks_give_no_shape_and_no_error() -> None:
    empty = np.zeros((HEIGHT, WIDTH), bool)
    tracker = _track([None, empty, moving_mask(2), None, moving_mask(4)])
    paths = tracker.paths()
    assert paths and all(sorted(p.keys) == [2, 4] for p in paths)
    assert _track([empty, None]).paths() == []


def test_a_mask_touching_the_border_is_closed_along_the_border() -> None:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[:400, :700] = True  # the top-left corner of the frame
    (path,) = _track([mask]).paths()
    drawn = fill_paths([path.keys[0].sample(32)])
    assert iou(drawn, mask) >= 0.99


def test_thousands_of_specks_give_a_bounded_number_of_paths_and_say_so() -> None:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[2:HEIGHT:12, 2:WIDTH:12] = True  # one-pixel specks: all under the minimum area
    for dy in range(5):
        for dx in range(5):
            mask[40 + dy : HEIGHT - 40 : 24, 40 + dx : WIDTH - 40 : 24] = (
                True  # thousands of specks of 25 pixels
            )
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    parts = int((stats[1:, cv2.CC_STAT_AREA] >= 16).sum())
    assert parts > 3000
    tracker = _track([mask], ShapeSettings(max_paths=64))
    assert len(tracker.paths()) == 64
    assert tracker.dropped_frames == [(0, parts - 64)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tolerance": 0}, "tolerance"), ({"min_area": 0.5}, "minimum area"), ({"max_paths": 0}, "max_paths")],
)
def test_bad_settings_are_refused_with_the_value(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShapeSettings(**kwargs)
