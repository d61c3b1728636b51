"""EdgeTAM against SAM2.1-tiny through Roto, and against EdgeTAM's own PyTorch predictors, in one run.

    .venv/bin/python benchmarks/edgetam_speed.py [--frames 20] [--threads 2] [--rounds 1] [--no-reference]

Full-size random-weight bundles of both (made once under local/, see common.random_bundle), one object tracked
over FRAMES frames of the sample clip at 1080p, 2 threads; for each Roto run, the milliseconds a frame spends in
each graph and outside them (decoding, Python); and the image path, each in a fresh process: the encoder's time on
a 1080p still and click-to-mask latency (decoder + one clean 1080p mask), as benchmarks/click_latency.py times
them (`image_path`). The memory graphs' opening, once per model load, is timed apart
(`memory_graphs_open_s`). Each Roto run is a fresh process (`propagation.py one`),
so its peak RSS is its own; EdgeTAM's PyTorch predictor runs in a child Python whose `sam2` is EdgeTAM's fork
(roto.engine.edgetam_env), on the same weights. Prints JSON with the issue's two speed targets.

With `--rounds N` the two Roto runs alternate N times (tiny, EdgeTAM, tiny, ...), so a slow spell of a shared
machine falls on both; each model's figures are those of its median run, its peak RSS the largest, and every
round's frames/s and ratio are listed. `steady_fps` is the rate once the memory bank is full (from frame
num_maskmem = 7 on), the rate of any longer shot; `edgetam_vs_tiny_steady_fps` compares the two models' medians
of it. The first frames attend to fewer memories, which favours the model whose memory attention grows fastest
with them (SAM2.1-tiny's: 4,096 tokens a memory against EdgeTAM's 512), so a short shot understates the ratio.

`paired` times the two models side by side instead: one process tracks FRAMES frames with both, frame t of one
right after frame t of the other (propagation.py `paired`), once with each model first. Separate runs of a 2.5 s
and a 0.5 s frame land in different spells of a shared VM, whose speed drifts by 15 % or more within a minute;
paired frames share theirs, so the ratio of their summed times keeps the models' difference and loses most of
the drift (`frame_ratio_min_median_max` shows what is left of it frame by frame).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SEED, child_json, emit, random_bundle

PROPAGATION = Path(__file__).resolve().parent / "propagation.py"
CLICK_LATENCY = Path(__file__).resolve().parent / "click_latency.py"


def roto_run(variant: str, frames: int, threads: int) -> dict[str, Any]:
    """Frames/s, peak RSS and where a frame's time goes (ms in each graph, and outside them)."""
    bundle = random_bundle(variant)
    one = child_json(PROPAGATION, "one", str(bundle), str(frames), str(threads), "64")
    keys = ("fps", "steady_fps", "steady_frames", "memory_graphs_open_s", "peak_rss_mib", "per_frame")
    return {key: one[key] for key in keys}


def roto_image_path(variant: str, threads: int) -> dict[str, float]:
    """Encoder time and click-to-mask latency on a 1080p still, in a fresh process (click_latency.py's timings)."""
    args = ("--variant", variant, "--threads", str(threads), "--no-reference")
    return dict(child_json(CLICK_LATENCY, *args)["roto_onnx"])


