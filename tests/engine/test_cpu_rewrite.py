"""The CPU rewrites' cache: a bundle graph is rewritten once per file, not at every open, and never outside it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from roto.engine import cpu_rewrite
from roto.engine.bundle import load_bundle
from roto.engine.cpu_rewrite import cpu_graph, rewritten_graph
from roto.engine.install import remove
from roto.engine.service import Sam2Graphs
from roto.engine.session import RuntimeOptions
from roto.errors import ModelError

BUNDLES = Path(__file__).resolve().parents[1] / "data" / "bundles"
ENCODER = BUNDLES / "edgetam-test" / "image_encoder.onnx"
SHA = "ab" * 32


def _cache() -> Path:
    return Path(os.environ["ROTO_CACHE_DIR"]) / cpu_rewrite.CACHE_FOLDER


def _no_rewriting(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path, graph: str) -> bytes | None:
        raise AssertionError(f"{path.name} rewritten again")

    monkeypatch.setattr(cpu_rewrite, "rewritten_graph", refuse)


def test_a_rewritten_graph_is_kept_and_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    first = cpu_graph(ENCODER, "image_encoder", SHA)
    assert isinstance(first, Path) and first.parent == _cache()
    assert first.read_bytes() == rewritten_graph(ENCODER, "image_encoder")
    _no_rewriting(monkeypatch)
    assert cpu_graph(ENCODER, "image_encoder", SHA) == first
    assert not list(_cache().glob(".*"))  # no temporary left behind


def test_another_file_or_rewrite_version_is_rewritten_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    first = cpu_graph(ENCODER, "image_encoder", SHA)
    other = cpu_graph(ENCODER, "image_encoder", "cd" * 32)
    monkeypatch.setattr(cpu_rewrite, "REWRITES_VERSION", cpu_rewrite.REWRITES_VERSION + 1)
    newer = cpu_graph(ENCODER, "image_encoder", SHA)
    assert len({first, other, newer}) == 3


def test_nothing_to_rewrite_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plain.onnx"
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    onnx.save(helper.make_model(graph), path)
    assert cpu_graph(path, "image_encoder", SHA) is None
    _no_rewriting(monkeypatch)
    assert cpu_graph(path, "image_encoder", SHA) is None
    assert cpu_graph(path, "mask_prompt", SHA) is None  # no rewrites for it: never parsed


def test_without_a_writable_cache_the_rewritten_bytes_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("x")
    monkeypatch.setenv("ROTO_CACHE_DIR", str(blocked))
    assert cpu_graph(ENCODER, "image_encoder", SHA) == rewritten_graph(ENCODER, "image_encoder")


def test_only_a_digest_names_a_cached_file(tmp_path: Path) -> None:
    escape = "../../escaped"
    assert cpu_graph(ENCODER, "image_encoder", escape) == rewritten_graph(ENCODER, "image_encoder")
    assert not list(_cache().parent.parent.glob("escaped*"))
    assert not _cache().exists() or not list(_cache().iterdir())


def test_removing_a_bundle_forgets_its_cached_graphs(
    test_bundle_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    monkeypatch.setenv("ROTO_MODELS_DIR", str(models))
    models.mkdir()
    shutil.copytree(test_bundle_path, models / "sam2.1-test")
    Sam2Graphs(load_bundle(models / "sam2.1-test"), RuntimeOptions(provider="cpu", threads=1))
    assert list(_cache().iterdir())
    remove("sam2.1-test")
    assert list(_cache().iterdir()) == []
    with pytest.raises(ModelError):
        remove("sam2.1-test")
