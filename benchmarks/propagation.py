"""Video propagation: frames/s against Meta's SAM2VideoPredictor (same weights), and peak RSS against shot length.

    .venv/bin/python benchmarks/propagation.py speed [--variant tiny] [--frames 50] [--threads 2] [--int8] [--no-reference]
    .venv/bin/python benchmarks/propagation.py rss [--variant test] [--lengths 200,2000]

`speed` tracks one object over FRAMES frames of 1080p (the sample clip scaled up) with the full-size random-weight
bundle, and with --int8 also with its int8 encoder (`roto models quantize`). `rss` runs one fresh process per shot
length and reports each one's peak RSS and the ratio between the longest and the shortest (flat memory: ratio
near 1). RSS includes the two bounded caches an editor session has (decoded frames 64 MiB, embeddings --cache-mib):
once they are full nothing else grows. Frames are decoded as propagation reaches them; the clip is looped for shots
longer than it. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_MEDIA, child_json, emit, peak_rss_mib, random_bundle, reference_model

from roto.engine.bundle import load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.propagator import VideoPropagator
from roto.engine.quantize import quantized_bundle
from roto.engine.service import EngineService
from roto.engine.session import RuntimeOptions
from roto.media import open_media

SIZE = (1920, 1080)
POINT = np.array([[960.0, 600.0]], np.float32)


class LoopedClip:
    """The sample clip at 1080p, looped to any length, decoded on demand (nothing kept)."""

    def __init__(self, frames: int) -> None:
        self.source = open_media(SHARED_MEDIA / "bedroom.mp4", cache_bytes=64 << 20)
        self.frames = frames
        self.media_id = f"{self.source.media_id}-1080p-loop"

    @property
    def frame_count(self) -> int:
        return self.frames

    def read(self, index: int) -> np.ndarray:
        frame = self.source.read(index % self.source.frame_count)
        return cv2.resize(frame, SIZE, interpolation=cv2.INTER_LINEAR)


class GraphClock:
    """Wall time spent in each graph of this process: `BoundGraph.run` is wrapped for the benchmark's own child
    process (two clock reads a run)."""

    def __init__(self) -> None:
        from roto.engine import device

        self.seconds: dict[int, float] = {}
        run = device.BoundGraph.run

        def timed(graph: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return run(graph, *args, **kwargs)
            finally:
                self.seconds[id(graph)] = self.seconds.get(id(graph), 0.0) + time.perf_counter() - start

        device.BoundGraph.run = timed  # type: ignore[method-assign]

    def per_frame_ms(self, engine: EngineService, frames: int, elapsed: float) -> dict[str, float]:
        """Milliseconds per frame in each of the engine's graphs, in Roto's small helper graphs (bfloat16 rounding,
        stacking) and in everything else (decoding, Python, bookkeeping)."""
        graphs = engine.graphs
        named = {
            id(graphs.encoder.preprocess): "preprocess",
            id(graphs.encoder.graph): "image_encoder",
            id(graphs.memory_attention): "memory_attention",
            id(graphs.decoder.graph): "prompt_decoder",
            id(graphs.memory_encoder): "memory_encoder",
        }
        out: dict[str, float] = {}
        for key, seconds in self.seconds.items():
            name = f"{named.get(key, 'helper_graphs')}_ms"
            out[name] = out.get(name, 0.0) + 1000 * seconds / frames
        out["outside_graphs_ms"] = 1000 * (elapsed - sum(self.seconds.values())) / frames
        return out


def _tracking(
    bundle_path: Path, frames: int, threads: int, cache_mib: int
) -> tuple[EngineService, VideoPropagator, float]:
    """An engine on `bundle_path` about to track one object over `frames` frames of the looped clip, and the seconds
    its memory graphs took to open. They open on the first tracked frame, once per model load: opened here, apart,
    so that a run's frames/s is the rate a shot of any length is tracked at (20 frames would otherwise carry
    0.2-0.3 s of opening each)."""
    bundle = load_bundle(bundle_path)
    engine = EngineService.open(
        bundle, RuntimeOptions(provider="cpu", threads=threads), EmbeddingCache(cache_mib << 20)
    )
    propagator = engine.video(LoopedClip(frames))
    propagator.add_prompts(0, 1, POINT, np.array([1]))
    start = time.perf_counter()
    _ = engine.graphs.memory_attention  # opens the memory encoder too
    return engine, propagator, time.perf_counter() - start


def run_ours(bundle_path: Path, frames: int, threads: int, cache_mib: int = 64) -> dict[str, Any]:
    engine, propagator, memory_graphs_open_s = _tracking(bundle_path, frames, threads, cache_mib)
    clock = GraphClock()
    stamps = [time.perf_counter()]  # then one as each frame is yielded
    stamps += [time.perf_counter() for _ in propagator.propagate()]
    done, elapsed = len(stamps) - 1, stamps[-1] - stamps[0]
    per_frame = clock.per_frame_ms(engine, done, elapsed)
    propagator.close()
    # Frame t attends to the prompted frame and the t - 1 frames before it until the memory bank is full (t =
    # num_maskmem): a short shot has more of those cheaper frames. The rate from there on is any longer shot's.
    full = engine.bundle.settings.num_maskmem
    steady_frames = done - full
    return {
        "frames": done,
        "seconds": elapsed,
        "fps": done / elapsed,
        "steady_frames": steady_frames,
        "steady_fps": steady_frames / (stamps[-1] - stamps[full]) if steady_frames > 0 else None,
        "memory_graphs_open_s": memory_graphs_open_s,
        "peak_rss_mib": peak_rss_mib(),
        "per_frame": per_frame,
    }


def run_paired(bundle_paths: list[Path], frames: int, threads: int, cache_mib: int = 64) -> dict[str, Any]:
    """The seconds each frame took for each bundle, tracking the same object with their frames interleaved (the
    first bundle's frame t, the second's frame t, then frame t + 1), so that each frame of one is timed within
    seconds of the same frame of the other.

    On a shared VM the machine's speed drifts by 15 % or more over tens of seconds, and separate runs of a slow
    and a fast model fall in different spells; paired frames share theirs, so their ratio keeps the models'
    difference and loses most of the drift. Both engines share the process's one CPU arena (session.py), which
    each of them alone also fills to its largest run, and each frame's graphs already evict the last frame's from
    the caches; peak RSS here is both models', not one's.
    """
    tracks = [_tracking(path, frames, threads, cache_mib) for path in bundle_paths]
    runs = [iter(propagator.propagate()) for _, propagator, _ in tracks]
    seconds: list[list[float]] = [[] for _ in runs]
    for _ in range(frames):
        for run, times in zip(runs, seconds, strict=True):
            start = time.perf_counter()
            next(run)
            times.append(time.perf_counter() - start)
    for _, propagator, _ in tracks:
        propagator.close()
    return {
        "bundles": [path.name for path in bundle_paths],
        "frame_seconds": seconds,
        "steady_from": [engine.bundle.settings.num_maskmem for engine, _, _ in tracks],
    }


def run_reference(variant: str, frames: int, folder: Path, model: Any = None) -> dict[str, float]:
    """The PyTorch video predictor of whichever `sam2` is importable (Meta's, or EdgeTAM's fork in its child) on
    `model`'s weights (default: `reference_model(variant)`, the random bundle's)."""
    import torch
    from sam2.build_sam import build_sam2_video_predictor

    from roto.engine.bundle import VARIANTS

    clip = LoopedClip(frames)
    for index in range(frames):
        cv2.imwrite(str(folder / f"{index:05d}.jpg"), clip.read(index)[:, :, ::-1])
    predictor = build_sam2_video_predictor(VARIANTS[variant].config, None, device="cpu")
    predictor.load_state_dict((model if model is not None else reference_model(variant)).state_dict())
    predictor.add_all_frames_to_correct_as_cond = True
    with torch.inference_mode():
        state = predictor.init_state(video_path=str(folder), offload_video_to_cpu=True)
        predictor.add_new_points_or_box(state, 0, 1, points=POINT, labels=np.array([1], np.int32))
        start = time.perf_counter()
        done = sum(1 for _ in predictor.propagate_in_video(state))
        elapsed = time.perf_counter() - start
    return {"frames": done, "seconds": elapsed, "fps": done / elapsed, "peak_rss_mib": peak_rss_mib()}


def speed(args: argparse.Namespace) -> None:
    import tempfile

    import torch

    torch.set_num_threads(args.threads)
    bundle_path = random_bundle(args.variant)
    result: dict[str, object] = {
        "benchmark": "propagation_speed",
        "bundle": bundle_path.name,
        "input": f"{SIZE[0]}x{SIZE[1]}",
        "threads": args.threads,
        "roto_onnx": run_ours(bundle_path, args.frames, args.threads),
    }
    if args.int8:
        int8_path = quantized_bundle(load_bundle(bundle_path)).path
        result["roto_onnx_int8_encoder"] = run_ours(int8_path, args.frames, args.threads)
    if not args.no_reference:
        with tempfile.TemporaryDirectory() as folder:
            result["meta_pytorch"] = run_reference(args.variant, args.frames, Path(folder))
        ours, ref = result["roto_onnx"], result["meta_pytorch"]
        assert isinstance(ours, dict) and isinstance(ref, dict)
        result["speedup"] = ours["fps"] / ref["fps"]
        if args.int8:
            int8 = result["roto_onnx_int8_encoder"]
            assert isinstance(int8, dict)
            result["speedup_int8_encoder"] = int8["fps"] / ref["fps"]
    emit(result)


def rss(args: argparse.Namespace) -> None:
    bundle_path = random_bundle(args.variant)
    runs = {}
    for length in (int(v) for v in args.lengths.split(",")):
        child = ("one", str(bundle_path), str(length), str(args.threads), str(args.cache_mib))
        one = child_json(Path(__file__), *child)
        runs[length] = {"fps": one["fps"], "peak_rss_mib": one["peak_rss_mib"]}
    lengths = sorted(runs)
    emit(
        {
            "benchmark": "propagation_rss",
            "bundle": bundle_path.name,
            "embedding_cache_mib": args.cache_mib,
            "runs": runs,
            "rss_ratio_longest_to_shortest": runs[lengths[-1]]["peak_rss_mib"]
            / runs[lengths[0]]["peak_rss_mib"],
        }
    )


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "one":  # child process of `rss` (and of edgetam_speed.py)
        print(json.dumps(run_ours(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))))
        return
    if len(sys.argv) >= 5 and sys.argv[1] == "paired":  # child process of edgetam_speed.py
        paths = [Path(arg) for arg in sys.argv[4:]]
        print(json.dumps(run_paired(paths, int(sys.argv[2]), int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--variant", default="tiny")
    sp.add_argument("--frames", type=int, default=50)
    sp.add_argument("--threads", type=int, default=2)
    sp.add_argument("--int8", action="store_true", help="also time Roto with the int8 encoder")
    sp.add_argument("--no-reference", action="store_true")
    rp = sub.add_parser("rss")
    rp.add_argument("--variant", default="test")
    rp.add_argument("--lengths", default="200,2000")
    rp.add_argument("--threads", type=int, default=2)
    rp.add_argument("--cache-mib", type=int, default=64, help="embedding cache bound")
    args = parser.parse_args()
    speed(args) if args.mode == "speed" else rss(args)


if __name__ == "__main__":
    main()
