"""Refine edge: composites with a known alpha, foreground colour, stability and bad input."""

import cv2
import numpy as np
import pytest

from roto import refine
from roto.refine import RefineMode, estimate_foreground, refine_alpha

H, W = 180, 240


def _smooth_colour(rng: np.random.Generator, base: tuple[float, float, float]) -> np.ndarray:
    noise = cv2.resize(rng.random((6, 8, 3)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    return np.clip(np.array(base, np.float32) + 0.15 * (noise - 0.5), 0, 1)


def composite(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(picture uint8, true alpha, foreground, coarse mask as SAM2 hands it over: decided at 1/4 scale)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    angle = np.arctan2(yy - H / 2, xx - W / 2)
    edge = 60 + 6 * np.sin(9 * angle) + 3 * np.sin(23 * angle)
    truth = np.clip((edge - np.hypot(xx - W / 2, yy - H / 2)) / 4 + 0.5, 0, 1)
    fg, bg = _smooth_colour(rng, (0.8, 0.3, 0.2)), _smooth_colour(rng, (0.2, 0.4, 0.8))
    picture = np.round((truth[..., None] * fg + (1 - truth[..., None]) * bg) * 255).astype(np.uint8)
    small = cv2.resize((truth >= 0.5).astype(np.float32), (W // 4, H // 4), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR) >= 0.5
    return picture, truth, fg, coarse


def sad(alpha: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(alpha - truth).sum())


@pytest.mark.parametrize("mode", ["fast", "quality"])
def test_refinement_is_closer_to_the_true_alpha_than_the_coarse_mask(mode: str) -> None:
    picture, truth, _, coarse = composite()
    alpha = refine_alpha(picture, coarse, mode, band_px=6)
    assert alpha.dtype == np.float32 and alpha.shape == (H, W)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert sad(alpha, truth) < 0.6 * sad(coarse, truth)
    assert ((alpha > 0.02) & (alpha < 0.98)).any()  # soft values at the edge


def test_quality_beats_fast_on_a_smooth_composite() -> None:
    picture, truth, _, coarse = composite(1)
    fast = refine_alpha(picture, coarse, RefineMode.FAST, 6)
    assert sad(refine_alpha(picture, coarse, RefineMode.QUALITY, 6), truth) < sad(fast, truth)


def test_only_the_band_changes() -> None:
    picture, _, _, coarse = composite()
    alpha = refine_alpha(picture, coarse, "fast", band_px=4)
    band = refine.unknown_band(coarse, 4)
    np.testing.assert_array_equal(alpha[~band], coarse[~band].astype(np.float32))


def test_off_returns_the_coarse_matte() -> None:
    picture, _, _, coarse = composite()
    np.testing.assert_array_equal(refine_alpha(picture, coarse, "off"), coarse.astype(np.float32))


def test_foreground_colour_at_soft_edges_is_the_objects_not_the_background() -> None:
    picture, truth, fg, _ = composite()
    soft = (truth > 0.1) & (truth < 0.9)
    estimated = estimate_foreground(picture, truth.astype(np.float32))
    plain = picture.astype(np.float32) / 255
    assert np.abs(estimated - fg)[soft].mean() < 0.5 * np.abs(plain - fg)[soft].mean()
    opaque = truth >= 1.0
    np.testing.assert_allclose(estimated[opaque], plain[opaque])


def test_a_still_edge_gives_the_same_alpha_every_frame() -> None:
    picture, _, _, coarse = composite()
    for mode in ("fast", "quality"):
        first = refine_alpha(picture, coarse, mode, 6)
        np.testing.assert_array_equal(refine_alpha(picture.copy(), coarse.copy(), mode, 6), first)


def test_sixteen_bit_grey_and_float_pictures_are_read_at_their_own_scale() -> None:
    picture, _, _, coarse = composite()
    eight = refine_alpha(picture, coarse, "fast", 6)
    sixteen = refine_alpha(picture.astype(np.uint16) * 257, coarse, "fast", 6)
    floats = refine_alpha(picture.astype(np.float32) / 255, coarse, "fast", 6)
    np.testing.assert_allclose(sixteen, eight, atol=1e-3)
    np.testing.assert_allclose(floats, eight, atol=1e-3)
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
    for image in (grey, grey[..., None]):
        alpha = refine_alpha(image, coarse, "fast", 6)
        np.testing.assert_allclose(alpha, refine_alpha(np.dstack([grey] * 3), coarse, "fast", 6))
    rgba = np.dstack([picture, np.zeros((H, W), np.uint8)])
    np.testing.assert_array_equal(refine_alpha(rgba, coarse, "fast", 6), eight)


@pytest.mark.parametrize("fill", [False, True])
def test_empty_and_full_masks_come_back_unchanged(fill: bool) -> None:
    picture = composite()[0]
    mask = np.full((H, W), fill)
    for mode in ("fast", "quality"):
        np.testing.assert_array_equal(refine_alpha(picture, mask, mode), mask.astype(np.float32))
    assert estimate_foreground(picture, mask.astype(np.float32)).shape == (H, W, 3)


def test_soft_coarse_alpha_is_accepted() -> None:
    picture, truth, _, coarse = composite()
    soft = cv2.GaussianBlur(coarse.astype(np.float32), (0, 0), 1.5)
    assert sad(refine_alpha(picture, soft, "fast", 6), truth) < sad(soft, truth)


@pytest.mark.parametrize(
    ("picture", "mask", "message"),
    [
        (
            np.zeros((10, 12, 3), np.uint8),
            np.zeros((10, 11), bool),
            "mask size 11x10 does not match the picture's 12x10",
        ),
        (np.full((10, 12, 3), np.nan, np.float32), np.zeros((10, 12), bool), "picture has non-finite"),
        (np.zeros((10, 12, 3), np.uint8), np.full((10, 12), np.inf, np.float32), "mask has non-finite"),
        (np.zeros((10, 12, 2), np.uint8), np.zeros((10, 12), bool), "HxWx1/3/4"),
        (np.zeros((10, 12, 3), np.int32), np.zeros((10, 12), bool), "8-bit, 16-bit or float"),
        (np.zeros((10, 12, 3), np.uint8), np.zeros((10, 12), np.uint8), "boolean mask or a float alpha"),
        (np.zeros((0, 12, 3), np.uint8), np.zeros((0, 12), bool), "empty"),
    ],
)
def test_bad_input_is_refused_with_what_is_wrong(picture: np.ndarray, mask: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        refine_alpha(picture, mask, "fast")


@pytest.mark.parametrize("band", [0, -3, 65, 2.5, True])
def test_band_must_be_a_sensible_whole_number(band: object) -> None:
    with pytest.raises(ValueError, match="refine band"):
        refine_alpha(np.zeros((10, 12, 3), np.uint8), np.zeros((10, 12), bool), "fast", band)  # type: ignore[arg-type]


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'sharp' is not a valid RefineMode"):
        refine_alpha(np.zeros((10, 12, 3), np.uint8), np.zeros((10, 12), bool), "sharp")


@pytest.mark.parametrize("mode", ["fast", "quality"])
def test_an_edge_at_the_frame_border_of_an_odd_sized_picture(mode: str) -> None:
    """The work is cropped to the band (grown to a multiple of the fast filter's scale where the frame allows):
    an edge touching the border of a frame whose size is no multiple of it is refined like any other."""
    picture, truth, _, coarse = composite()
    picture, truth, coarse = picture[3:, 130:], truth[3:, 130:], coarse[3:, 130:]  # 177x110, edge at x = 0
    alpha = refine_alpha(picture, coarse, mode, band_px=6)
    assert alpha.shape == coarse.shape and alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert sad(alpha, truth) < 0.7 * sad(coarse, truth)
    band = refine.unknown_band(coarse, 6)
    np.testing.assert_array_equal(alpha[~band], coarse[~band].astype(np.float32))


def hair(gap: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(picture, true alpha, coarse mask): a disc with 2 px strands leaving it, which a decision at 1/4 scale
    drops; with ``gap``, also a thin line 10 px below the disc (within the strands' reach for a 4 px band) that
    touches neither it nor a strand: not hair."""
    rng = np.random.default_rng(3)
    big = np.zeros((4 * H, 4 * W), np.uint8)
    cv2.circle(big, (4 * W // 2, 4 * H // 2), 4 * 45, 255, -1)
    for angle in np.linspace(0.3, 2 * np.pi + 0.3, 8, endpoint=False):
        end = (4 * (W / 2 + 80 * np.cos(angle)), 4 * (H / 2 + 80 * np.sin(angle)))
        cv2.line(big, (4 * W // 2, 4 * H // 2), tuple(np.int32(end)), 255, 8)
    if gap:
        cv2.line(big, (4 * 120, 4 * 145), (4 * 138, 4 * 145), 255, 8)
    truth = cv2.resize(big.astype(np.float32) / 255, (W, H), interpolation=cv2.INTER_AREA)
    fg, bg = _smooth_colour(rng, (0.9, 0.8, 0.3)), _smooth_colour(rng, (0.2, 0.3, 0.6))
    picture = np.round((truth[..., None] * fg + (1 - truth[..., None]) * bg) * 255).astype(np.uint8)
    small = cv2.resize((truth >= 0.5).astype(np.float32), (W // 4, H // 4), interpolation=cv2.INTER_AREA)
    return picture, truth, cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR) >= 0.5


def test_quality_follows_strands_out_of_the_band_and_no_further() -> None:
    picture, truth, coarse = hair()
    band_px = 4
    alpha = refine_alpha(picture, coarse, RefineMode.QUALITY, band_px)
    band = refine.unknown_band(coarse, band_px)
    yy, xx = np.mgrid[0:H, 0:W]
    radius = np.hypot(xx - W / 2, yy - H / 2)
    strand = (truth > 0.9) & ~coarse & ~band
    within = strand & (radius < 45 + band_px + refine._strand_reach(band_px) - 2)
    assert within.sum() > 30  # the coarse mask dropped the strands beyond the band
    assert alpha[within].mean() > 0.6  # and quality mode finds them again
    far = refine.unknown_band(coarse, band_px + refine._strand_reach(band_px) + 1)
    np.testing.assert_array_equal(alpha[~far], coarse[~far].astype(np.float32))
    fast = refine_alpha(picture, coarse, RefineMode.FAST, band_px)
    assert sad(alpha, truth) < 0.7 * sad(fast, truth)


def test_quality_leaves_a_thin_line_that_does_not_reach_the_band() -> None:
    picture, truth, coarse = hair(gap=True)
    alpha = refine_alpha(picture, coarse, RefineMode.QUALITY, 4)
    window = (slice(142, 149), slice(118, 141))
    line = truth[window] > 0.9
    assert line.any() and not coarse[window].any()
    assert alpha[window][line].max() == 0.0
