"""Low-resolution clean-up of logits (SAM2's post-processing), as used by Prediction.mask."""

from __future__ import annotations

import numpy as np
import pytest

from roto.engine.predictor import Prediction
from roto.matte import clean_logits


def _ring_with_speck() -> np.ndarray:
    """64x64 logits: a square ring (positive) enclosing a 4x4 hole, plus a 2x2 positive speck far away."""
    logits = np.full((64, 64), -5.0, np.float32)
    logits[10:30, 10:30] = 5.0
    logits[18:22, 18:22] = -5.0
    logits[50:52, 50:52] = 5.0
    return logits


def test_holes_and_islands_are_cleaned_with_areas_in_frame_pixels() -> None:
    logits = _ring_with_speck()
    frame_hw = (256, 256)  # 16 frame pixels per logit cell
    cleaned = clean_logits(logits, frame_hw, hole_area=16 * 16, island_area=16 * 5)
    assert (cleaned[18:22, 18:22] > 0).all()  # the 16-cell hole is filled
    assert (cleaned[50:52, 50:52] < 0).all()  # the 4-cell speck is smaller than 5 cells: dropped
    untouched = np.ones_like(logits, bool)
    untouched[18:22, 18:22] = untouched[50:52, 50:52] = False
    np.testing.assert_array_equal(cleaned[untouched], logits[untouched])
    small = clean_logits(logits, frame_hw, hole_area=16 * 15, island_area=16 * 4)
    assert (small[18:22, 18:22] < 0).all() and (
        small[50:52, 50:52] > 0
    ).all()  # hole larger, speck not smaller: kept


def test_prediction_mask_applies_the_clean_up_before_upsampling() -> None:
    logits = _ring_with_speck()[None]
    prediction = Prediction(logits, np.array([0.9], np.float32), (256, 256))
    raw = prediction.mask()
    clean = prediction.mask(hole_area=16 * 16, island_area=16 * 5)
    assert raw.shape == clean.shape == (256, 256)
    assert not raw[80, 80] and clean[80, 80]  # centre of the hole
    assert raw[203, 203] and not clean[203, 203]  # the speck


def test_bad_areas_are_rejected() -> None:
    with pytest.raises(ValueError, match="areas must be"):
        clean_logits(_ring_with_speck(), (64, 64), -1, 0)
