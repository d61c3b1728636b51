"""Composing the canvas view of one 4K frame with two objects: each view mode, and the matte settings applied.

Times `roto.editor.views.compose_view` (pure numpy, run on the editor's composer thread whenever the shown frame
or the view changes) and `MatteSequence.alpha` for an object with typical settings, with and without reduce chatter. Prints JSON.

    .venv/bin/python benchmarks/view_compose.py [--size 3840x2160] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit

from roto.editor.views import ObjectLayer, ViewMode, ViewOptions, compose_view
from roto.matte import MatteOps, MatteSequence


def best_ms(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return round(min(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3840x2160")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    yy, xx = np.ogrid[:height, :width]
    first = ((xx - width * 0.4) ** 2 + (yy - height * 0.5) ** 2 <= (height * 0.3) ** 2).astype(np.float32)
    second = ((xx - width * 0.6) ** 2 + (yy - height * 0.5) ** 2 <= (height * 0.3) ** 2).astype(np.float32)
    layers = [ObjectLayer(1, (255, 64, 160), first), ObjectLayer(2, (64, 200, 255), second)]
    onion = [(offset, layers) for offset in (-2, -1, 1, 2)]
    frame = np.full((height, width, 3), 90, np.uint8)
    result: dict[str, object] = {"frame": args.size, "objects": 2}
    for mode in ViewMode:
        result[f"{mode.value}_ms"] = best_ms(
            lambda m=mode: compose_view(ViewOptions(mode=m), layers, 1, frame), args.repeat
        )
    result["overlay_with_onion_2_ms"] = best_ms(
        lambda: compose_view(ViewOptions(onion=True), layers, 1, frame, onion), args.repeat
    )
    mask = first > 0
    for name, ops in (
        ("matte_plain_ms", MatteOps()),
        (
            "matte_grow_feather_holes_ms",
            MatteOps(grow_px=3, feather_px=2.0, fill_holes=True, max_hole_area=500),
        ),
        (
            "matte_same_plus_chatter_2_ms",
            MatteOps(grow_px=3, feather_px=2.0, fill_holes=True, max_hole_area=500, chatter_frames=2),
        ),
    ):
        result[name] = best_ms(lambda o=ops: MatteSequence(o, lambda _i: mask, 10).alpha(5), args.repeat)
    emit(result)


if __name__ == "__main__":
    main()
