"""Roto's VideoPropagator against Meta's SAM2VideoPredictor: same weights, same frames, same prompts.

30 frames of the sample clip, two objects (a point, a box), forward propagation, then a correction click half
way and propagation again from there, then backward propagation from a prompt on the last frame; and models whose
object score says "absent" on every frame, or changes sign along the shot (an object lost and found again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from roto.engine.propagator import VideoPropagator
from roto.engine.transforms import preprocess_image
from roto.matte import resize_logits

FRAMES = 30
LOGIT_TOL = 1e-4  # after 30 tracked frames with bfloat16 memories and a correction
MIN_IOU = 0.99


class ClipReader:
    """The first FRAMES frames of a clip, held in memory (small): the reader protocol the propagator needs."""

    def __init__(self, frames: list[np.ndarray], media_id: str) -> None:
        self.frames = frames
        self.media_id = media_id

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    def read(self, index: int) -> np.ndarray:
        return self.frames[index]


@pytest.fixture(scope="module")
def clip(shared_media: Path) -> ClipReader:
    from roto.media import open_media

    with open_media(shared_media / "bedroom.mp4") as source:
        frames = [np.array(source.read(i)) for i in range(FRAMES)]
        return ClipReader(frames, source.media_id)


def _meta_video(pair: tuple[Any, Any], frames: list[np.ndarray], folder: Path) -> tuple[Any, dict[str, Any]]:
    """Meta's SAM2VideoPredictor on the pair's weights, set up on `frames` with Roto's input tensors."""
    import cv2
    import torch
    from sam2.build_sam import build_sam2_video_predictor

    from roto.engine.export_onnx import TEST_OVERRIDES, VARIANTS

    model, bundle = pair
    predictor = build_sam2_video_predictor(
        VARIANTS["test"].config, None, device="cpu", hydra_overrides_extra=list(TEST_OVERRIDES)
    )
    predictor.load_state_dict(model.state_dict())
    predictor.fill_hole_area = 0  # Meta's hole filling needs its CUDA extension; off on both sides
    predictor.add_all_frames_to_correct_as_cond = True  # Roto's rule: a corrected frame is conditioning
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), frame[:, :, ::-1])
    state = predictor.init_state(video_path=str(folder), offload_video_to_cpu=True)
    settings = bundle.settings
    # Same input tensors on both sides: Meta's video loader resizes JPEG files with PIL, its image path with
    # torchvision; Roto follows the image path. The tracking, not the resize, is under test here.
    images = [
        preprocess_image(f, settings.image_size, settings.pixel_mean, settings.pixel_std) for f in frames
    ]
    state["images"] = torch.from_numpy(np.concatenate(images))
    state["cached_features"] = {}  # init_state warmed frame 0 up from its own loader
    return predictor, state


@pytest.fixture()
def reference(
    reference_pair: tuple[Any, Any], clip: ClipReader, tmp_path: Path
) -> tuple[Any, dict[str, Any]]:
    return _meta_video(reference_pair, clip.frames, tmp_path)


def _compare(ref_logits: Any, ours: Any, frame_hw: tuple[int, int], where: str) -> int:
    """Assert logits and thresholded masks agree; returns the mask area so callers can insist on real masks."""
    ref = ref_logits.numpy()[0]
    mine = resize_logits(ours, frame_hw)
    assert np.abs(mine - ref).max() < LOGIT_TOL, where
    a, b = mine > 0, ref > 0
    union = np.logical_or(a, b).sum()
    iou = 1.0 if union == 0 else np.logical_and(a, b).sum() / union
    assert iou >= MIN_IOU, where
    return int(a.sum())


def _reference_score(state: dict[str, Any], obj_slot: int, frame: int) -> float:
    outputs = state["output_dict_per_obj"][obj_slot]
    out = outputs["cond_frame_outputs"].get(frame) or outputs["non_cond_frame_outputs"][frame]
    return float(out["object_score_logits"])


