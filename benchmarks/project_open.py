"""Open time and memory of a 1000-frame 4K shot with five objects (target: open in under a second).

Builds the project once through the public API (slow: 5000 masks to compress and write), then opens it in a
fresh process, so the figures are what a user opening the file sees. Prints JSON.

    .venv/bin/python benchmarks/project_open.py [--frames 1000] [--objects 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from roto.project import AddObject, Project, Propagate, Shot, UndoStack, save_project

WIDTH, HEIGHT = 3840, 2160

OPEN_SCRIPT = """
import json, sys, time
import psutil
from roto.project import load_project
process = psutil.Process()
before = process.memory_info().rss
start = time.perf_counter()
project = load_project(sys.argv[1])
opened = time.perf_counter() - start
after_open = process.memory_info().rss
start = time.perf_counter()
project.get_mask("shot", 1, 500 if project.shots[0].frame_count > 500 else 0)
first_mask = time.perf_counter() - start
start = time.perf_counter()
for frame in range(25):
    project.get_mask("shot", 2, frame)
scrub = (time.perf_counter() - start) / 25
print(json.dumps({"open_s": opened, "rss_before_open_mb": before / 2**20,
                  "rss_after_open_mb": after_open / 2**20, "first_mask_s": first_mask,
                  "mask_decode_s": scrub}))
"""


def moving_mask(frame: int, obj: int) -> np.ndarray:
    """A distinct, realistic-size blob per object and frame (a quarter of the frame, drifting)."""
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    x = 200 + obj * 500 + frame % 400
    y = 300 + (frame * 3 + obj * 97) % 900
    mask[y : y + 900, x : x + 1400] = True
    mask[y + 200 : y + 400, x + 300 : x + 500] = False
    return mask


def build(folder: Path, frames: int, objects: int) -> float:
    project = Project(
        "bench", [Shot("shot", folder.parent / "clip.mp4", 0, frames, Fraction(24), WIDTH, HEIGHT)]
    )
    stack = UndoStack(project)
    for obj in range(objects):
        stack.push(AddObject("shot", f"object {obj + 1}", (255, 0, 0)))
    start = time.perf_counter()
    results = ((obj + 1, f, moving_mask(f, obj)) for obj in range(objects) for f in range(frames))
    stack.push(Propagate("shot", results))
    save_project(project, folder)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=5)
    parser.add_argument(
        "--keep", type=Path, help="build the project here (reused if present) instead of a temp dir"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch) / "bench.roto"
        build_s = None if (folder / "project.json").exists() else build(folder, args.frames, args.objects)
        run = subprocess.run([sys.executable, "-c", OPEN_SCRIPT, str(folder)], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(run.stderr)
        result = json.loads(run.stdout)
        masks_dir = folder / "masks"
        result.update(
            frames=args.frames,
            objects=args.objects,
            size=f"{WIDTH}x{HEIGHT}",
            build_and_save_s=build_s,
            manifest_kb=(folder / "project.json").stat().st_size / 1024,
            mask_files=len(list(masks_dir.iterdir())),
            mask_store_mb=sum(p.stat().st_size for p in masks_dir.iterdir()) / 2**20,
        )
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
