"""Masks to shapes: frames per second for 1080p masks at the default tolerance, on the tracker's path (outlines,
fit, frame-to-frame anchors) and for a whole Lottie export. Prints JSON.

    .venv/bin/python benchmarks/shapes_speed.py [--frames 100]

The masks (an ellipse with a hole, turning and growing as it moves, and a rectangle: three paths a frame) are
made before timing starts, so the figures measure shape work only. Target: at least 50 frames/s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from roto.export import ExportSpec, InMemorySource, export
from roto.shapes import ShapeSettings, ShapeTracker

HEIGHT, WIDTH = 1080, 1920


def moving_mask(frame: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    centre = (450 + 4 * frame, 400 + 3 * frame)
    cv2.ellipse(mask, centre, (300 + frame // 2, 200), 20 + frame * 0.5, 0, 360, 1, -1)
    cv2.circle(mask, centre, 60, 0, -1)
    cv2.rectangle(mask, (1500, 100 + 2 * frame), (1800, 600 + 2 * frame), 1, -1)
    return mask.astype(bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    masks = [moving_mask(frame) for frame in range(args.frames)]

    tracker = ShapeTracker(ShapeSettings())
    start = time.perf_counter()
    for frame, mask in enumerate(masks):
        tracker.add(frame, mask)
    added = time.perf_counter()
    paths = tracker.paths()
    finished = time.perf_counter()

    source = InMemorySource("bench", (HEIGHT, WIDTH), {"blob": masks}, fps=Fraction(24))
    with tempfile.TemporaryDirectory() as folder:
        begin = time.perf_counter()
        export(source, ExportSpec(Path(folder), format="lottie"))
        exported = time.perf_counter() - begin

    print(
        json.dumps(
            {
                "benchmark": "shapes_speed",
                "frames": args.frames,
                "size": [WIDTH, HEIGHT],
                "tolerance_px": ShapeSettings().tolerance,
                "paths": len(paths),
                "anchors_per_path": sorted(path.count for path in paths),
                "tracker_fps": round(args.frames / (finished - start), 1),
                "tracker_add_ms_per_frame": round(1000 * (added - start) / args.frames, 2),
                "tracker_finish_ms": round(1000 * (finished - added), 1),
                "lottie_export_fps": round(args.frames / exported, 1),
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
                "machine": platform.machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
