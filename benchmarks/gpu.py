"""Roto on an NVIDIA GPU against Meta's PyTorch predictor on the same GPU and weights, in one run; prints JSON.

    python benchmarks/gpu.py                      # on a GPU machine: tiny and base-plus, fp32 and fp16
    python benchmarks/gpu.py --device cpu --bundle test=tests/data/bundles/sam2.1-test --frames 2 \\
        --size 320x180 --objects 1 --clicks 2 --no-reference           # the CPU dry run CI keeps alive

For each variant (tiny, base-plus, and edgetam when a bundle for it is given or exported) and precision (fp32, fp16):
encoder ms per 1080p frame (pre-processing included), click-to-mask ms (decoder plus the full-size mask on the
host), propagation frames/s with 1 and 3 objects over a synthetic H.264 1080p clip (decode, pre-processing and
every object's full-size mask on the host included; the clip is decoded ahead in a thread, overlapping the model
work), GPU memory (peak, and its growth between a quarter and all of the shot: flat means near 0), and fp16's
agreement with fp32 (mask IoU, logit differences). Meta's side: SAM2VideoPredictor and SAM2ImagePredictor with the
same weights under bf16 autocast as Meta's demo runs them (`--torch-compile`: vos_optimized, as Meta's 91 FPS
figure for SAM2.1-tiny on an A100), timed on the same clip from JPEG frames Meta's loader reads up front.

Weights: `--bundle NAME=FOLDER` uses a bundle as it is (real weights), with `--checkpoint NAME=FILE.pt` for Meta's
side; otherwise both sides get the same seeded random weights (benchmarks/common.py): speed does not depend on them.
With --device cuda the run stops at once, with a message saying why, when CUDA does not start.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SEED, percentile, reference_model

from roto.engine.bundle import VARIANTS, load_bundle
from roto.engine.precision import fp16_bundle, measure_agreement
from roto.engine.predictor import decode_prompts
from roto.engine.service import EngineService
from roto.engine.session import RuntimeOptions, cuda_self_test

TARGETS = {"tiny_fp16_fps_1_object": 100.0, "speedup_over_meta": 1.5, "click_ms": 10.0}


class SyntheticClip:
    """Squares moving over a gradient, written once as an H.264/MPEG-4 file and decoded on demand (cv2)."""

    def __init__(self, folder: Path, frames: int, size: tuple[int, int]) -> None:
        self.path = folder / "clip.mp4"
        self.frames, self.size = frames, size
        self.media_id = f"synthetic-{frames}-{size[0]}x{size[1]}"
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), 24, size)
        for index in range(frames):
            writer.write(self.draw(index)[:, :, ::-1])
        writer.release()

    @property
    def frame_count(self) -> int:
        return self.frames

    def draw(self, index: int) -> np.ndarray:
        width, height = self.size
        ramp = np.linspace(20, 90, width, dtype=np.uint8)
        rgb = np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)
        for k, (colour, y) in enumerate(
            (((230, 200, 60), 0.3), ((60, 200, 230), 0.5), ((200, 60, 230), 0.7))
        ):
            x = int((0.1 + 0.2 * k) * width + 3 * index) % max(1, width - width // 8)
            top = int(y * height)
            rgb[top : top + height // 8, x : x + width // 8] = colour
        return rgb

    def points(self, objects: int) -> list[np.ndarray]:
        width, height = self.size
        return [
            np.array(
                [[(0.1 + 0.2 * k) * width + width / 16, (0.3 + 0.2 * k) * height + height / 16]], np.float32
            )
            for k in range(objects)
        ]

    def read(self, index: int) -> np.ndarray:  # random access (clicks); propagation reads through `ahead`
        capture = cv2.VideoCapture(str(self.path))
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = capture.read()
        capture.release()
        if not ok:
            raise RuntimeError(f"{self.path}: cannot decode frame {index}")
        return np.ascontiguousarray(bgr[:, :, ::-1])


class DecodeAhead:
    """Frames decoded in order by a thread a few frames ahead of the reader: decoding overlaps the model."""

    def __init__(self, clip: SyntheticClip, depth: int = 4) -> None:
        self.clip, self.media_id, self.frames = clip, clip.media_id + "-ahead", clip.frames
        self._queue: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(depth)
        threading.Thread(target=self._decode, daemon=True).start()

    @property
    def frame_count(self) -> int:
        return self.frames

    def _decode(self) -> None:
        capture = cv2.VideoCapture(str(self.clip.path))
        for index in range(self.frames):
            ok, bgr = capture.read()
            if not ok:
                raise RuntimeError(f"{self.clip.path}: cannot decode frame {index}")
            self._queue.put((index, np.ascontiguousarray(bgr[:, :, ::-1])))
        capture.release()

    def read(self, index: int) -> np.ndarray:
        got, rgb = self._queue.get()
        if got != index:
            raise RuntimeError(f"frames are decoded in order: asked for {index}, next is {got}")
        return rgb


class GpuMemory:
    """Used GPU memory (MiB, whole device, less what was in use at start) sampled every 10 ms by a thread."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.samples, self._stop = enabled, [0.0], threading.Event()
        self.base = self._used() if enabled else 0.0
        if enabled:
            threading.Thread(target=self._poll, daemon=True).start()

    def _used(self) -> float:
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            return float(pynvml.nvmlDeviceGetMemoryInfo(handle).used) / 2**20
        except Exception:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                capture_output=True,
                text=True,
                check=False,
            )
            return float(out.stdout.strip() or 0.0)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._used() - self.base)
            time.sleep(0.01)

    def now(self) -> float:
        return self._used() - self.base if self.enabled else 0.0

    def stop(self) -> float:
        self._stop.set()
        return round(max(self.samples), 1)


