"""The int8-encoder bundle: verified, loadable, and close to fp32 on the test bundle."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from roto.engine.bundle import load_bundle, verify_bundle
from roto.engine.predictor import ImagePredictor
from roto.engine.quantize import quantized_bundle


def test_int8_bundle_is_verified_and_agrees_with_fp32(
    test_bundle_path: Path, tmp_path: Path, truck_rgb: np.ndarray
) -> None:
    source = tmp_path / "sam2.1-test"
    shutil.copytree(test_bundle_path, source)
    fp32 = load_bundle(source)
    int8 = quantized_bundle(fp32)
    assert int8.path == tmp_path / "sam2.1-test-int8"
    assert int8.manifest["precision"] == "int8-encoder"
    assert verify_bundle(int8.path) == []
    ops = {node.op_type for node in onnx.load(str(int8.graph_path("image_encoder"))).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    assert quantized_bundle(int8) is int8
    assert quantized_bundle(fp32).path == int8.path  # reused, not rebuilt

    a, b = ImagePredictor.open(fp32), ImagePredictor.open(int8)
    ea, eb = a.set_frame(truck_rgb), b.set_frame(truck_rgb)
    assert not np.array_equal(ea.image_embed, eb.image_embed)  # really another encoder
    point, label = np.array([[500.0, 375.0]]), np.array([1])
    ma, mb = a.predict(point, label).mask(), b.predict(point, label).mask()
    iou = np.logical_and(ma, mb).sum() / max(np.logical_or(ma, mb).sum(), 1)
    assert iou > 0.5


def test_cli_quantize_creates_the_int8_bundle_beside_the_source(
    test_bundle_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from roto.cli import main

    source = tmp_path / "sam2.1-test"
    shutil.copytree(test_bundle_path, source)
    assert main(["models", "quantize", str(source), "--json"]) == 0
    made = Path(json.loads(capsys.readouterr().out)["bundle"])
    assert made == tmp_path / "sam2.1-test-int8"
    assert verify_bundle(made) == []
