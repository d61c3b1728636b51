"""The brush without Qt: its units, its size limits, and what a soft edge paints."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from roto.editor.brush import Brush, BrushUnits, paint_brush
from roto.editor.tools import MAX_BRUSH, paint_stroke


def test_frame_units_keep_the_footage_size_screen_units_keep_the_screen_size() -> None:
    frame = Brush(10.0)
    assert frame.frame_radius(0.5) == frame.frame_radius(4.0) == 10.0
    screen = Brush(10.0, BrushUnits.SCREEN)
    assert screen.frame_radius(0.5) == 20.0 and screen.frame_radius(4.0) == 2.5
    assert Brush(400.0).scaled(2).size == MAX_BRUSH
    assert screen.describe() == "Brush 10 px (screen)"
    assert Brush(12.0, soft=True).describe() == "Brush 12 px (frame, soft)"


def grown_by(mask: np.ndarray, px: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


@pytest.mark.parametrize("value", [True, False])
def test_a_soft_stroke_alone_is_as_wide_as_a_hard_one(value: bool) -> None:
    base = np.full((80, 120), not value)
    points = [(30.0, 40.0), (60.0, 35.0), (90.0, 40.0)]
    hard = paint_stroke(base, points, 10, value) != base
    soft = paint_brush(base, points, 10, value, soft=True) != base
    assert soft.sum() > 0.85 * hard.sum()
    assert not (soft & ~grown_by(hard, 1)).any() and not (hard & ~grown_by(soft, 1)).any()


def test_a_soft_stroke_beside_the_mask_joins_it_smoothly() -> None:
    mask = np.zeros((80, 120), bool)
    mask[:, :40] = True  # the object's edge at x = 40
    dab = [(53.0, 40.0)]  # a dab just clear of the edge
    hard = paint_brush(mask, dab, 10, True, soft=False)
    soft = paint_brush(mask, dab, 10, True, soft=True)
    assert not hard[40, 41]  # the hard dab leaves a notch where it nearly touches the mask
    assert soft[40, 41] and soft[40, 42]  # the soft one closes it
    assert (soft & ~mask).sum() >= (hard & ~mask).sum() * 0.9
    assert not soft[:, 70:].any() and not soft[:10, 45:].any()  # nothing beyond the brush's reach
