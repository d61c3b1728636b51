"""ImagePredictor on the committed random-weight bundle: prompt checking, frame sizes, mask counts, the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from roto.engine.bundle import Bundle, load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.predictor import ImagePredictor
from roto.engine.session import RuntimeOptions
from roto.engine.transforms import prompts_to_model
from roto.errors import PromptError

FRAME_HW = (240, 320)
ONE_POINT: dict[str, Any] = {"points": np.array([[160.0, 120.0]]), "labels": np.array([1])}


@pytest.fixture(scope="module")
def bundle(test_bundle_path: Path) -> Bundle:
    return load_bundle(test_bundle_path)


@pytest.fixture(scope="module")
def predictor(bundle: Bundle) -> ImagePredictor:
    """One predictor with a 320x240 frame set, shared by the prompt-checking tests (they never change it)."""
    shared = ImagePredictor.open(bundle, RuntimeOptions(provider="cpu"))
    shared.set_frame(_frame(*FRAME_HW))
    return shared


def _frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A frame with structure (a bright rectangle on noise), so masks are not all one value by accident."""
    rgb = np.random.default_rng(seed).integers(0, 80, (height, width, 3), dtype=np.uint8)
    rgb[height // 4 : height // 2, width // 4 : width // 2] = (230, 200, 40)
    return rgb


BAD_PROMPTS: list[tuple[dict[str, Any], str]] = [
    ({}, "no prompt: give at least one point or a box"),
    ({"points": np.zeros((0, 2)), "labels": np.zeros(0)}, "no prompt"),
    ({"points": np.array([160.0, 120.0]), "labels": np.array([1])}, r"points must have shape \(N, 2\)"),
    ({"points": np.array([[1.0, 2.0, 3.0]]), "labels": np.array([1])}, r"got \(1, 3\)"),
    ({"points": np.array([[1.0, 2.0]])}, "points need labels"),
    (
        {"points": np.array([[1.0, 2.0], [3.0, 4.0]]), "labels": np.array([1])},
        "2 points but labels have shape",
    ),
    (
        {"points": np.array([[1.0, 2.0]]), "labels": np.array([2])},
        r"must be 0 \(exclude\) or 1 \(include\), got \[2\]",
    ),
    ({"points": np.array([[1.0, 2.0]]), "labels": np.array([-1])}, "got \\[-1\\]"),
    ({"points": np.array([[np.nan, 2.0]]), "labels": np.array([1])}, "finite numbers"),
    ({"points": np.array([[1.0, np.inf]]), "labels": np.array([0])}, "finite numbers"),
    (
        {"points": np.array([[321.0, 10.0]]), "labels": np.array([1])},
        r"point \(321, 10\) lies outside the 320x240",
    ),
    ({"points": np.array([[5.0, -0.5]]), "labels": np.array([1])}, r"point \(5, -0.5\) lies outside"),
    ({"points": np.array([[5.0, 241.0]]), "labels": np.array([1])}, "lies outside the 320x240 frame"),
    ({"box": np.array([1.0, 2.0, 3.0])}, "a box is x0, y0, x1, y1; got 3 numbers"),
    ({"box": np.array([10.0, 10.0, np.nan, 50.0])}, "box coordinates must be finite"),
    ({"box": np.array([100.0, 10.0, 50.0, 50.0])}, r"box \(100, 10, 50, 50\) is empty"),
    ({"box": np.array([10.0, 60.0, 50.0, 20.0])}, "is empty"),
    ({"box": np.array([10.0, 10.0, 10.0, 50.0])}, "is empty"),
    ({"box": np.array([-1.0, 10.0, 50.0, 50.0])}, "extends outside the 320x240 frame"),
    ({"box": np.array([10.0, 10.0, 321.0, 50.0])}, "extends outside"),
]


@pytest.mark.parametrize(("prompt", "message"), BAD_PROMPTS)
def test_bad_prompts_are_prompt_errors(
    predictor: ImagePredictor, prompt: dict[str, Any], message: str
) -> None:
    with pytest.raises(PromptError, match=message):
        predictor.predict(**prompt)


@pytest.mark.parametrize("prompt", [{"points": [["a", "b"]], "labels": [1]}, {"box": ["a", 1, 2, 3]}])
def test_non_numeric_prompts_are_prompt_errors(predictor: ImagePredictor, prompt: dict[str, Any]) -> None:
    with pytest.raises(PromptError):
        predictor.predict(**prompt)


@pytest.mark.parametrize(
    ("mask_input", "message"),
    [
        (np.zeros((32, 32)), r"mask_input must be finite low-res logits of 64x64, got \(32, 32\)"),
        (np.zeros((1, 1, 64, 63)), "64x64"),
        (np.full((64, 64), np.nan), "must be finite"),
    ],
)
def test_bad_mask_input(predictor: ImagePredictor, mask_input: np.ndarray, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        predictor.predict(**ONE_POINT, mask_input=mask_input)


def test_predict_before_set_frame(bundle: Bundle) -> None:
    with pytest.raises(PromptError, match="no frame is set: call set_frame before predicting"):
        ImagePredictor.open(bundle).predict(**ONE_POINT)


def test_prompts_on_the_frame_edge_are_accepted(predictor: ImagePredictor) -> None:
    edge = predictor.predict(np.array([[0.0, 0.0], [320.0, 240.0]]), np.array([1, 0]))
    whole = predictor.predict(box=np.array([0.0, 0.0, 320.0, 240.0]))
    assert edge.mask().shape == whole.mask().shape == FRAME_HW


def test_mask_input_is_fed_back(predictor: ImagePredictor) -> None:
    first = predictor.predict(**ONE_POINT)
    refined = predictor.predict(**ONE_POINT, mask_input=first.mask_input())
    again = predictor.predict(**ONE_POINT)
    np.testing.assert_array_equal(first.low_res_logits, again.low_res_logits)
    assert not np.allclose(first.low_res_logits, refined.low_res_logits)
    assert np.abs(first.mask_input()).max() <= 32.0


@pytest.mark.parametrize(("height", "width"), [(240, 320), (1080, 1920), (1920, 1080), (2160, 3840)])
def test_frame_sizes(bundle: Bundle, height: int, width: int) -> None:
    predictor = ImagePredictor.open(bundle, RuntimeOptions(provider="cpu"))
    embedding = predictor.set_frame(_frame(height, width))
    assert embedding.frame_hw == (height, width)
    side = bundle.image_size // bundle.settings.backbone_stride
    assert embedding.image_embed.shape == (1, bundle.settings.hidden_dim, side, side)

    points = np.array([[width * 0.3, height * 0.4], [width - 1.0, height - 1.0]])
    multi = predictor.predict(points, np.array([1, 0]))
    assert len(multi) == 3
    assert multi.low_res_logits.shape == (3, 4 * side, 4 * side)
    assert multi.scores.shape == (3,)
    masks = [multi.mask(i) for i in range(3)]
    assert all(m.shape == (height, width) and m.dtype == bool for m in masks)
    np.testing.assert_array_equal(multi.mask(), masks[multi.best])

    single = predictor.predict(points, np.array([1, 0]), multimask=False)
    assert len(single) == 1
    assert single.mask().shape == (height, width)
    assert single.logits().shape == (height, width)

    boxed = predictor.predict(box=np.array([width * 0.25, height * 0.25, width * 0.5, height * 0.5]))
    assert boxed.mask().shape == (height, width)


def test_prompts_are_scaled_to_the_square_model_input() -> None:
    points = np.array([[1920.0, 0.0], [960.0, 540.0]], np.float32)
    coords, codes = prompts_to_model(
        points, np.array([1, 0]), np.array([0.0, 0.0, 1920.0, 1080.0], np.float32), (1080, 1920), 256
    )
    np.testing.assert_allclose(coords, [[[0, 0], [256, 256], [256, 0], [128, 128]]])
    np.testing.assert_array_equal(codes, [[2, 3, 1, 0]])
    assert coords.dtype == codes.dtype == np.float32


def test_second_set_frame_hits_the_cache(bundle: Bundle) -> None:
    cache = EmbeddingCache(max_bytes=64 << 20)
    predictor = ImagePredictor.open(bundle, RuntimeOptions(provider="cpu"), cache=cache)
    rgb = _frame(240, 320)
    first_embedding = predictor.set_frame(rgb, media_id="shot.mp4", frame=7)
    first = predictor.predict(**ONE_POINT)
    assert cache.stats.misses == 1
    assert cache.stats.memory_hits == 0

    predictor.set_frame(_frame(480, 640, seed=5), media_id="shot.mp4", frame=8)  # another frame: a miss
    assert cache.stats.misses == 2

    # the same (media, frame) again: served from the cache, even though the pixels passed differ
    second_embedding = predictor.set_frame(np.zeros_like(rgb), media_id="shot.mp4", frame=7)
    assert cache.stats.memory_hits == 1
    assert cache.stats.misses == 2
    assert second_embedding is first_embedding
    second = predictor.predict(**ONE_POINT)
    np.testing.assert_array_equal(first.low_res_logits, second.low_res_logits)
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(first.mask(), second.mask())


def test_frames_without_media_id_bypass_the_cache(bundle: Bundle) -> None:
    cache = EmbeddingCache(max_bytes=64 << 20)
    predictor = ImagePredictor.open(bundle, RuntimeOptions(provider="cpu"), cache=cache)
    predictor.set_frame(_frame(240, 320))
    predictor.set_frame(_frame(240, 320))
    assert cache.stats.misses == cache.stats.memory_hits == 0
    assert cache.memory_bytes == 0


def test_cache_is_keyed_by_model_weights(bundle: Bundle) -> None:
    cache = EmbeddingCache(max_bytes=64 << 20)
    predictor = ImagePredictor.open(bundle, RuntimeOptions(provider="cpu"), cache=cache)
    key = predictor.encoder.key("shot.mp4", 7)
    assert key.model == bundle.model_key()  # the encoder's checksum and pre-processing: see test_bundle.py
    predictor.set_frame(_frame(240, 320), media_id="shot.mp4", frame=7)
    assert key in cache
