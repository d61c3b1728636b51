"""Bundles of the wrong model family: an EdgeTAM graph in a SAM2.1 bundle, a SAM2.1 graph or manifest claiming
EdgeTAM, a family this Roto does not know. `verify` and loading refuse each with a message naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import onnx
import pytest

from roto.engine.bundle import (
    EDGETAM,
    FAMILY_KEY,
    MANIFEST_NAME,
    expected_input_shapes,
    load_bundle,
    sha256_file,
    verify_bundle,
    write_manifest,
)
from roto.engine.service import EngineService
from roto.errors import ModelError


@pytest.fixture
def bundle(test_bundle_path: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(test_bundle_path, tmp_path / "bundle"))


def _edit_manifest(folder: Path, change: Any) -> None:
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    change(manifest)
    write_manifest(folder / MANIFEST_NAME, manifest)


def _stamp(folder: Path, graph: str, family: str) -> None:
    """Mark a graph as made for `family` and re-list its checksum, as a swapped-in graph of that family would be."""
    path = folder / graph
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {FAMILY_KEY: family})
    onnx.save(model, str(path))

    def relist(manifest: dict[str, Any]) -> None:
        manifest["files"][graph] = {"sha256": sha256_file(path), "size": path.stat().st_size}

    _edit_manifest(folder, relist)


def test_the_sam2_test_bundle_is_sound_and_sam2(test_bundle_path: Path) -> None:
    assert verify_bundle(test_bundle_path) == []
    assert load_bundle(test_bundle_path).family == "sam2.1"


@pytest.mark.parametrize("graph", ["image_encoder.onnx", "memory_encoder.onnx"])
def test_an_edgetam_graph_in_a_sam2_bundle_is_refused(bundle: Path, graph: str) -> None:
    _stamp(bundle, graph, EDGETAM)
    problems = verify_bundle(bundle)
    assert any(f"{graph}: a graph made for edgetam in a sam2.1 bundle" in p for p in problems), problems
    with pytest.raises(ModelError, match=rf"{graph}: a graph made for edgetam in a sam2.1 bundle"):
        EngineService.open(load_bundle(bundle))


def test_a_manifest_claiming_edgetam_for_a_sam2_variant_is_refused(bundle: Path) -> None:
    _edit_manifest(bundle, lambda m: m.update(family=EDGETAM))
    with pytest.raises(
        ModelError, match=r"variant test is a sam2\.1 model, but the manifest says family 'edgetam'"
    ):
        load_bundle(bundle)
    assert any("family 'edgetam'" in p for p in verify_bundle(bundle))


def test_sam2_graphs_under_an_edgetam_variant_are_refused(bundle: Path) -> None:
    """A SAM2.1 bundle relabelled as EdgeTAM: its graphs say SAM2.1 and its memories have the wrong shape."""

    def relabel(manifest: dict[str, Any]) -> None:
        manifest.update(
            family=EDGETAM, variant="edgetam-test", perceiver={"latents_1d": 16, "latents_2d": 16}
        )

    _edit_manifest(bundle, relabel)
    problems = verify_bundle(bundle)
    assert any("image_encoder.onnx: a graph made for sam2.1 in a edgetam bundle" in p for p in problems), (
        problems
    )
    assert any("memory_attention input memory_feats has shape" in p for p in problems), problems
    with pytest.raises(ModelError, match=r"a graph made for sam2\.1 in a edgetam bundle"):
        EngineService.open(load_bundle(bundle))


@pytest.mark.parametrize(
    ("perceiver", "why"),
    [
        (None, "needs 'perceiver' with latents_1d and latents_2d"),
        ({"latents_1d": "256", "latents_2d": 256}, "needs 'perceiver'"),
        ({"latents_1d": True, "latents_2d": 256}, "needs 'perceiver'"),
        ({"latents_1d": -1, "latents_2d": 256}, "needs 'perceiver'"),
        ({"latents_1d": 0, "latents_2d": 0}, "makes memories of no tokens"),
    ],
)
def test_an_edgetam_manifest_without_a_sound_perceiver_is_refused(
    bundle: Path, perceiver: Any, why: str
) -> None:
    _edit_manifest(bundle, lambda m: m.update(family=EDGETAM, variant="edgetam-test", perceiver=perceiver))
    with pytest.raises(ModelError, match=why):
        load_bundle(bundle)


def test_an_unknown_family_is_refused(bundle: Path) -> None:
    _edit_manifest(bundle, lambda m: m.update(family="sam3"))
    with pytest.raises(ModelError, match=r"manifest.json: unknown model family 'sam3'"):
        load_bundle(bundle)


def test_edgetam_memories_are_tokens(test_bundle_path: Path) -> None:
    settings = load_bundle(test_bundle_path).settings
    assert expected_input_shapes(settings)["memory_attention"]["memory_feats"] == [None, 16, 16, 16]
    assert expected_input_shapes(settings, 512)["memory_attention"]["memory_feats"] == [None, 512, 16]
