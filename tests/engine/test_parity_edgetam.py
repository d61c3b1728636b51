"""Roto's EdgeTAM bundles against EdgeTAM's own PyTorch predictors, on the same random weights.

EdgeTAM's code is a fork of Meta's sam2 under the same module name, so its side runs in a child Python
(`edgetam_reference.py`, through `roto.engine.edgetam_env`), which also converts the very model it runs into the
bundle Roto's side loads. Image path: logits, IoU scores and low-res masks for points, a box, points and a box.
Video: 30 frames, two objects (a point, a box), forward propagation, a correction on frame 15 and propagation
again from there: per-frame logits, masks and object scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from roto.engine import edgetam_env
from roto.engine.bundle import load_bundle, verify_bundle
from roto.engine.predictor import ImagePredictor
from roto.engine.propagator import VideoPropagator
from roto.matte import resize_logits
from tests.engine import edgetam_reference as ref

FRAMES = 30
FRAME_HW = (270, 480)
LOGIT_TOL = 1e-4
SCORE_TOL = 1e-5
MIN_IOU = 0.99

pytestmark = pytest.mark.skipif(
    not edgetam_env.fork_available(), reason=f"EdgeTAM's code is not installed: {edgetam_env.INSTALL_HINT}"
)


class Frames:
    """Frames in memory: the reader protocol the propagator needs."""

    def __init__(self, frames: np.ndarray) -> None:
        self.frames = frames
        self.media_id = "edgetam-parity"

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    def read(self, index: int) -> np.ndarray:
        return self.frames[index]


@pytest.fixture(scope="module")
def clip(shared_media: Path) -> Frames:
    import cv2

    from roto.media import open_media

    with open_media(shared_media / "bedroom.mp4") as source:
        frames = [
            cv2.resize(np.array(source.read(i)), FRAME_HW[::-1], interpolation=cv2.INTER_AREA)
            for i in range(FRAMES)
        ]
    return Frames(np.stack(frames))


@pytest.fixture(scope="module")
def reference(clip: Frames, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, np.ndarray], Any]:
    """(EdgeTAM's outputs, the bundle converted from the same model)."""
    folder = tmp_path_factory.mktemp("edgetam")
    np.savez(folder / "frames.npz", frames=clip.frames)
    out = folder / "out"
    out.mkdir()
    edgetam_env.run_in_fork("tests.engine.edgetam_reference", [str(folder / "frames.npz"), str(out)])
    with np.load(out / "reference.npz") as data:
        results = {key: data[key] for key in data.files}
    return results, load_bundle(out / "bundle")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def test_the_converted_bundle_is_a_sound_edgetam_bundle(reference: Any) -> None:
    _, bundle = reference
    assert verify_bundle(bundle.path) == []
    assert bundle.family == "edgetam"
    assert bundle.manifest["perceiver"] == {"latents_1d": 16, "latents_2d": 16}


@pytest.mark.parametrize("name", list(ref.IMAGE_PROMPTS))
def test_image_prompts_match_edgetam(reference: Any, clip: Frames, name: str) -> None:
    results, bundle = reference
    prompt = ref.IMAGE_PROMPTS[name]
    ours = ImagePredictor.open(bundle)
    ours.set_frame(clip.frames[0])
    prediction = ours.predict(
        points=prompt.get("points"),
        labels=prompt.get("labels"),
        box=prompt.get("box"),
        multimask=prompt["multimask"],
    )
    ref_logits, ref_scores = results[f"image/{name}/logits"], results[f"image/{name}/scores"]
    logits = np.stack([prediction.logits(i) for i in range(len(prediction))])
    assert logits.shape == ref_logits.shape
    assert np.abs(logits - ref_logits).max() < LOGIT_TOL
    assert np.abs(prediction.scores - ref_scores).max() < SCORE_TOL
    low = np.stack([prediction.mask_input(i) for i in range(len(prediction))])
    assert np.abs(low - results[f"image/{name}/low"]).max() < LOGIT_TOL
    for index in range(len(prediction)):
        assert _iou(prediction.mask(index), ref_logits[index] > 0) >= 0.999
    assert prediction.best == int(np.argmax(ref_scores))


def _compare(ref_logits: np.ndarray, ours: np.ndarray, where: str) -> int:
    mine = resize_logits(ours, FRAME_HW)
    assert np.abs(mine - ref_logits).max() < LOGIT_TOL, where
    assert _iou(mine > 0, ref_logits > 0) >= MIN_IOU, where
    return int((mine > 0).sum())


def test_tracking_and_correction_match_edgetam(reference: Any, clip: Frames) -> None:
    results, bundle = reference
    ours = VideoPropagator.open(bundle, clip, fill_hole_area=0, memory_frames=7, logit_frames=4)
    first = ours.add_prompts(0, 1, ref.POINT, np.array([1]))
    boxed = ours.add_prompts(0, 2, box=ref.BOX)
    _compare(results["video/first"][0], first.logits[1], "frame 0, object 1")
    _compare(results["video/first"][1], boxed.logits[2], "frame 0, object 2")

    produced = list(ours.propagate())
    assert [r.frame for r in produced] == list(range(FRAMES))
    areas = []
    for result in produced:
        for slot, obj_id in enumerate((1, 2)):
            where = f"frame {result.frame}, object {obj_id}"
            areas.append(_compare(results["video/run"][result.frame][slot], result.logits[obj_id], where))
            score = results["video/run_scores"][result.frame][slot]
            assert abs(result.object_scores[obj_id] - score) < LOGIT_TOL, where
    assert min(areas) > 0, "every tracked mask should be non-empty with the present-object test model"

    for slot, obj_id in enumerate((1, 2)):
        fixed = ours.add_prompts(ref.FIX_FRAME, obj_id, ref.FIX_POINTS[obj_id], ref.FIX_LABELS[obj_id])
        _compare(results["video/fix"][slot], fixed.logits[obj_id], f"correction of object {obj_id}")
    for result in ours.propagate(start=ref.FIX_FRAME):
        for slot, obj_id in enumerate((1, 2)):
            expected = results["video/rerun"][result.frame - ref.FIX_FRAME][slot]
            _compare(expected, result.logits[obj_id], f"rerun frame {result.frame}, object {obj_id}")
    # Memories are perceiver tokens, spilled beyond the RAM budget and read back.
    assert ours._memories.get((1, 0)).shape[-2:] == (32, 16)
    assert ours._memories.in_memory <= 7 * 2 < len(ours._memories)  # window: num_maskmem per object
    ours.close()
