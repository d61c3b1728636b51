"""Segment everything against Meta's SAM2AutomaticMaskGenerator, same weights, same picture, same parameters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from roto.engine.automask import AutomaskParams, Cancelled, box_nms, generate_proposals
from roto.engine.service import EngineService, StillImage
from roto.errors import PromptError

SCORE_TOL = 1e-4  # predicted IoU, as the image parity test's scores
STABILITY_TOL = 0.01  # a few edge pixels on a mask of ~300 px flip between the two upsamplings
MIN_MASK_IOU = 0.98


@pytest.fixture(scope="module")
def shapes_rgb() -> np.ndarray:
    """A small picture of three flat shapes on a dark ground (80x60: the test model's cheap size)."""
    import cv2

    rgb = np.full((60, 80, 3), 30, np.uint8)
    cv2.rectangle(rgb, (5, 5), (30, 25), (250, 40, 40), -1)
    cv2.circle(rgb, (55, 38), 14, (40, 220, 60), -1)
    cv2.rectangle(rgb, (8, 40), (35, 55), (230, 230, 230), -1)
    return rgb


@pytest.fixture(scope="module")
def engine(contrast_pair: tuple[Any, Any]) -> EngineService:
    return EngineService.open(contrast_pair[1])


def _meta(model: Any, rgb: np.ndarray, params: AutomaskParams) -> list[dict[str, Any]]:
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    generator = SAM2AutomaticMaskGenerator(model, **asdict(params))
    size = model.image_size
    # Meta hard-codes the 1024 px feature sizes; the reduced test model runs at `size`.
    generator.predictor._bb_feat_sizes = [
        (size // 4, size // 4),
        (size // 8, size // 8),
        (size // 16, size // 16),
    ]
    return generator.generate(rgb)


def _compare(pair: tuple[Any, Any], engine: EngineService, rgb: np.ndarray, params: AutomaskParams) -> int:
    reference = _meta(pair[0], rgb, params)
    ours = generate_proposals(engine, StillImage(rgb), 0, params)
    assert len(ours) == len(reference)
    for ref, prop in zip(reference, ours, strict=True):
        ref_mask = ref["segmentation"]
        assert prop.mask.shape == ref_mask.shape
        union = np.logical_or(prop.mask, ref_mask).sum()
        assert np.logical_and(prop.mask, ref_mask).sum() >= MIN_MASK_IOU * union
        assert abs(prop.predicted_iou - ref["predicted_iou"]) < SCORE_TOL
        # an empty mask's stability is 0/0 in both (kept when the stability filter is off)
        assert prop.stability_score == pytest.approx(ref["stability_score"], abs=STABILITY_TOL, nan_ok=True)
        x0, y0, x1, y1 = prop.box
        assert np.abs(np.subtract([x0, y0, x1 - x0, y1 - y0], ref["bbox"])).max() <= 1
        assert prop.point == pytest.approx(tuple(ref["point_coords"][0]), abs=1e-4)
        cx0, cy0, cx1, cy1 = prop.crop_box
        assert [cx0, cy0, cx1 - cx0, cy1 - cy0] == ref["crop_box"]
        assert abs(prop.area - ref["area"]) <= 0.02 * ref["area"] + 1
    return len(ours)


def test_parity_many_masks_same_order(
    contrast_pair: tuple[Any, Any], engine: EngineService, shapes_rgb: np.ndarray
) -> None:
    """No NMS (threshold 1): every mask that passes the IoU and stability filters, in Meta's order."""
    params = AutomaskParams(
        points_per_side=6, pred_iou_thresh=0.45, stability_score_thresh=0.3, box_nms_thresh=1.0
    )
    assert _compare(contrast_pair, engine, shapes_rgb, params) > 30


def test_parity_nms_and_crops(
    contrast_pair: tuple[Any, Any], engine: EngineService, shapes_rgb: np.ndarray
) -> None:
    """Box NMS, a crop layer (crop-edge filter, NMS across crops with tied crop areas)."""
    params = AutomaskParams(
        points_per_side=4,
        pred_iou_thresh=0.0,
        stability_score_thresh=0.0,
        box_nms_thresh=0.9,
        crop_n_layers=1,
    )
    assert _compare(contrast_pair, engine, shapes_rgb, params) > 20


@pytest.mark.parametrize("change", [{"multimask_output": False}, {"use_m2m": True}])
def test_parity_single_mask_and_refinement(
    contrast_pair: tuple[Any, Any], engine: EngineService, shapes_rgb: np.ndarray, change: dict[str, bool]
) -> None:
    """Single-mask output (with SAM2's stability fallback) and the mask-to-mask refinement."""
    params = AutomaskParams(
        points_per_side=3, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0, **change
    )
    assert _compare(contrast_pair, engine, shapes_rgb, params) >= 3


def test_box_nms_matches_torchvision() -> None:
    """Same kept boxes in the same order as torchvision's batched_nms, ties and empty boxes included."""
    import torch
    from torchvision.ops import batched_nms

    rng = np.random.default_rng(3)
    corners = rng.integers(0, 40, (300, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1).astype(np.float32)
    scores = rng.choice(np.linspace(0.1, 0.9, 12), 300).astype(np.float32)  # many ties
    for threshold in (0.3, 0.7, 1.0):
        expected = batched_nms(
            torch.from_numpy(boxes), torch.from_numpy(scores), torch.zeros(300), threshold
        ).numpy()
        np.testing.assert_array_equal(box_nms(boxes, scores, threshold), expected)


def test_progress_counts_grid_points_over_crops(engine: EngineService, shapes_rgb: np.ndarray) -> None:
    seen: list[tuple[int, int]] = []
    params = AutomaskParams(points_per_side=2, crop_n_layers=1)
    generate_proposals(
        engine, StillImage(shapes_rgb), 0, params, lambda done, total: seen.append((done, total))
    )
    assert seen == [(done, 20) for done in range(1, 21)]  # 4 points on the frame, 4 on each of 4 crops


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("points_per_side", 0, "points_per_side must be at least 1"),
        ("pred_iou_thresh", 1.5, "pred_iou_thresh must be between 0 and 1"),
        ("points_per_batch", 2.5, "points_per_batch must be of type int"),
        ("box_nms_thresh", float("nan"), "box_nms_thresh must be a finite number"),
    ],
)
def test_bad_parameters_are_named(field: str, value: Any, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        AutomaskParams(**{field: value})


def test_cancel_stops_with_nothing(engine: EngineService, shapes_rgb: np.ndarray) -> None:
    with pytest.raises(Cancelled):
        generate_proposals(
            engine, StillImage(shapes_rgb), 0, AutomaskParams(points_per_side=4), cancel=lambda: True
        )
