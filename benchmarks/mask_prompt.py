"""A painted mask as a prompt (`VideoPropagator.add_mask`) against a click (`add_prompts`) on an encoded 1080p frame.

    .venv/bin/python benchmarks/mask_prompt.py [--variant tiny] [--repeats 20] [--threads 2]

The frame is encoded first, so the times are what a correction costs once its frame is cached: for a mask, the
resize of the painted 1080p mask to the model's input, the mask-prompt graph, the decoder for the object pointer
and the logits; for a click, the decoder. Median and 90th percentile in milliseconds. Prints JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, percentile, random_bundle
from propagation import POINT, SIZE, LoopedClip

from roto.engine.bundle import load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.service import EngineService
from roto.engine.session import RuntimeOptions


def _millis(call: object, repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": percentile(times, 50), "p90_ms": percentile(times, 90)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", default="tiny")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    bundle = load_bundle(random_bundle(args.variant))
    engine = EngineService.open(
        bundle, RuntimeOptions(provider="cpu", threads=args.threads), EmbeddingCache(1 << 30)
    )
    propagator = engine.video(LoopedClip(1))
    painted = np.zeros((SIZE[1], SIZE[0]), bool)
    painted[300:800, 600:1300] = True
    propagator.add_prompts(0, 1, POINT, np.array([1]))  # encodes the frame and opens the sessions
    propagator.add_mask(0, 1, painted)
    emit(
        {
            "benchmark": "mask_prompt",
            "bundle": bundle.name,
            "input": f"{SIZE[0]}x{SIZE[1]}",
            "threads": args.threads,
            "add_mask": _millis(lambda: propagator.add_mask(0, 1, painted), args.repeats),
            "add_prompts_one_point": _millis(
                lambda: propagator.add_prompts(0, 1, POINT, np.array([1])), args.repeats
            ),
        }
    )
    propagator.close()


if __name__ == "__main__":
    main()