def _ms(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(1000 * percentile(times, 50), 2),
        "p95_ms": round(1000 * percentile(times, 95), 2),
    }


def time_encoder(engine: EngineService, clip: SyntheticClip, count: int) -> dict[str, float]:
    frames = [clip.draw(i) for i in range(count + 1)]
    engine.graphs.encoder(frames[-1])  # warm-up (cuDNN autotuning, TensorRT engine build)
    times = []
    for rgb in frames[:count]:
        start = time.perf_counter()
        engine.graphs.encoder(rgb)
        times.append(time.perf_counter() - start)
    return _ms(times)


def time_clicks(engine: EngineService, clip: SyntheticClip, count: int) -> dict[str, float]:
    """A click on an encoded frame: the decoder and the full-size mask on the host (what the editor waits for)."""
    point, label = clip.points(1)[0], np.array([1])
    embedding = engine.graphs.encoder(clip.draw(0))
    decode_prompts(engine.graphs.decoder, embedding, point, label).mask()  # warm-up
    times = []
    for k in range(count):
        start = time.perf_counter()
        decode_prompts(engine.graphs.decoder, embedding, point + k % 3, label).mask()
        times.append(time.perf_counter() - start)
    return _ms(times)


def time_propagation(engine: EngineService, clip: SyntheticClip, objects: int, gpu: bool) -> dict[str, Any]:
    reader = DecodeAhead(clip)
    memory = GpuMemory(gpu)
    video = engine.video(reader)
    try:
        for obj_id, point in enumerate(clip.points(objects), start=1):
            video.add_prompts(0, obj_id, point, np.array([1]))
        quarter, start = None, time.perf_counter()
        done = 0
        for result in video.propagate():
            for obj_id in result.logits:
                result.mask(obj_id)  # the full-size mask on the host, as the editor and `roto track` get it
            done += 1
            if done == max(1, clip.frames // 4):
                quarter = memory.now()
        elapsed = time.perf_counter() - start
        end = memory.now()
    finally:
        video.close()
    return {
        "frames": done,
        "fps": round(done / elapsed, 2),
        "gpu_memory_peak_mib": memory.stop(),
        "gpu_memory_growth_mib_quarter_to_end": round(end - (quarter or 0.0), 1),
    }


def meta_side(
    variant: str, checkpoint: Path | None, clip: SyntheticClip, args: argparse.Namespace
) -> dict[str, Any]:
    """Meta's predictors with the same weights on the same frames, bf16 autocast as in Meta's demo."""
    import torch
    from sam2.build_sam import build_sam2_video_predictor
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    from roto.engine.export_onnx import TEST_OVERRIDES, build_sam2_model

    device = args.device
    if device == "cuda":
        autocast: Any = torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        autocast = torch.autocast("cpu", enabled=False)

    def timed(work: Callable[[], object]) -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        work()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    out: dict[str, Any] = {}
    with torch.inference_mode(), autocast:
        model = (build_sam2_model(variant, checkpoint) if checkpoint else reference_model(variant)).to(device)
        weights = model.state_dict()
        image = SAM2ImagePredictor(model)
        side = model.image_size  # the predictor assumes 1024 px; the reduced test variant takes 256
        image._bb_feat_sizes = [(side // 4, side // 4), (side // 8, side // 8), (side // 16, side // 16)]
        frames = [clip.draw(i) for i in range(args.clicks + 1)]
        image.set_image(frames[-1])
        out["encoder"] = _ms([timed(lambda rgb=rgb: image.set_image(rgb)) for rgb in frames[: args.clicks]])
        point, label = clip.points(1)[0], np.array([1])
        out["click"] = _ms(
            [
                timed(lambda k=k: image.predict(point_coords=point + k % 3, point_labels=label))
                for k in range(args.clicks)
            ]
        )
        image.reset_predictor()
        extra = list(TEST_OVERRIDES) if VARIANTS[variant].reduced else []  # the reduced test variant
        predictor = build_sam2_video_predictor(
            VARIANTS[variant].config,
            None,
            device=device,
            hydra_overrides_extra=extra,
            vos_optimized=args.torch_compile,
        )
        predictor.load_state_dict(weights)
        predictor.add_all_frames_to_correct_as_cond = True
        with tempfile.TemporaryDirectory() as folder:
            for index in range(clip.frames):
                cv2.imwrite(str(Path(folder) / f"{index:05d}.jpg"), clip.draw(index)[:, :, ::-1])
            for objects in args.objects:
                state = predictor.init_state(video_path=folder)
                for obj_id, p in enumerate(clip.points(objects), start=1):
                    predictor.add_new_points_or_box(
                        state, 0, obj_id, points=p, labels=np.array([1], np.int32)
                    )
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                masks: list[int] = []

                def run(state: Any = state, masks: list[int] = masks) -> None:
                    for _, _, logits in predictor.propagate_in_video(state):
                        (logits > 0).cpu().numpy()  # the masks on the host, as Roto's side gets them
                        masks.append(1)

                elapsed = timed(run)
                done = len(masks)
                peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else 0.0
                out[f"propagation_{objects}_objects"] = {
                    "frames": done,
                    "fps": round(done / elapsed, 2),
                    "torch_peak_mib": round(peak, 1),
                }
                predictor.reset_state(state)
    return out


def roto_side(
    bundle_path: Path, precision: str, clip: SyntheticClip, args: argparse.Namespace
) -> dict[str, Any]:
    source = load_bundle(bundle_path)
    work = Path(tempfile.mkdtemp(prefix="roto-gpu-bench-"))  # never beside the given bundle (tests/data, say)
    bundle = fp16_bundle(source, work / f"{source.name}-fp16") if precision == "fp16" else source
    options = RuntimeOptions(provider=args.device, precision="fp32")  # the bundle as given: fp16 chosen above
    engine = EngineService.open(bundle, options)
    out: dict[str, Any] = {"bundle": bundle.name, "provider": engine.report.provider}
    out["fallback_reason"] = engine.report.fallback_reason
    out["encoder"] = time_encoder(engine, clip, args.clicks)
    out["click"] = time_clicks(engine, clip, args.clicks)
    for objects in args.objects:
        out[f"propagation_{objects}_objects"] = time_propagation(engine, clip, objects, args.device == "cuda")
    if precision == "fp16":
        short = SyntheticClip(work, min(8, clip.frames), clip.size)
        out["agreement_with_fp32"] = measure_agreement(
            source, bundle, short, tuple(short.points(1)[0][0]), options
        ).as_dict()
    return out


def random_weights_bundle(variant: str, folder: Path) -> Path:
    """The seeded random weights Meta's side gets (benchmarks/common.py) as a bundle, filled into the variant's
    graph template: seconds, where exporting through torch takes minutes of a lent GPU machine."""
    from roto.engine.templates import build_bundle, load_template

    state = {k: v.detach().cpu().numpy() for k, v in reference_model(variant).state_dict().items()}
    template = load_template(variant)
    template.check_state(state, Path(f"random weights of {variant}"))
    out = folder / f"sam2.1-{variant}-random"
    out.mkdir()
    return build_bundle(
        template, state, out, out.name, {"checkpoint": None, "checkpoint_sha256": None, "seed": SEED}
    )


def _pairs(values: list[str], what: str) -> dict[str, Path]:
    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not path:
            raise SystemExit(f"--{what} takes NAME=PATH, got {value!r}")
        pairs[name] = Path(path)
    return pairs


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, judged on SAM2.1-tiny fp16 with one object."""
    tiny = results.get("tiny", {})
    ours, meta = tiny.get("roto_fp16", {}), tiny.get("meta_pytorch_bf16", {})
    fps = ours.get("propagation_1_objects", {}).get("fps")
    meta_fps = meta.get("propagation_1_objects", {}).get("fps")
    click = ours.get("click", {}).get("median_ms")
    growth = [
        run.get("gpu_memory_growth_mib_quarter_to_end")
        for v in results.values()
        for side, r in v.items()
        if side.startswith("roto_")
        for key, run in r.items()
        if key.startswith("propagation_")
    ]
    return {
        "tiny_fp16_fps_at_least_100": None if fps is None else fps >= TARGETS["tiny_fp16_fps_1_object"],
        "tiny_fp16_at_least_1_5x_meta": None
        if not (fps and meta_fps)
        else fps / meta_fps >= TARGETS["speedup_over_meta"],
        "click_under_10_ms": None if click is None else click < TARGETS["click_ms"],
        "gpu_memory_growth_max_mib": max((g for g in growth if g is not None), default=None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument(
        "--variants", default="tiny,base-plus", help="comma-separated (edgetam when it has a bundle)"
    )
    parser.add_argument("--precisions", default="fp32,fp16")
    parser.add_argument("--bundle", action="append", default=[], help="NAME=FOLDER: use this bundle for NAME")
    parser.add_argument(
        "--checkpoint", action="append", default=[], help="NAME=FILE.pt: Meta's weights for NAME"
    )
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--objects", default="1,3")
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--no-reference", action="store_true", help="skip Meta's PyTorch side")
    parser.add_argument(
        "--torch-compile", action="store_true", help="Meta's side with vos_optimized (torch.compile)"
    )
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    args.objects = [int(v) for v in args.objects.split(",")]
    width, height = (int(v) for v in args.size.lower().split("x"))
    bundles, checkpoints = _pairs(args.bundle, "bundle"), _pairs(args.checkpoint, "checkpoint")
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS and v not in bundles]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}: give --bundle NAME=FOLDER for them")
    report: dict[str, Any] = {
        "benchmark": "gpu",
        "device": args.device,
        "size": f"{width}x{height}",
        "frames": args.frames,
        "targets": TARGETS,
        "results": {},
    }
    if args.device == "cuda":
        works, note = cuda_self_test()
        report["cuda"] = note
        if not works:
            report["error"] = f"CUDA does not run here: {note}"
            print(json.dumps(report, indent=2))
            return 2
        report["gpu"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        clip = SyntheticClip(Path(folder), args.frames, (width, height))
        for variant in variants:
            path = bundles.get(variant) or random_weights_bundle(variant, Path(folder))
            entry: dict[str, Any] = report["results"].setdefault(variant, {})
            for precision in args.precisions.split(","):
                entry[f"roto_{precision}"] = roto_side(path, precision, clip, args)
            if not args.no_reference and variant in VARIANTS:
                entry["meta_pytorch_bf16"] = meta_side(variant, checkpoints.get(variant), clip, args)
                for key, run in entry.items():
                    meta_run = entry["meta_pytorch_bf16"]
                    if key.startswith("roto_"):
                        for objects in args.objects:
                            name = f"propagation_{objects}_objects"
                            run[name]["speedup_over_meta"] = round(
                                run[name]["fps"] / meta_run[name]["fps"], 2
                            )
    report["verdicts"] = verdicts(report["results"])
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(
        code
    )  # the JSON is out: decode threads and torch's worker pools must not hold a lent GPU machine
