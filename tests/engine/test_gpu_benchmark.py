"""benchmarks/gpu.py keeps running: its CPU dry run on the test bundle, and its refusal without CUDA.

The GPU measurement itself needs a GPU machine (docs/engine.md, "GPU"); this keeps the script from rotting between
such runs: arguments, the synthetic clip, every timed path of Roto's side, the fp16 agreement and the JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnxruntime
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_cpu_dry_run_reports_every_figure(test_bundle_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    done = _run(
        "--device", "cpu", "--bundle", f"test={test_bundle_path}", "--variants", "test", "--frames", "2",
        "--size", "320x180", "--objects", "1", "--clicks", "2", "--no-reference", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert json.loads(done.stdout) == report
    runs = report["results"]["test"]
    assert set(runs) == {"roto_fp32", "roto_fp16"}
    for precision, run in runs.items():
        assert run["provider"] == "CPUExecutionProvider"
        assert run["bundle"] == ("sam2.1-test-fp16" if precision == "roto_fp16" else "sam2.1-test")
        assert run["encoder"]["median_ms"] > 0 and run["click"]["median_ms"] > 0
        assert run["propagation_1_objects"]["frames"] == 2 and run["propagation_1_objects"]["fps"] > 0
    assert runs["roto_fp16"]["agreement_with_fp32"]["video_iou"] > 0.95
    assert report["verdicts"]["tiny_fp16_fps_at_least_100"] is None  # no tiny run: no verdict
    assert not test_bundle_path.with_name("sam2.1-test-fp16").exists()  # made in a temporary folder


def test_cuda_run_stops_at_once_with_the_reason() -> None:
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA")
    done = _run("--device", "cuda", "--variants", "tiny")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["error"].startswith("CUDA does not run here: no CUDA provider in this ONNX Runtime")


def test_bad_arguments_are_refused_clearly() -> None:
    done = _run("--device", "cpu", "--variants", "nosuch")
    assert done.returncode != 0 and "unknown variant(s) ['nosuch']" in done.stderr
