"""EdgeTAM's own PyTorch predictors on a reduced random-weight EdgeTAM: the reference side of the EdgeTAM parity
tests (test_parity_edgetam.py).

It runs in a child Python whose `sam2` is EdgeTAM's fork (`roto.engine.edgetam_env.run_in_fork`), since Meta's
sam2 owns that name in the test process. It builds the model (seeded), converts a copy with Roto's converter into
OUT/bundle, and writes to OUT/reference.npz what EdgeTAM's SAM2ImagePredictor and SAM2VideoPredictor give on the
frames in IN (an .npz of uint8 RGB frames) for the prompts below. Importing this module needs neither torch nor
sam2: the test reads the prompts from here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SEED = 0
POINT = np.array([[240.0, 150.0]], np.float32)  # object 1, frame 0
BOX = np.array([50.0, 75.0, 200.0, 225.0], np.float32)  # object 2, frame 0
FIX_FRAME = 15  # a correction for each object
FIX_POINTS = {
    1: np.array([[240.0, 150.0], [350.0, 100.0]], np.float32),
    2: np.array([[120.0, 150.0]], np.float32),
}
FIX_LABELS = {1: np.array([1, 0], np.int32), 2: np.array([1], np.int32)}
IMAGE_PROMPTS = {
    "one point": {"points": np.array([[250.0, 190.0]]), "labels": np.array([1]), "multimask": True},
    "box": {"box": np.array([50.0, 60.0, 450.0, 250.0]), "multimask": False},
    "points and box": {
        "points": np.array([[250.0, 190.0], [425.0, 230.0]]),
        "labels": np.array([1, 0]),
        "box": np.array([50.0, 60.0, 450.0, 250.0]),
        "multimask": True,
    },
}


def _image_reference(model: object, frame: np.ndarray, out: dict[str, np.ndarray]) -> None:
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(model)
    size = int(model.image_size)  # type: ignore[attr-defined]
    predictor._bb_feat_sizes = [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]
    predictor.set_image(frame)
    for name, prompt in IMAGE_PROMPTS.items():
        logits, scores, low = predictor.predict(
            point_coords=prompt.get("points"),
            point_labels=prompt.get("labels"),
            box=prompt.get("box"),
            multimask_output=bool(prompt["multimask"]),
            return_logits=True,
        )
        out[f"image/{name}/logits"], out[f"image/{name}/scores"], out[f"image/{name}/low"] = (
            logits,
            scores,
            low,
        )


def _video_reference(model: object, frames: np.ndarray, folder: Path, out: dict[str, np.ndarray]) -> None:
    import cv2
    import torch
    from sam2.build_sam import build_sam2_video_predictor

    from roto.engine.bundle import VARIANTS
    from roto.engine.export_edgetam import TEST_OVERRIDES
    from roto.engine.transforms import preprocess_image

    predictor = build_sam2_video_predictor(
        VARIANTS["edgetam-test"].config, None, device="cpu", hydra_overrides_extra=list(TEST_OVERRIDES)
    )
    predictor.load_state_dict(model.state_dict())  # type: ignore[attr-defined]
    predictor.fill_hole_area = 0  # hole filling needs EdgeTAM's CUDA extension; off on both sides
    predictor.add_all_frames_to_correct_as_cond = True  # Roto's rule: a corrected frame is conditioning
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), frame[:, :, ::-1])
    size = int(predictor.image_size)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    # The same input tensors as Roto's (its image path's resize): tracking is under test, not JPEG resizing.
    images = torch.from_numpy(np.concatenate([preprocess_image(f, size, mean, std) for f in frames]))
    prompts = {1: {"points": POINT, "labels": np.array([1], np.int32)}, 2: {"box": BOX}}
    first, fix, run, rerun, scores = [], [], [], [], []
    # One state per object: EdgeTAM's perceiver cannot encode the memories of several objects in one batch
    # (PerceiverResampler.forward_2d views an expanded tensor), and per object is how Roto tracks anyway.
    for obj_id, prompt in prompts.items():
        state = predictor.init_state(video_path=str(folder), offload_video_to_cpu=True)
        state["images"] = images
        state["cached_features"] = {}
        with torch.inference_mode():
            _, _, masks = predictor.add_new_points_or_box(state, 0, obj_id, **prompt)
            first.append(masks[0, 0].numpy())
            tracked = {f: m[0, 0].numpy() for f, _, m in predictor.propagate_in_video(state)}
            run.append(np.stack([tracked[f] for f in range(len(frames))]))
            outputs = state["output_dict_per_obj"][0]
            scores.append(
                [
                    float(
                        (outputs["cond_frame_outputs"].get(f) or outputs["non_cond_frame_outputs"][f])[
                            "object_score_logits"
                        ].reshape(-1)[0]
                    )
                    for f in range(len(frames))
                ]
            )
            _, _, masks = predictor.add_new_points_or_box(
                state, FIX_FRAME, obj_id, points=FIX_POINTS[obj_id], labels=FIX_LABELS[obj_id]
            )
            fix.append(masks[0, 0].numpy())
            tracked = {
                f: m[0, 0].numpy()
                for f, _, m in predictor.propagate_in_video(state, start_frame_idx=FIX_FRAME)
            }
            rerun.append(np.stack([tracked[f] for f in range(FIX_FRAME, len(frames))]))
    out["video/first"], out["video/fix"] = np.stack(first), np.stack(fix)
    out["video/run"], out["video/rerun"] = np.stack(run, axis=1), np.stack(rerun, axis=1)
    out["video/run_scores"] = np.array(scores, np.float32).T


def main(source: Path, out: Path) -> None:
    import copy

    from roto.engine.export_edgetam import build_edgetam_model
    from roto.engine.export_onnx import ExportRequest, export_bundle
    from roto.engine.template_export import randomise

    frames = np.load(source)["frames"]
    # Every weight randomised: BatchNorm statistics far from their initial identity, so RepViT's folded convs
    # (export_edgetam._reparameterise) are checked against EdgeTAM's unfolded ones.
    model = randomise(build_edgetam_model("edgetam-test", None, seed=SEED), SEED)
    # The export rewrites the model's RoPE for ONNX: keep the reference on EdgeTAM's own complex-valued code.
    export_bundle(ExportRequest("edgetam-test", out / "bundle", seed=SEED), model=copy.deepcopy(model))
    results: dict[str, np.ndarray] = {}
    _image_reference(model, frames[0], results)
    (out / "jpeg").mkdir()
    _video_reference(model, frames, out / "jpeg", results)
    np.savez(out / "reference.npz", **results)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