def _median(values: list[float | None]) -> float | None:
    """The median (lower middle of an even count), or None when a run was too short to have the value."""
    present = sorted(value for value in values if value is not None)
    return present[(len(present) - 1) // 2] if len(present) == len(values) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median frames/s (the lower middle of an even count), with the largest peak RSS of all."""
    middle = sorted(runs, key=lambda run: float(run["fps"]))[(len(runs) - 1) // 2]
    return {**middle, "peak_rss_mib": max(float(run["peak_rss_mib"]) for run in runs)}


def paired(frames: int, threads: int) -> dict[str, Any]:
    """EdgeTAM against SAM2.1-tiny with their frames interleaved in one process (propagation.run_paired), once with
    each model first: frames/s ratios over the whole shot and once the memory bank is full, from the summed times
    of both runs, and the spread of the ratio of each frame to its partner."""
    variants = ("tiny", "edgetam")
    orders = []
    seconds: dict[str, list[float]] = {variant: [] for variant in variants}
    steady: dict[str, list[float]] = {variant: [] for variant in variants}
    for order in (variants, variants[::-1]):
        args = [str(frames), str(threads), *(str(random_bundle(variant)) for variant in order)]
        run = child_json(PROPAGATION, "paired", *args)
        times = dict(zip(order, run["frame_seconds"], strict=True))
        full = max(run["steady_from"])
        for variant in variants:
            seconds[variant] += times[variant]
            steady[variant] += times[variant][full:]
        per_frame = [t / e for t, e in zip(times["tiny"][full:], times["edgetam"][full:], strict=True)]
        orders.append(
            {
                "first": order[0],
                "tiny_steady_ms": 1000 * statistics.median(times["tiny"][full:]),
                "edgetam_steady_ms": 1000 * statistics.median(times["edgetam"][full:]),
                "edgetam_vs_tiny_fps": sum(times["tiny"]) / sum(times["edgetam"]),
                "edgetam_vs_tiny_steady_fps": sum(times["tiny"][full:]) / sum(times["edgetam"][full:]),
                "frame_ratio_min_median_max": [min(per_frame), statistics.median(per_frame), max(per_frame)],
            }
        )
    return {
        "frames_each": frames,
        "orders": orders,
        "edgetam_vs_tiny_fps": sum(seconds["tiny"]) / sum(seconds["edgetam"]),
        "edgetam_vs_tiny_steady_fps": sum(steady["tiny"]) / sum(steady["edgetam"]),
    }


def edgetam_pytorch(frames: int, threads: int, folder: Path) -> dict[str, Any]:
    """EdgeTAM's SAM2VideoPredictor and SAM2ImagePredictor (run where `sam2` is EdgeTAM's fork) on
    random_bundle('edgetam')'s weights: propagation as propagation.py times it, the image path as click_latency.py."""
    import torch
    from click_latency import clicks, frame_1080p, time_reference
    from propagation import run_reference

    from roto.engine.export_edgetam import build_edgetam_model

    torch.set_num_threads(threads)
    model = build_edgetam_model("edgetam", None, seed=SEED)
    video = run_reference("edgetam", frames, folder, model)
    image = time_reference(frame_1080p(), 3, clicks(20), model)
    return {"video": {"fps": video["fps"], "peak_rss_mib": video["peak_rss_mib"]}, "image": image}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "reference":  # the child started below
        with tempfile.TemporaryDirectory() as folder:
            result = edgetam_pytorch(int(sys.argv[2]), int(sys.argv[3]), Path(folder))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternating tiny/EdgeTAM runs; medians reported"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip EdgeTAM's PyTorch predictor")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    import os

    result: dict[str, object] = {
        "benchmark": "edgetam_speed",
        "input": "1920x1080",
        "frames": args.frames,
        "threads": args.threads,
        "load_average_before": os.getloadavg(),
    }
    rounds = [
        (roto_run("tiny", args.frames, args.threads), roto_run("edgetam", args.frames, args.threads))
        for _ in range(args.rounds)
    ]
    tiny, edgetam = median_run([t for t, _ in rounds]), median_run([e for _, e in rounds])
    result["sam2.1_tiny_roto"], result["edgetam_roto"] = tiny, edgetam
    result["rounds"] = [
        {
            "tiny_fps": t["fps"],
            "edgetam_fps": e["fps"],
            "edgetam_vs_tiny_fps": e["fps"] / t["fps"],
            "edgetam_vs_tiny_steady_fps": _ratio(e["steady_fps"], t["steady_fps"]),
        }
        for t, e in rounds
    ]
    result["edgetam_vs_tiny_fps"] = edgetam["fps"] / tiny["fps"]  # target: at least 5 (medians)
    steady = [_median([run["steady_fps"] for run in side]) for side in zip(*rounds, strict=True)]
    result["edgetam_vs_tiny_steady_fps"] = _ratio(steady[1], steady[0])  # the same, memory bank full
    result["paired"] = paired(args.frames, args.threads)  # the same two ratios, frames timed side by side
    image_path = {"sam2.1_tiny_roto": roto_image_path("tiny", args.threads)}
    image_path["edgetam_roto"] = roto_image_path("edgetam", args.threads)
    result["image_path"] = image_path
    if not args.no_reference:
        from roto.engine import edgetam_env

        env = edgetam_env.fork_environment()
        reference = child_json(Path(__file__), "reference", str(args.frames), str(args.threads), env=env)
        result["edgetam_pytorch"] = reference["video"]
        result["edgetam_roto_vs_pytorch_fps"] = (
            edgetam["fps"] / reference["video"]["fps"]
        )  # target: at least 1.5
        image_path["edgetam_pytorch"] = reference["image"]
    result["load_average_after"] = os.getloadavg()
    emit(result)


if __name__ == "__main__":
    main()
