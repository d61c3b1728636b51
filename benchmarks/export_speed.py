"""Export throughput: 1080p 16-bit PNG sequence and ProRes 4444 video, one object. Prints JSON.

    .venv/bin/python benchmarks/export_speed.py [--frames 300]

Masks are generated on the fly (a moving ellipse, feathered 2 px so the 16-bit matte has soft values),
so the figures measure matte processing, encoding and writing, not mask production.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from roto.export import ExportFormat, ExportSpec, InMemorySource, export
from roto.matte import MatteOps

HEIGHT, WIDTH = 1080, 1920


class LazyFrames(Sequence[np.ndarray]):
    """Frames made when asked for, so the benchmark itself holds no frames in memory."""

    def __init__(self, count: int, make: Callable[[int], np.ndarray]):
        self._count, self._make = count, make

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        return self._make(index)


def ellipse_mask(index: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(mask, (400 + 3 * index, 540), (300, 420), 15, 0, 360, 1, thickness=-1)
    return mask.astype(bool)


def flat_picture(index: int) -> np.ndarray:
    return np.full((HEIGHT, WIDTH, 3), index % 256, np.uint8)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1e6 if sys.platform == "darwin" else 1e3), 1)


def measure(fmt: ExportFormat, frames: int, bit_depth: int, content: str) -> dict[str, float | str]:
    source = InMemorySource(
        "bench",
        (HEIGHT, WIDTH),
        {"hero": LazyFrames(frames, ellipse_mask)},
        Fraction(24),
        images=LazyFrames(frames, flat_picture),
    )
    with tempfile.TemporaryDirectory() as folder:
        spec = ExportSpec(
            Path(folder), fmt, content=content, bit_depth=bit_depth, matte_ops=MatteOps(feather_px=2)
        )
        start = time.perf_counter()
        result = export(source, spec)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in result.files)
    return {
        "format": fmt.value,
        "content": content,
        "bit_depth": bit_depth,
        "frames": frames,
        "seconds": round(seconds, 3),
        "frames_per_second": round(frames / seconds, 2),
        "output_mb": round(size / 1e6, 2),
        "peak_rss_mb_so_far": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames to export per run (default 300)")
    args = parser.parse_args()
    results = [
        measure(ExportFormat.PNG, args.frames, 16, "alpha"),
        measure(ExportFormat.PRORES, args.frames, 8, "alpha"),
        measure(ExportFormat.PRORES, args.frames, 8, "rgba-straight"),
    ]
    report = {
        "benchmark": "export_speed",
        "resolution": f"{WIDTH}x{HEIGHT}",
        "objects": 1,
        "matte_ops": "feather 2 px",
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
