"""Matte operations: exact behaviour on small hand-made masks, plus properties over random masks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from roto import matte
from roto.matte import MatteOps
from roto.refine import RefineMode, refine_alpha

masks = arrays(np.bool_, st.tuples(st.integers(3, 24), st.integers(3, 24)))


def ring(hole: int, size: int = 20) -> np.ndarray:
    """A filled square with a square hole of side ``hole`` in the middle."""
    mask = np.zeros((size, size), bool)
    mask[2:-2, 2:-2] = True
    start = (size - hole) // 2
    mask[start : start + hole, start : start + hole] = False
    return mask


def test_threshold_at_level() -> None:
    logits = np.array([[-1.0, 0.0, 0.5]], dtype=np.float32)
    np.testing.assert_array_equal(matte.threshold(logits), [[False, False, True]])
    np.testing.assert_array_equal(matte.threshold(logits, -2.0), [[True, True, True]])


def test_fill_holes_respects_max_area() -> None:
    small, big = ring(3), ring(8)
    assert matte.fill_holes(small, max_area=9)[2:-2, 2:-2].all()
    np.testing.assert_array_equal(matte.fill_holes(big, max_area=63), big)
    assert matte.fill_holes(big)[2:-2, 2:-2].all()


def test_fill_holes_never_fills_the_outside() -> None:
    cup = ring(6)
    cup[7:13, 13:18] = False  # open the hole to the right edge
    cup[:, 18:] = False
    np.testing.assert_array_equal(matte.fill_holes(cup), cup)


def test_remove_islands_drops_small_specks() -> None:
    mask = np.zeros((20, 20), bool)
    mask[2:10, 2:10] = True  # 64 px
    mask[15:17, 15:17] = True  # 4 px
    cleaned = matte.remove_islands(mask, min_area=5)
    assert cleaned[2:10, 2:10].all() and not cleaned[15:17, 15:17].any()
    np.testing.assert_array_equal(matte.remove_islands(mask, 0), mask)


def test_grow_and_shrink_move_the_edge_by_px() -> None:
    mask = np.zeros((30, 30), bool)
    mask[10:20, 10:20] = True
    grown = matte.grow_shrink(mask, 3)
    assert grown[7:23, 15].all() and not grown[6, 15] and not grown[23, 15]
    shrunk = matte.grow_shrink(mask, -3)
    assert shrunk[13:17, 13:17].all() and shrunk.sum() == 16
    np.testing.assert_array_equal(matte.grow_shrink(mask, 0), mask)


def test_shrink_does_not_eat_in_from_the_image_border() -> None:
    full = np.ones((10, 10), bool)
    assert matte.grow_shrink(full, -2).all()


def test_feather_ramps_the_edge() -> None:
    mask = np.zeros((40, 40), bool)
    mask[:, 20:] = True
    alpha = matte.feather(mask, 4)
    assert alpha.dtype == np.float32 and alpha.min() >= 0 and alpha.max() <= 1
    row = alpha[20]
    assert row[0] == 0 and row[-1] == 1
    assert 0.3 < row[19] < 0.5 < row[20] < 0.7
    assert np.all(np.diff(row) >= 0)
    np.testing.assert_array_equal(matte.feather(mask, 0), mask.astype(np.float32))


def test_invert_bool_and_float() -> None:
    mask = np.array([[True, False]])
    np.testing.assert_array_equal(matte.invert(mask), [[False, True]])
    np.testing.assert_allclose(matte.invert(np.array([[0.25, 1.0]], np.float32)), [[0.75, 0.0]])


def test_soft_from_logits_upsamples_then_sigmoids() -> None:
    logits = np.array([[-4.0, 4.0], [-4.0, 4.0]], dtype=np.float32)
    alpha = matte.soft_from_logits(logits, size=(4, 8))
    assert alpha.shape == (4, 8) and alpha.dtype == np.float32
    assert alpha[0, 0] == pytest.approx(1 / (1 + np.exp(4)))
    assert np.all(np.diff(alpha[0]) >= 0)
    np.testing.assert_allclose(matte.soft_from_logits(np.zeros((2, 2), np.float32)), 0.5)
    sharper = matte.soft_from_logits(logits, temperature=0.5)
    assert sharper[0, 1] > matte.soft_from_logits(logits)[0, 1]
    assert matte.soft_from_logits(np.full((1, 1), -1e5, np.float32))[0, 0] == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: matte.grow_shrink(np.ones((3, 3), bool), 1.5), "whole number"),
        (lambda: matte.feather(np.ones((3, 3), bool), -1), "non-negative"),
        (lambda: matte.feather(np.ones((3, 3), bool), float("nan")), "finite"),
        (lambda: matte.fill_holes(np.ones((3, 3), np.uint8)), "boolean"),
        (lambda: matte.remove_islands(np.ones(3, bool), 1), "2-D"),
        (lambda: matte.soft_from_logits(np.ones((2, 2)), temperature=0), "temperature"),
        (lambda: matte.soft_from_logits(np.ones((2, 2)), size=(0, 4)), "size"),
        (lambda: MatteOps(grow_px=2.0), "whole number"),  # type: ignore[arg-type]
        (lambda: MatteOps(feather_px=-2), "feather"),
        (lambda: MatteOps(min_island_area=-1), "island"),
        (lambda: MatteOps().apply(np.ones((3, 3), bool), size=(4, 4)), "does not match"),
        (lambda: MatteOps().apply(np.ones((3, 3), np.uint8)), "dtype"),
    ],
)
def test_bad_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_pipeline_on_logits_keeps_soft_edges_but_hard_cleanup() -> None:
    yy, xx = np.mgrid[0:32, 0:32]
    logits = (10.0 - np.hypot(yy - 16, xx - 16)).astype(np.float32)  # disc of radius 10
    logits[15:18, 15:18] = -5.0  # a 9 px hole in the middle
    ops = MatteOps(fill_holes=True, max_hole_area=20, soft_edges=True)
    alpha = ops.apply(logits)
    assert np.all(alpha[15:18, 15:18] == 1.0)  # the filled hole is hard
    edge = alpha[16, 26]  # radius exactly 10: logit 0
    assert edge == pytest.approx(0.5)
    hard = MatteOps(fill_holes=True, max_hole_area=20).apply(logits)
    assert set(np.unique(hard)) <= {0.0, 1.0}


def test_pipeline_upsamples_low_resolution_logits() -> None:
    logits = np.full((8, 8), -3.0, np.float32)
    logits[2:6, 2:6] = 3.0
    alpha = MatteOps().apply(logits, size=(32, 32))
    assert alpha.shape == (32, 32)
    assert alpha[16, 16] == 1.0 and alpha[0, 0] == 0.0


def test_pipeline_order_grow_then_feather_then_invert() -> None:
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    ops = MatteOps(grow_px=2, feather_px=3, invert=True)
    want = 1.0 - matte.feather(matte.grow_shrink(mask, 2), 3)
    np.testing.assert_allclose(ops.apply(mask), want, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(masks, st.integers(0, 3))
def test_grow_contains_and_shrink_is_contained(mask: np.ndarray, px: int) -> None:
    assert not (mask & ~matte.grow_shrink(mask, px)).any()
    assert not (matte.grow_shrink(mask, -px) & ~mask).any()


@settings(max_examples=60, deadline=None)
@given(masks, st.integers(0, 30))
def test_fill_holes_only_adds_and_remove_islands_only_removes(mask: np.ndarray, area: int) -> None:
    filled = matte.fill_holes(mask, area)
    assert not (mask & ~filled).any()
    assert np.array_equal(matte.fill_holes(filled, area), filled)
    kept = matte.remove_islands(mask, area)
    assert not (kept & ~mask).any()


@settings(max_examples=40, deadline=None)
@given(masks, st.floats(0, 6))
def test_apply_always_gives_float_alpha_in_unit_range(mask: np.ndarray, px: float) -> None:
    alpha = MatteOps(feather_px=px, grow_px=1, invert=True).apply(mask)
    assert alpha.dtype == np.float32 and alpha.shape == mask.shape
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_smooth_edges_removes_a_notch_and_a_spike_and_keeps_straight_edges() -> None:
    mask = np.zeros((30, 30), bool)
    mask[5:25, 5:25] = True
    jagged = mask.copy()
    jagged[14, 5:7] = False  # a one-pixel notch into the left edge
    jagged[20, 25:27] = True  # a one-pixel spike out of the right edge
    smoothed = matte.smooth_edges(jagged, 4)
    np.testing.assert_array_equal(smoothed[8:22], mask[8:22])
    np.testing.assert_array_equal(matte.smooth_edges(jagged, 0), jagged)


def square(left: int, size: int = 40) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[10:30, left : left + 20] = True
    return mask


def test_reduce_chatter_settles_a_jittering_edge() -> None:
    """Frames 0..4 with the left edge at 10, 10, 13, 10, 10: frame 2's jump is voted away."""
    lefts = [10, 10, 13, 10, 10]
    shot = [square(left) for left in lefts]
    sequence = matte.MatteSequence(MatteOps(chatter_frames=2), lambda i: shot[i], len(shot))
    alpha = sequence.alpha(2)
    assert alpha is not None
    np.testing.assert_array_equal(alpha, square(10).astype(np.float32))
    # Without it, the frame keeps its own edge.
    plain = matte.MatteSequence(MatteOps(), lambda i: shot[i], len(shot)).alpha(2)
    np.testing.assert_array_equal(plain, shot[2].astype(np.float32))


