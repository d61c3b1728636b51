"""Encoder time per frame and click-to-mask latency: Roto (ONNX Runtime) vs Meta's SAM2ImagePredictor, same weights.

Runs on the full-size random-weight SAM2.1 bundle (exported once under local/); optionally also the dynamically
quantised int8 encoder, with its speed and its mask agreement with fp32. Prints JSON.

Click-to-mask = decoder + one clean 1080p mask: holes filled and islands removed on the low-res logits (SAM2's
own post-processing, roto.matte.clean_logits on both sides), then upsampled and thresholded. Meta's predictor
upsamples all three candidates inside predict(); Roto upsamples only the one shown.

    .venv/bin/python benchmarks/click_latency.py [--variant tiny] [--frames 3] [--clicks 20] [--threads 2] [--int8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_MEDIA, emit, percentile, random_bundle, reference_model

from roto.engine.bundle import Bundle, load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.quantize import quantized_bundle
from roto.engine.service import EngineService, StillImage
from roto.engine.session import RuntimeOptions
from roto.matte import clean_logits

HOLE_AREA = 400  # frame pixels
ISLAND_AREA = 400


def frame_1080p() -> np.ndarray:
    image = cv2.imread(str(SHARED_MEDIA / "truck.jpg"))
    if image is None:
        raise SystemExit(f"sample image missing: {SHARED_MEDIA / 'truck.jpg'}")
    return cv2.cvtColor(cv2.resize(image, (1920, 1080), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def clicks(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        points = rng.uniform((0, 0), (1919, 1079), size=(2, 2)).astype(np.float32)
        out.append((points, np.array([1, 0])))
    return out


def open_engine(bundle: Bundle, options: RuntimeOptions) -> EngineService:
    """The editor's path: one service, its embeddings in a RAM cache (no disk tier: timings stay cold)."""
    return EngineService.open(bundle, options, EmbeddingCache(256 << 20))


def time_ours(engine: EngineService, image: np.ndarray, frames: int, prompts: list) -> dict[str, float]:
    encode = []
    for _ in range(frames):
        start = time.perf_counter()
        engine.graphs.encoder(image)  # no key: bypasses the cache, times the encoder itself
        encode.append(time.perf_counter() - start)
    still = StillImage(image)
    engine.encode(still, 0)  # into the cache, as the editor encodes the shown frame before the click
    latency = []
    for points, labels in prompts:
        start = time.perf_counter()
        prediction = engine.predict(still, 0, points, labels, multimask=True)
        prediction.mask(hole_area=HOLE_AREA, island_area=ISLAND_AREA)
        latency.append(time.perf_counter() - start)
    return summary(encode, latency)


def time_reference(image: np.ndarray, frames: int, prompts: list, model: Any) -> dict[str, float]:
    """The same timings with the SAM2ImagePredictor of whichever `sam2` is importable (Meta's, or EdgeTAM's fork
    in benchmarks/edgetam_speed.py's child) on `model`."""
    import torch
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(model)
    encode = []
    with torch.inference_mode():
        for _ in range(frames):
            start = time.perf_counter()
            predictor.set_image(image)
            encode.append(time.perf_counter() - start)
        latency = []
        for points, labels in prompts:
            start = time.perf_counter()
            _, scores, low_res = predictor.predict(
                point_coords=points, point_labels=labels, multimask_output=True
            )
            best = int(np.argmax(scores))
            cleaned = clean_logits(low_res[best], image.shape[:2], HOLE_AREA, ISLAND_AREA)
            upsampled = predictor._transforms.postprocess_masks(
                torch.from_numpy(cleaned)[None, None], image.shape[:2]
            )
            (upsampled > 0).numpy()
            latency.append(time.perf_counter() - start)
    return summary(encode, latency)


def summary(encode: list[float], latency: list[float]) -> dict[str, float]:
    return {
        "encoder_s_median": statistics.median(encode),
        "click_to_mask_ms_median": 1000 * statistics.median(latency),
        "click_to_mask_ms_p95": 1000 * percentile(latency, 95),
    }


def int8_agreement(fp32: EngineService, int8: EngineService, image: np.ndarray, prompts: list) -> float:
    """Mean IoU between fp32 and int8 best masks over the prompts."""
    still = StillImage(image)
    ious = []
    for points, labels in prompts:
        a = fp32.predict(still, 0, points, labels).mask()
        b = int8.predict(still, 0, points, labels).mask()
        union = np.logical_or(a, b).sum()
        ious.append(1.0 if union == 0 else float(np.logical_and(a, b).sum() / union))
    return float(np.mean(ious))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variant", default="tiny")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--int8", action="store_true", help="also time the dynamically quantised int8 encoder"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip Meta's PyTorch predictor")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    bundle = load_bundle(random_bundle(args.variant))
    image = frame_1080p()
    prompts = clicks(args.clicks)
    options = RuntimeOptions(provider="cpu", threads=args.threads)
    ours = open_engine(bundle, options)
    result: dict[str, object] = {
        "benchmark": "click_latency",
        "bundle": bundle.name,
        "input": "1920x1080",
        "threads": args.threads,
        "frames": args.frames,
        "clicks": args.clicks,
        "roto_onnx": time_ours(ours, image, args.frames, prompts),
    }
    if not args.no_reference:
        ref = time_reference(image, args.frames, prompts, reference_model(args.variant))
        mine = result["roto_onnx"]
        assert isinstance(mine, dict)
        result["meta_pytorch"] = ref
        result["speedup"] = {
            "encoder": ref["encoder_s_median"] / mine["encoder_s_median"],
            "click_to_mask": ref["click_to_mask_ms_median"] / mine["click_to_mask_ms_median"],
        }
    if args.int8:
        int8 = open_engine(quantized_bundle(bundle), options)
        result["roto_onnx_int8_encoder"] = time_ours(int8, image, args.frames, prompts)
        result["int8_mask_iou_vs_fp32"] = int8_agreement(ours, int8, image, prompts)
    emit(result)


if __name__ == "__main__":
    main()
