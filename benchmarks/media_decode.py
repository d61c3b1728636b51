"""Media decoding speed and memory: sequential fps, random-seek latency and peak RSS on 1080p H.264.

Prints one JSON object. Clips are generated into a temporary folder unless --clip is given.
    .venv/bin/python benchmarks/media_decode.py [--frames 240] [--long-frames 1800] [--gop 48]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from roto.media import open_media


def write_clip(path: Path, frames: int, gop: int, size: tuple[int, int] = (1920, 1080)) -> Path:
    """A moving gradient with a sliding block: cheap to make, not trivially compressible."""
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.float32)[np.newaxis, :, np.newaxis]
    base = np.broadcast_to(ramp, (height, width, 3)).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264", rate=30, options={"preset": "ultrafast", "g": str(gop), "bf": "2"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for number in range(frames):
            image = np.roll(base, number * 8, axis=1)
            x = number * 13 % (width - 200)
            image[400:600, x : x + 200] = (number * 37) % 256
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = number
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def measure_speed(path: Path, seeks: int) -> dict[str, float]:
    started = time.perf_counter()
    source = open_media(path, cache_bytes=0)
    open_s = time.perf_counter() - started
    with source:
        started = time.perf_counter()
        for index in range(1, source.frame_count):
            source.read(index)
        sequential_fps = (source.frame_count - 1) / (time.perf_counter() - started)
        order = random.Random(0).sample(range(source.frame_count), min(seeks, source.frame_count))
        latencies = []
        for index in order:
            started = time.perf_counter()
            source.read(index)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "frames": source.frame_count,
        "open_and_index_s": round(open_s, 3),
        "sequential_fps": round(sequential_fps, 1),
        "random_seek_ms_median": round(statistics.median(latencies), 1),
        "random_seek_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }


def read_front_to_back(path: Path, cache_bytes: int) -> None:
    """Run in a child process so the peak RSS is the reader's alone, not the encoder's."""
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open_media(path, cache_bytes=cache_bytes) as source:
        for index in range(source.frame_count):
            source.read(index)
        cached = source.cache.current_bytes
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rss_before_open_mib": before_kib / 1024,
                "peak_rss_mib": peak_kib / 1024,
                "cache_bytes_at_end_mib": cached / 2**20,
                "frames": source.frame_count,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", type=Path, help="an existing clip to measure instead of a generated one")
    parser.add_argument("--frames", type=int, default=240, help="frames of the generated speed clip")
    parser.add_argument("--long-frames", type=int, default=1800, help="frames of the generated memory clip")
    parser.add_argument("--gop", type=int, default=48, help="keyframe interval of generated clips")
    parser.add_argument("--seeks", type=int, default=60)
    parser.add_argument("--cache-mib", type=int, default=256, help="frame cache for the memory run")
    parser.add_argument("--read-front-to-back", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_front_to_back:
        read_front_to_back(args.read_front_to_back, args.cache_mib * 2**20)
        return
    with tempfile.TemporaryDirectory() as folder:
        speed_clip = args.clip or write_clip(Path(folder) / "speed.mp4", args.frames, args.gop)
        long_clip = args.clip or write_clip(Path(folder) / "long.mp4", args.long_frames, args.gop)
        result: dict[str, object] = {
            "clip": str(args.clip) if args.clip else f"generated 1920x1080 H.264, gop {args.gop}, 2 B-frames",
            "speed": measure_speed(speed_clip, args.seeks),
        }
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--read-front-to-back",
                str(long_clip),
                "--cache-mib",
                str(args.cache_mib),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result["memory"] = {"cache_limit_mib": args.cache_mib, **json.loads(child.stdout)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