def test_reduce_chatter_follows_steady_motion_and_skips_frames_without_a_mask() -> None:
    shot: list[np.ndarray | None] = [square(left) for left in (4, 6, 8, 10, 12)]
    shot[3] = None
    sequence = matte.MatteSequence(MatteOps(chatter_frames=1), lambda i: shot[i], len(shot))
    assert sequence.alpha(3) is None  # no mask stays no mask
    # Frame 2 between 6 (weight 1) and 8 (weight 2): the majority keeps its own edge.
    np.testing.assert_array_equal(sequence.alpha(2), square(8).astype(np.float32))
    # Frame 0 has one neighbour on one side only (the shot's start): its own edge wins with weight 2 of 3.
    np.testing.assert_array_equal(sequence.alpha(0), square(4).astype(np.float32))


def test_sequence_cleans_each_frame_once_walking_the_shot() -> None:
    reads: list[int] = []
    shot = [square(10) for _ in range(8)]

    def read(index: int) -> np.ndarray:
        reads.append(index)
        return shot[index]

    sequence = matte.MatteSequence(MatteOps(chatter_frames=2, feather_px=2), read, len(shot))
    for index in range(len(shot)):
        sequence.alpha(index)
    assert sorted(reads) == list(range(len(shot)))


def test_changed_lists_only_settings_off_their_default() -> None:
    assert MatteOps().changed() == {}
    assert MatteOps(grow_px=-2, chatter_frames=1).changed() == {"grow_px": -2, "chatter_frames": 1}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MatteOps(chatter_frames=-1), "reduce chatter"),
        (lambda: MatteOps(chatter_frames=1.5), "whole number"),  # type: ignore[arg-type]
        (lambda: MatteOps(smooth_px=float("nan")), "edge smoothing"),
    ],
)
def test_bad_new_settings_raise_value_error(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


def test_a_shared_clean_cache_cleans_a_frame_once_across_sequences() -> None:
    shot = [square(10 + i) for i in range(6)]
    reads: list[int] = []

    def read(index: int) -> np.ndarray:
        reads.append(index)
        return shot[index]

    cache = matte.CleanCache()
    ops = MatteOps(chatter_frames=1, grow_px=1)
    for index in (2, 3, 2):  # a new sequence per frame shown, as the editor's preview makes them
        alpha = matte.MatteSequence(ops, read, len(shot), shared=(cache, lambda i: f"mask{i}")).alpha(index)
        expected = matte.MatteSequence(ops, lambda i: shot[i], len(shot)).alpha(index)
        np.testing.assert_array_equal(alpha, expected)
    assert sorted(reads) == [1, 2, 3, 4]  # frame 2, then its neighbours 1 and 3, then only 4 was new
    other = matte.MatteSequence(
        MatteOps(chatter_frames=1), read, len(shot), shared=(cache, lambda i: f"mask{i}")
    )
    other.alpha(2)
    assert sorted(reads) == [1, 1, 2, 2, 3, 3, 4]  # other settings: cleaned again


def test_the_clean_cache_keeps_within_its_bytes() -> None:
    cache = matte.CleanCache(max_bytes=3 * 2 * 40 * 40)  # three frames of two 40x40 bool masks
    for i in range(5):
        cache.put(i, MatteOps().clean(square(10)))
    assert cache.get(0) is None and cache.get(1) is None and cache.get(4) is not None


def test_refine_edge_runs_against_the_frame_picture() -> None:
    from tests.test_refine import composite

    picture, truth, _, coarse = composite()
    ops = MatteOps(refine=RefineMode.FAST, refine_band_px=6)
    alpha = ops.apply(coarse, picture=picture)
    np.testing.assert_array_equal(alpha, refine_alpha(picture, coarse, RefineMode.FAST, 6))
    assert np.abs(alpha - truth).sum() < np.abs(coarse - truth).sum()
    inverted = MatteOps(refine=RefineMode.FAST, refine_band_px=6, invert=True).apply(coarse, picture=picture)
    np.testing.assert_allclose(inverted, 1 - alpha)


def test_refine_edge_without_a_picture_is_a_clear_error_unless_there_is_no_edge() -> None:
    ops = MatteOps(refine=RefineMode.QUALITY)
    with pytest.raises(ValueError, match="refine edge needs the frame's picture"):
        ops.apply(ring(4))
    for mask in (np.zeros((8, 8), bool), np.ones((8, 8), bool)):
        np.testing.assert_array_equal(ops.apply(mask), mask.astype(np.float32))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"refine": "sharp"}, "refine edge must be one of off, fast, quality, got 'sharp'"),
        ({"refine_band_px": 0}, "the refine band must be a whole number of pixels from 1 to 64"),
    ],
)
def test_bad_refine_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MatteOps(**settings)


def test_a_matte_sequence_reads_pictures_only_when_refine_edge_is_on() -> None:
    from tests.test_refine import composite

    picture, _, _, coarse = composite()
    asked: list[int] = []

    def pictures(index: int) -> np.ndarray:
        asked.append(index)
        return picture

    plain = matte.MatteSequence(MatteOps(), lambda _: coarse, 3, picture=pictures)
    np.testing.assert_array_equal(plain.alpha(1), coarse.astype(np.float32))
    assert asked == []
    ops = MatteOps(refine=RefineMode.FAST, refine_band_px=6, chatter_frames=1)
    refined = matte.MatteSequence(ops, lambda _: coarse, 3, picture=pictures).alpha(2)
    assert asked == [2]
    np.testing.assert_array_equal(refined, refine_alpha(picture, coarse, RefineMode.FAST, 6))
