"""Roto's ONNX image path against Meta's SAM2ImagePredictor, same weights, same image, same prompts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from roto.engine.predictor import ImagePredictor

LOGIT_TOL = 1e-4
SCORE_TOL = 1e-5
MIN_IOU = 0.999


@pytest.fixture(scope="module")
def predictors(reference_pair: tuple[Any, Any]) -> tuple[Any, ImagePredictor]:
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    model, bundle = reference_pair
    reference = SAM2ImagePredictor(model)
    size = model.image_size
    # Meta hard-codes the 1024 px feature sizes; the reduced test model runs at `size`.
    reference._bb_feat_sizes = [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]
    return reference, ImagePredictor.open(bundle)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _compare(reference: Any, ours: ImagePredictor, multimask: bool, **prompt: Any) -> None:
    ref_logits, ref_scores, ref_low = reference.predict(
        point_coords=prompt.get("points"),
        point_labels=prompt.get("labels"),
        box=prompt.get("box"),
        mask_input=prompt.get("ref_mask_input"),
        multimask_output=multimask,
        return_logits=True,
    )
    prediction = ours.predict(
        points=prompt.get("points"),
        labels=prompt.get("labels"),
        box=prompt.get("box"),
        mask_input=prompt.get("mask_input"),
        multimask=multimask,
    )
    assert len(prediction) == (3 if multimask else 1)
    logits = np.stack([prediction.logits(i) for i in range(len(prediction))])
    assert logits.shape == ref_logits.shape
    assert np.abs(logits - ref_logits).max() < LOGIT_TOL
    assert np.abs(prediction.scores - ref_scores).max() < SCORE_TOL
    low = np.stack([prediction.mask_input(i) for i in range(len(prediction))])
    assert np.abs(low - ref_low).max() < LOGIT_TOL
    for index in range(len(prediction)):
        assert _iou(prediction.mask(index), ref_logits[index] > 0) >= MIN_IOU
    assert prediction.best == int(np.argmax(ref_scores))


PROMPTS = {
    "one point": {"points": np.array([[500.0, 375.0]]), "labels": np.array([1])},
    "points": {
        "points": np.array([[500.0, 375.0], [1100.0, 600.0], [1500.0, 900.0]]),
        "labels": np.array([1, 0, 1]),
    },
    "box": {"box": np.array([100.0, 200.0, 900.0, 700.0])},
    "points and box": {
        "points": np.array([[500.0, 375.0], [850.0, 650.0]]),
        "labels": np.array([1, 0]),
        "box": np.array([100.0, 200.0, 900.0, 700.0]),
    },
}


@pytest.mark.parametrize("multimask", [True, False], ids=["multimask", "single"])
@pytest.mark.parametrize("name", list(PROMPTS))
def test_prompts_match_meta(predictors: Any, truck_rgb: np.ndarray, name: str, multimask: bool) -> None:
    reference, ours = predictors
    reference.set_image(truck_rgb)
    ours.set_frame(truck_rgb)
    _compare(reference, ours, multimask, **PROMPTS[name])


def test_mask_input_refinement_matches_meta(predictors: Any, truck_rgb: np.ndarray) -> None:
    reference, ours = predictors
    reference.set_image(truck_rgb)
    ours.set_frame(truck_rgb)
    first = ours.predict(points=np.array([[500.0, 375.0]]), labels=np.array([1]))
    _, ref_scores, ref_low = reference.predict(
        point_coords=np.array([[500.0, 375.0]]), point_labels=np.array([1]), multimask_output=True
    )
    best = int(np.argmax(ref_scores))
    assert first.best == best
    refine = {"points": np.array([[500.0, 375.0], [300.0, 300.0]]), "labels": np.array([1, 1])}
    for multimask in (False, True):
        _compare(
            reference,
            ours,
            multimask,
            mask_input=first.mask_input(),
            ref_mask_input=ref_low[best : best + 1],
            **refine,
        )


@pytest.mark.parametrize("shape", [(240, 320), (1080, 1920), (1280, 720), (333, 517)])
def test_any_frame_size_matches_meta(predictors: Any, truck_rgb: np.ndarray, shape: tuple[int, int]) -> None:
    import cv2

    reference, ours = predictors
    height, width = shape
    frame = cv2.resize(truck_rgb, (width, height), interpolation=cv2.INTER_AREA)
    reference.set_image(frame)
    ours.set_frame(frame)
    point = {
        "points": np.array([[width * 0.3, height * 0.4], [width * 0.7, height * 0.6]]),
        "labels": np.array([1, 0]),
    }
    _compare(reference, ours, True, **point)
