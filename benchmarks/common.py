"""Helpers shared by the engine benchmarks: the full-size random-weight bundle and the matching PyTorch model."""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCAL_BUNDLES = ROOT / "local" / "bundles"
SHARED_MEDIA = ROOT.parent / "shared" / "media"
SEED = 0


def random_bundle(variant: str) -> Path:
    """The random-weight bundle of `variant`, made under local/ (which git ignores) once per version of the exporter.

    The folder name carries a hash of the exporter's source (EdgeTAM's converter too, for its variants), so a
    benchmark never times graphs made by older code.
    """
    from roto.engine import export_edgetam, export_onnx
    from roto.engine.bundle import EDGETAM, VARIANTS
    from roto.engine.export_onnx import ExportRequest, export_bundle

    sources = [export_onnx.__file__] + (
        [export_edgetam.__file__] if VARIANTS[variant].family == EDGETAM else []
    )
    exporter = hashlib.sha256(b"".join(Path(source).read_bytes() for source in sources)).hexdigest()[:10]
    folder = LOCAL_BUNDLES / f"sam2.1-{variant}-random-seed{SEED}-{exporter}"
    if not (folder / "manifest.json").is_file():
        for stale in LOCAL_BUNDLES.glob(f"sam2.1-{variant}-random-seed{SEED}*"):
            shutil.rmtree(stale)
        print(f"exporting {folder} (once)...", file=sys.stderr)
        export_bundle(ExportRequest(variant=variant, out_dir=folder, seed=SEED, overwrite=True))
    return folder


def reference_model(variant: str) -> Any:
    """Meta's PyTorch SAM2 with the same random weights as `random_bundle(variant)`."""
    from roto.engine.export_onnx import build_sam2_model

    return build_sam2_model(variant, None, seed=SEED)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=2))


def child_json(script: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON object a benchmark script prints last, run in a fresh Python (its own peak RSS, its own `sam2` with
    `env`); EdgeTAM's fork prints its progress to stdout before it."""
    out = subprocess.run(
        [sys.executable, str(script), *args], env=env, check=True, capture_output=True, text=True
    )
    lines = out.stdout.splitlines()
    start = max(index for index, line in enumerate(lines) if line.startswith("{"))
    return dict(json.loads("\n".join(lines[start:])))
