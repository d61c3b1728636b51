"""Building a bundle from a checkpoint: the graph template (numpy, onnx, ONNX Runtime) against the torch converter.

    .venv/bin/python benchmarks/install_from_checkpoint.py [--variant tiny|edgetam|...] [--no-torch-path]

Saves a random-weight checkpoint of the variant with torch (once, under local/), then builds its bundle in a fresh
process each way and reports wall time and that process's peak RSS (for EdgeTAM's converter, that of its child).
The template process checks that it never imported torch. Prints JSON.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SEED, emit, peak_rss_mib

from roto.engine import edgetam_env
from roto.engine.bundle import EDGETAM, VARIANTS


def _save_checkpoint(variant: str, path: Path) -> None:
    import torch

    from roto.engine.export_onnx import build_model

    torch.save({"model": build_model(variant, None, seed=SEED).state_dict()}, path)


def _checkpoint(variant: str) -> Path:
    path = ROOT / "local" / "checkpoints" / f"{VARIANTS[variant].model_name}_random_seed{SEED}.pt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        if VARIANTS[variant].family == EDGETAM:  # EdgeTAM's model code is importable in its own child only
            command = [sys.executable, __file__, "--variant", variant, "--save-checkpoint", str(path)]
            subprocess.run(command, check=True, env=edgetam_env.fork_environment())
        else:
            _save_checkpoint(variant, path)
    return path


def _build(way: str, variant: str, checkpoint: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if way == "template":
            from roto.engine.templates import bundle_from_checkpoint

            bundle_from_checkpoint(checkpoint, variant, Path(tmp), VARIANTS[variant].model_name)
            assert "torch" not in sys.modules, "the template path imported torch"
        else:
            from roto.engine.export_onnx import ExportRequest, export_bundle

            export_bundle(
                ExportRequest(variant=variant, out_dir=Path(tmp), checkpoint=checkpoint, overwrite=True)
            )
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    # EdgeTAM's converter runs in a child of this process (edgetam_env): its peak counts, not this process's.
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(f"{seconds:.2f} {max(peak_rss_mib(), children):.0f} {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="tiny")
    parser.add_argument("--no-torch-path", action="store_true", help="time the template path only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--save-checkpoint", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.save_checkpoint:
        _save_checkpoint(args.variant, args.save_checkpoint)
        return
    if args.child:
        _build(args.child[0], args.variant, Path(args.child[1]))
        return
    checkpoint = _checkpoint(args.variant)
    result: dict[str, object] = {
        "variant": args.variant,
        "checkpoint_mib": round(checkpoint.stat().st_size / 2**20),
    }
    for way in ("template", *(() if args.no_torch_path else ("torch",))):
        out = subprocess.run(
            [sys.executable, __file__, "--variant", args.variant, "--child", way, str(checkpoint)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        result[way] = {
            "seconds": float(out[-3]),
            "peak_rss_mib": int(out[-2]),
            "bundle_mib": round(int(out[-1]) / 2**20),
        }
    emit(result)


if __name__ == "__main__":
    main()