def test_tracking_and_correction_match_meta(
    reference: tuple[Any, dict[str, Any]], reference_pair: Any, clip: ClipReader
) -> None:
    import torch

    predictor, state = reference
    _, bundle = reference_pair
    ours = VideoPropagator.open(bundle, clip, fill_hole_area=0, memory_frames=7, logit_frames=4)
    point = np.array([[480.0, 300.0]], np.float32)
    box = np.array([100.0, 150.0, 400.0, 450.0], np.float32)
    with torch.inference_mode():
        _, _, ref_first = predictor.add_new_points_or_box(
            state, 0, 1, points=point, labels=np.array([1], np.int32)
        )
        _, _, ref_box = predictor.add_new_points_or_box(state, 0, 2, box=box)
    first = ours.add_prompts(0, 1, point, np.array([1]))
    boxed = ours.add_prompts(0, 2, box=box)
    _compare(ref_first[0], first.logits[1], first.frame_hw, "frame 0, object 1")
    _compare(ref_box[1], boxed.logits[2], boxed.frame_hw, "frame 0, object 2")

    with torch.inference_mode():
        reference_run = {f: masks for f, _, masks in predictor.propagate_in_video(state)}
    produced = list(ours.propagate())
    assert [r.frame for r in produced] == list(range(FRAMES))
    areas = []
    for result in produced:
        for slot, obj_id in enumerate((1, 2)):
            where = f"frame {result.frame}"
            areas.append(
                _compare(reference_run[result.frame][slot], result.logits[obj_id], result.frame_hw, where)
            )
            assert (
                abs(result.object_scores[obj_id] - _reference_score(state, slot, result.frame)) < LOGIT_TOL
            ), where
    assert min(areas) > 0, "every tracked mask should be non-empty with the present-object test model"

    # Correction half way: a second click for object 1 on frame 15, then propagate again from there.
    fix_points = np.array([[480.0, 300.0], [700.0, 200.0]], np.float32)
    fix_labels = np.array([1, 0])
    with torch.inference_mode():
        _, _, ref_fix = predictor.add_new_points_or_box(
            state, 15, 1, points=fix_points, labels=fix_labels.astype(np.int32)
        )
        reference_run = {f: masks for f, _, masks in predictor.propagate_in_video(state, start_frame_idx=15)}
    fixed = ours.add_prompts(15, 1, fix_points, fix_labels)
    _compare(ref_fix[0], fixed.logits[1], fixed.frame_hw, "correction on frame 15")
    for result in ours.propagate(start=15):
        for slot, obj_id in enumerate((1, 2)):
            _compare(
                reference_run[result.frame][slot],
                result.logits[obj_id],
                result.frame_hw,
                f"rerun frame {result.frame}",
            )
    assert ours.prompted_frames(1) == [0, 15]
    # Memories beyond the RAM budget were spilled to disk and read back, not dropped.
    assert ours._memories.in_memory <= 7 * 2 < len(ours._memories)  # window: num_maskmem per object
    ours.close()


def test_backward_propagation_matches_meta(
    reference: tuple[Any, dict[str, Any]], reference_pair: Any, clip: ClipReader
) -> None:
    import torch

    predictor, state = reference
    _, bundle = reference_pair
    ours = VideoPropagator.open(bundle, clip, fill_hole_area=0)
    point = np.array([[300.0, 350.0]], np.float32)
    last = FRAMES - 1
    with torch.inference_mode():
        predictor.add_new_points_or_box(state, last, 7, points=point, labels=np.array([1], np.int32))
        reference_run = {
            f: m for f, _, m in predictor.propagate_in_video(state, start_frame_idx=last, reverse=True)
        }
    ours.add_prompts(last, 7, point, np.array([1]))
    produced = list(ours.propagate(start=last, reverse=True))
    assert [r.frame for r in produced] == list(range(last, -1, -1))
    for result in produced:
        _compare(reference_run[result.frame][0], result.logits[7], result.frame_hw, f"frame {result.frame}")
    ours.close()


def test_absent_object_gives_empty_masks_like_meta(
    absent_pair: tuple[Any, Any], clip: ClipReader, tmp_path: Path
) -> None:
    """A model that scores the object absent: SAM2 outputs empty masks and keeps tracking with its no-object memory."""
    import torch

    _, bundle = absent_pair
    frames = clip.frames[:8]
    predictor, state = _meta_video(absent_pair, frames, tmp_path)
    point = np.array([[480.0, 300.0]], np.float32)
    with torch.inference_mode():
        predictor.add_new_points_or_box(state, 0, 1, points=point, labels=np.array([1], np.int32))
        reference_run = {f: m for f, _, m in predictor.propagate_in_video(state)}
    ours = VideoPropagator.open(bundle, ClipReader(frames, clip.media_id), fill_hole_area=0)
    ours.add_prompts(0, 1, point, np.array([1]))
    for result in ours.propagate():
        assert result.object_scores[1] < 0
        assert not result.mask(1).any()
        assert (
            _compare(
                reference_run[result.frame][0], result.logits[1], result.frame_hw, f"frame {result.frame}"
            )
            == 0
        )
        assert abs(result.object_scores[1] - _reference_score(state, 0, result.frame)) < LOGIT_TOL
    ours.close()


