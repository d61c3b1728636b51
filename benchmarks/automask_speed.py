"""Segment everything on a 1080p frame: Roto's automask vs Meta's SAM2AutomaticMaskGenerator, same weights.

Full-size random-weight SAM2.1 (exported once under local/), both sides on `--threads` threads, Meta's default
parameters except points_per_side. Times start after the frame is encoded on each side (Roto: the embedding is in
the service's cache; Meta: set_image ran once and the generator's set_image/reset_predictor are made no-ops).
Roto's one-time cut of the decoder graph (split_decoder, at a session's first segment everything) is timed apart
as decoder_cut_s.
Random weights predict IoU near 0.5, so Meta's default filter (0.8) drops every candidate: `--no-filters` sets
both thresholds to 0, the worst case where every candidate is upsampled and scored. Prints JSON.

    .venv/bin/python benchmarks/automask_speed.py [--variant tiny] [--pps 16 32] [--threads 2] [--no-filters]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from click_latency import frame_1080p
from common import emit, peak_rss_mib, random_bundle, reference_model

from roto.engine.automask import AutomaskParams, generate_proposals
from roto.engine.bundle import load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.service import EngineService, StillImage
from roto.engine.session import RuntimeOptions


def time_ours(engine: EngineService, image: StillImage, params: AutomaskParams) -> tuple[float, int]:
    start = time.perf_counter()
    proposals = generate_proposals(engine, image, 0, params)
    return time.perf_counter() - start, len(proposals)


def meta_generator(model: Any, rgb: np.ndarray, params: AutomaskParams) -> Any:
    """Meta's generator with the frame already set: generate() then times mask generation only."""
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    generator = SAM2AutomaticMaskGenerator(model, **asdict(params))
    generator.predictor.set_image(rgb)
    generator.predictor.set_image = lambda image: None
    generator.predictor.reset_predictor = lambda: None
    return generator


def time_meta(model: Any, rgb: np.ndarray, params: AutomaskParams) -> tuple[float, int]:
    import torch

    generator = meta_generator(model, rgb, params)
    with torch.inference_mode():
        start = time.perf_counter()
        masks = generator.generate(rgb)
        return time.perf_counter() - start, len(masks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="tiny")
    parser.add_argument("--pps", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--no-filters", action="store_true", help="pred_iou_thresh and stability_score_thresh 0"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    rgb = frame_1080p()
    engine = EngineService.open(
        load_bundle(random_bundle(args.variant)),
        RuntimeOptions(threads=args.threads),
        EmbeddingCache(256 << 20),
    )
    image = StillImage(rgb)
    engine.encode(image, 0)
    start = time.perf_counter()
    if engine.graphs.split_decoder is None:  # cut once per session, at first use (timed apart from the runs)
        print("the decoder graph could not be cut: every point runs it whole", file=sys.stderr)
    cut_s = time.perf_counter() - start
    model = reference_model(args.variant).eval()
    rows = []
    for pps in args.pps:
        params = AutomaskParams(points_per_side=pps)
        if args.no_filters:
            params = AutomaskParams(points_per_side=pps, pred_iou_thresh=0.0, stability_score_thresh=0.0)
        ours, ours_count = time_ours(engine, image, params)
        meta, meta_count = time_meta(model, rgb, params)
        row = {
            "points_per_side": pps,
            "roto_s": round(ours, 2),
            "meta_s": round(meta, 2),
            "speedup": round(meta / ours, 2),
            "proposals_roto": ours_count,
            "proposals_meta": meta_count,
        }
        print(row, file=sys.stderr)
        rows.append(row)
    emit(
        {
            "benchmark": "automask_speed",
            "variant": args.variant,
            "frame": "1920x1080",
            "threads": args.threads,
            "decoder_cut_s": round(cut_s, 2),
            "filters": "off" if args.no_filters else "Meta's defaults (0.8 IoU, 0.95 stability)",
            "load_average_1min": round(os.getloadavg()[0], 2),
            "results": rows,
            "peak_rss_mib": round(peak_rss_mib()),
        }
    )


if __name__ == "__main__":
    main()
