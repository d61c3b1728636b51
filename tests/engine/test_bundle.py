"""verify_bundle and load_bundle on the committed test bundle and on damaged copies of it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from roto.cli import main
from roto.engine.bundle import BUNDLE_FORMAT_VERSION, MANIFEST_NAME, load_bundle, verify_bundle
from roto.errors import ModelError


@pytest.fixture
def bundle_copy(test_bundle_path: Path, tmp_path: Path) -> Path:
    """A private copy: tests damage it, never the committed bundle."""
    return Path(shutil.copytree(test_bundle_path, tmp_path / "sam2.1-test"))


def _edit_manifest(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _problems_about(problems: list[str], path: Path) -> list[str]:
    return [p for p in problems if p.startswith(f"{path}:")]


def test_committed_bundle_is_sound(test_bundle_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify_bundle(test_bundle_path) == []
    bundle = load_bundle(test_bundle_path)
    assert bundle.variant == "test"
    assert bundle.random_weights is True
    assert bundle.image_size == 256
    assert main(["models", "verify", str(test_bundle_path)]) == 0
    assert "sam2.1-test: OK" in capsys.readouterr().out


def test_truncated_graph_reports_size_and_checksum(bundle_copy: Path) -> None:
    graph = bundle_copy / "image_encoder.onnx"
    data = graph.read_bytes()
    graph.write_bytes(data[: len(data) // 2])
    problems = _problems_about(verify_bundle(bundle_copy), graph)
    assert any(f"{len(data) // 2} bytes, manifest says {len(data)}" in p for p in problems)
    assert any("SHA-256 does not match" in p for p in problems)
    assert any("not a readable ONNX graph" in p for p in problems)


def test_swapped_graph_reports_checksum_and_wrong_inputs(bundle_copy: Path) -> None:
    decoder = bundle_copy / "prompt_decoder.onnx"
    shutil.copyfile(bundle_copy / "memory_encoder.onnx", decoder)
    problems = _problems_about(verify_bundle(bundle_copy), decoder)
    assert any("SHA-256 does not match" in p for p in problems)
    assert any("prompt_decoder inputs are ['image_embed', 'mask_logits'" in p for p in problems)
    assert any("wrong graph in this slot" in p for p in problems)
    # the untouched graphs are not blamed
    assert _problems_about(verify_bundle(bundle_copy), bundle_copy / "memory_encoder.onnx") == []


def test_foreign_file_of_the_right_size(bundle_copy: Path) -> None:
    graph = bundle_copy / "memory_attention.onnx"
    size = graph.stat().st_size
    graph.write_bytes(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())
    problems = _problems_about(verify_bundle(bundle_copy), graph)
    assert not any("bytes, manifest says" in p for p in problems)  # size alone cannot tell
    assert any("SHA-256 does not match" in p for p in problems)
    assert any("not a readable ONNX graph" in p for p in problems)


def test_missing_graph(bundle_copy: Path) -> None:
    graph = bundle_copy / "memory_encoder.onnx"
    graph.unlink()
    assert verify_bundle(bundle_copy) == [f"{graph}: missing"]
    with pytest.raises(ModelError, match=r"memory_encoder\.onnx: missing from bundle"):
        load_bundle(bundle_copy)


def test_missing_manifest(bundle_copy: Path) -> None:
    (bundle_copy / MANIFEST_NAME).unlink()
    problems = verify_bundle(bundle_copy)
    assert len(problems) == 1
    assert "manifest.json: missing" in problems[0]
    assert "not a Roto model bundle" in problems[0]


def test_malformed_manifest_json(bundle_copy: Path) -> None:
    manifest = bundle_copy / MANIFEST_NAME
    manifest.write_text('{"format": "roto-sam2-bundle", ', encoding="utf-8")
    problems = verify_bundle(bundle_copy)
    assert len(problems) == 1
    assert problems[0].startswith(f"{manifest}: not valid JSON")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_bundle(bundle_copy)


def test_newer_format_version_asks_to_upgrade(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, lambda m: m.update(format_version=BUNDLE_FORMAT_VERSION + 1))
    problems = verify_bundle(bundle_copy)
    assert len(problems) == 1
    assert f"bundle format {BUNDLE_FORMAT_VERSION + 1} is newer" in problems[0]
    assert "upgrade Roto" in problems[0]
    with pytest.raises(ModelError, match="upgrade Roto"):
        load_bundle(bundle_copy)


def test_a_bundle_from_before_mask_prompts_asks_to_be_converted_again(bundle_copy: Path) -> None:
    def older(manifest: dict[str, Any]) -> None:
        del manifest["graphs"]["mask_prompt"], manifest["files"]["mask_prompt.onnx"]

    _edit_manifest(bundle_copy, older)
    (bundle_copy / "mask_prompt.onnx").unlink()
    expected = f"{bundle_copy / MANIFEST_NAME}: graph 'mask_prompt' is not listed (a bundle converted by an older Roto"
    assert [p for p in verify_bundle(bundle_copy) if "mask_prompt" in p] == [
        expected + ": convert it again, e.g. `roto models install`)"
    ]
    with pytest.raises(ModelError, match="convert it again"):
        load_bundle(bundle_copy)


def test_wrong_variant_is_a_size_mismatch(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, lambda m: m.update(variant="tiny"))
    problems = verify_bundle(bundle_copy)
    assert problems == [
        f"{bundle_copy / MANIFEST_NAME}: variant tiny takes 1024 px input, bundle declares 256 (wrong variant)"
    ]


def test_unknown_variant(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, lambda m: m.update(variant="huge"))
    assert any("unknown SAM2 variant 'huge'" in p for p in verify_bundle(bundle_copy))


@pytest.mark.parametrize("bad_name", ["../x.onnx", "sub/x.onnx", "..", "/etc/passwd"])
def test_graph_file_names_may_not_escape_the_folder(bundle_copy: Path, bad_name: str) -> None:
    _edit_manifest(bundle_copy, lambda m: m["graphs"]["prompt_decoder"].update(file=bad_name))
    problems = verify_bundle(bundle_copy)
    assert any(f"graph file name {bad_name!r} must be a plain file name" in p for p in problems)
    with pytest.raises(ModelError, match="must be a plain file name"):
        load_bundle(bundle_copy)


def test_checksum_entries_may_not_escape_the_folder(bundle_copy: Path) -> None:
    def add_escaping_file(m: dict[str, Any]) -> None:
        m["files"]["../outside.onnx"] = {"sha256": "0" * 64}

    _edit_manifest(bundle_copy, add_escaping_file)
    assert any("'../outside.onnx' must be a plain file name" in p for p in verify_bundle(bundle_copy))


def test_manifest_missing_fields(bundle_copy: Path) -> None:
    def strip(m: dict[str, Any]) -> None:
        del m["graphs"]
        m["settings"] = "fast"

    _edit_manifest(bundle_copy, strip)
    problems = verify_bundle(bundle_copy)
    assert any("field 'graphs' is missing or not a dict" in p for p in problems)
    assert any("field 'settings' is missing or not a dict" in p for p in problems)


def test_missing_bundle_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model bundle folder not found"):
        load_bundle(tmp_path / "nowhere")


def test_cli_verify_on_damaged_copy(bundle_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = bundle_copy / "prompt_decoder.onnx"
    graph.write_bytes(graph.read_bytes()[:1000])
    assert main(["models", "verify", str(bundle_copy)]) == 1
    out = capsys.readouterr().out
    assert "sam2.1-test: FAILED" in out
    assert f"{graph}: 1000 bytes" in out


def test_cli_verify_json(bundle_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle_copy / "image_encoder.onnx").unlink()
    assert main(["models", "verify", "--json", str(bundle_copy)]) == 1
    (result,) = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert any("image_encoder.onnx: missing" in p for p in result["problems"])