def test_object_lost_and_found_again_like_meta(
    returning_pair: tuple[Any, Any], clip: ClipReader, tmp_path: Path
) -> None:
    """The object score changes sign along the shot: masks go empty and come back exactly where Meta's do.

    With `returning_pair` the object is present on the prompted frame and on grey frames, absent on the clip's
    other frames; so it is lost after the prompt, found again while the memory bank holds only "no object"
    memories, and lost again.
    """
    import torch

    grey = np.full_like(clip.frames[0], 128)
    frames = clip.frames[:8] + [grey] * 6 + clip.frames[8:16]
    predictor, state = _meta_video(returning_pair, frames, tmp_path)
    point = np.array([[480.0, 300.0]], np.float32)
    with torch.inference_mode():
        predictor.add_new_points_or_box(state, 0, 1, points=point, labels=np.array([1], np.int32))
        reference_run = {f: m for f, _, m in predictor.propagate_in_video(state)}
    _, bundle = returning_pair
    ours = VideoPropagator.open(bundle, ClipReader(frames, clip.media_id), fill_hole_area=0)
    ours.add_prompts(0, 1, point, np.array([1]))
    present = []
    for result in ours.propagate():
        where = f"frame {result.frame}"
        area = _compare(reference_run[result.frame][0], result.logits[1], result.frame_hw, where)
        score = result.object_scores[1]
        assert abs(score - _reference_score(state, 0, result.frame)) < LOGIT_TOL, where
        assert abs(score) > 0.1, f"{where}: score {score} too close to zero to tell present from absent"
        assert (area > 0) == (score > 0), where
        present.append(score > 0)
    ours.close()
    assert present == [True] + [False] * 7 + [True] * 6 + [False] * 8


def _disc(frame_hw: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    yy, xx = np.mgrid[: frame_hw[0], : frame_hw[1]]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2


def test_mask_prompts_match_meta_add_new_mask(
    reference: tuple[Any, dict[str, Any]], reference_pair: Any, clip: ClipReader
) -> None:
    """Painted masks as prompts: a first mask, a mask correcting a tracked frame, and a mask erased to nothing."""
    import torch

    predictor, state = reference
    _, bundle = reference_pair
    ours = VideoPropagator.open(bundle, clip, fill_hole_area=0, memory_frames=7, logit_frames=4)
    frame_hw = clip.frames[0].shape[:2]
    point = np.array([[480.0, 300.0]], np.float32)
    painted = _disc(frame_hw, (250.0, 300.0), 120.0)
    with torch.inference_mode():
        predictor.add_new_points_or_box(state, 0, 1, points=point, labels=np.array([1], np.int32))
        _, _, ref_painted = predictor.add_new_mask(state, 0, 2, painted)
    ours.add_prompts(0, 1, point, np.array([1]))
    first = ours.add_mask(0, 2, painted)
    assert _compare(ref_painted[1], first.logits[2], frame_hw, "painted frame 0") > 0
    assert first.object_scores[2] == 10.0  # SAM2: +10 for a non-empty mask

    with torch.inference_mode():
        reference_run = {f: masks for f, _, masks in predictor.propagate_in_video(state)}
    for result in ours.propagate():
        for slot, obj_id in enumerate((1, 2)):
            _compare(
                reference_run[result.frame][slot], result.logits[obj_id], frame_hw, f"frame {result.frame}"
            )

    # A stroke on tracked frame 12 (object 1's mask plus a disc), object 2 erased on frame 20; then again.
    stroke = (reference_run[12][0].numpy()[0, 0] > 0) | _disc(frame_hw, (600.0, 200.0), 60.0)
    erased = np.zeros(frame_hw, bool)
    with torch.inference_mode():
        _, _, ref_stroke = predictor.add_new_mask(state, 12, 1, stroke)
        _, _, ref_erased = predictor.add_new_mask(state, 20, 2, erased)
        reference_run = {f: masks for f, _, masks in predictor.propagate_in_video(state, start_frame_idx=12)}
    corrected = ours.add_mask(12, 1, stroke)
    _compare(ref_stroke[0], corrected.logits[1], frame_hw, "stroke on frame 12")
    assert _compare(ref_erased[1], ours.add_mask(20, 2, erased).logits[2], frame_hw, "erased frame 20") == 0
    rerun = list(ours.propagate(start=12))
    assert [r.frame for r in rerun] == list(range(12, FRAMES))
    for result in rerun:
        for slot, obj_id in enumerate((1, 2)):
            where = f"rerun frame {result.frame}"
            _compare(reference_run[result.frame][slot], result.logits[obj_id], frame_hw, where)
            assert (
                abs(result.object_scores[obj_id] - _reference_score(state, slot, result.frame)) < LOGIT_TOL
            ), where
    assert ours.prompted_frames(1) == [0, 12] and ours.prompted_frames(2) == [0, 20]
    # The painted frame keeps the paint: its mask is the stroke, resized to the model and back.
    kept = rerun[0].mask(1)
    assert (kept != stroke).mean() < 0.01
    ours.close()
