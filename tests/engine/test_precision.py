"""The fp16 bundle: converted, verified, chosen by `auto` on a GPU only, and close to fp32 on the test bundle.

ONNX Runtime's CPU provider has no fp16 kernels for most operators and runs those nodes in fp32 between casts, so
on a CPU the difference measured here is mostly the weights' rounding to fp16 (plus the few fp16 kernels it has);
benchmarks/gpu.py measures the same agreement where the arithmetic really is fp16.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from roto.engine import session as ort_sessions
from roto.engine.bundle import load_bundle, sha256_file, verify_bundle, write_manifest
from roto.engine.precision import FP32_OPS, fp16_bundle, measure_agreement, runtime_bundle
from roto.engine.session import RuntimeOptions
from roto.errors import ModelError


class MovingSquare:
    """A bright square sliding right over a dark background."""

    media_id = "moving-square-fp16"
    frame_count = 6

    def read(self, index: int) -> np.ndarray:
        image = np.full((240, 320, 3), 30, np.uint8)
        image[80:160, 40 + 10 * index : 120 + 10 * index] = (230, 200, 40)
        return image


@pytest.fixture()
def source(test_bundle_path: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "sam2.1-test"
    shutil.copytree(test_bundle_path, folder)
    return folder


def test_fp16_bundle_is_verified_keeps_fp32_io_and_agrees_with_fp32(source: Path) -> None:
    fp32 = load_bundle(source)
    fp16 = fp16_bundle(fp32)
    assert fp16.path == source.with_name("sam2.1-test-fp16")
    assert fp16.manifest["precision"] == "fp16" and fp16.name == "sam2.1-test-fp16"
    assert verify_bundle(fp16.path) == []
    encoder = onnx.load(str(fp16.graph_path("image_encoder")))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in encoder.graph.initializer)
    assert {v.type.tensor_type.elem_type for v in (*encoder.graph.input, *encoder.graph.output)} == {
        onnx.TensorProto.FLOAT
    }
    decoder = onnx.load(str(fp16.graph_path("prompt_decoder")))
    kept = {n.op_type for n in decoder.graph.node if n.op_type in FP32_OPS}
    assert "Softmax" in kept  # blocked ops stay in fp32: none of them reads an fp16 tensor directly
    produced_half = {
        out
        for n in decoder.graph.node
        if n.op_type == "Cast"
        and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT16 for a in n.attribute)
        for out in n.output
    }
    assert not any(i in produced_half for n in decoder.graph.node if n.op_type in FP32_OPS for i in n.input)
    assert fp16_bundle(fp32).path == fp16.path  # reused, not rebuilt
    assert fp16_bundle(fp16) is fp16

    agreement = measure_agreement(fp32, fp16, MovingSquare(), (80.0, 120.0))
    print("fp16 vs fp32 on the test bundle (CPU):", agreement.as_dict())
    assert agreement.click_iou > 0.99
    assert agreement.click_logit_max < 0.01
    assert agreement.video_iou > 0.98
    assert agreement.video_logit_max < 0.5
    assert measure_agreement(fp32, fp32, MovingSquare(), (80.0, 120.0)).video_logit_max == 0.0


def test_verify_names_a_precision_the_graphs_do_not_have(source: Path) -> None:
    manifest = json.loads((source / "manifest.json").read_text())
    write_manifest(source / "manifest.json", {**manifest, "precision": "fp16"})
    problems = verify_bundle(source)
    assert any("holds no fp16 weights, but the manifest declares precision fp16" in p for p in problems)
    write_manifest(source / "manifest.json", {**manifest, "precision": "fp8"})
    assert any("unknown precision 'fp8'" in p for p in verify_bundle(source))


def test_auto_takes_the_installed_fp16_sibling_on_a_gpu_only(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp32 = load_bundle(source)
    auto = RuntimeOptions()
    assert runtime_bundle(fp32, auto) is fp32  # no sibling yet: never converts by itself
    fp16_bundle(fp32)
    assert runtime_bundle(fp32, auto) is fp32  # this ONNX Runtime offers no GPU
    offered = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort_sessions, "available_providers", lambda: offered)
    assert runtime_bundle(fp32, auto).manifest["precision"] == "fp16"
    assert runtime_bundle(fp32, RuntimeOptions(provider="cpu")) is fp32
    assert runtime_bundle(fp32, RuntimeOptions(precision="fp32")) is fp32
    monkeypatch.setenv("ROTO_PRECISION", "fp32")
    assert runtime_bundle(fp32, auto) is fp32


def test_an_fp16_sibling_of_a_replaced_bundle_is_not_used(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`roto models install --overwrite` replaces NAME but leaves NAME-fp16: its old weights must not run."""
    old = fp16_bundle(load_bundle(source))
    decoder = source / "prompt_decoder.onnx"
    model = onnx.load(str(decoder))
    model.doc_string = "reinstalled"  # other bytes, as other weights would be
    onnx.save(model, str(decoder))
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["files"]["prompt_decoder.onnx"] = {
        "sha256": sha256_file(decoder),
        "size": decoder.stat().st_size,
    }
    write_manifest(source / "manifest.json", manifest)
    replaced = load_bundle(source)
    offered = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort_sessions, "available_providers", lambda: offered)
    assert runtime_bundle(replaced, RuntimeOptions()) is replaced  # auto: the stale sibling is passed over
    again = fp16_bundle(replaced)  # an explicit fp16 converts again over it
    assert again.manifest["derived_from"] != old.manifest["derived_from"]
    assert (
        runtime_bundle(replaced, RuntimeOptions()).manifest["derived_from"] == again.manifest["derived_from"]
    )


def test_explicit_fp16_converts_and_reports_it(source: Path) -> None:
    from roto.engine.service import Sam2Graphs

    graphs = Sam2Graphs(load_bundle(source), RuntimeOptions(provider="cpu", precision="fp16"))
    assert graphs.bundle.path == source.with_name("sam2.1-test-fp16")
    assert graphs.report.precision == "fp16"
    with pytest.raises(ModelError, match="unknown precision 'half'"):
        RuntimeOptions(precision="half").resolved_precision()


def test_cli_convert_writes_the_fp16_bundle(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from roto.cli import main

    assert main(["models", "convert", str(source), "--precision", "fp16", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made == {"bundle": str(source.with_name("sam2.1-test-fp16")), "precision": "fp16"}
    assert main(["models", "verify", made["bundle"]]) == 0
    int8 = source.parent / "int8"
    assert main(["models", "convert", str(source), "--precision", "int8", "--out", str(int8), "--json"]) == 0
    assert load_bundle(int8).manifest["precision"] == "int8-encoder"
