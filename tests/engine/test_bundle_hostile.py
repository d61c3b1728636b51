"""Damaged and hostile bundles: checked at load (not only by `verify`), reported and skipped when installed
beside sound ones, never a traceback."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from roto.cli import main
from roto.engine.bundle import MANIFEST_NAME, load_bundle, sha256_file, verify_bundle, write_manifest
from roto.engine.seal import check_integrity
from roto.engine.service import EngineService
from roto.engine.settings import SETTING_NAMES
from roto.errors import ModelError


@pytest.fixture
def bundle(test_bundle_path: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(test_bundle_path, tmp_path / "bundle"))


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST_NAME).read_text())


def _flip_a_byte(path: Path, keep_mtime: bool) -> None:
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


@pytest.mark.parametrize("graph", ["image_encoder.onnx", "prompt_decoder.onnx", "memory_attention.onnx"])
@pytest.mark.parametrize("sealed_first", [False, True])
def test_a_graph_with_one_flipped_byte_never_runs(bundle: Path, graph: str, sealed_first: bool) -> None:
    if sealed_first:
        EngineService.open(load_bundle(bundle))  # sound: checked and sealed
    _flip_a_byte(bundle / graph, keep_mtime=sealed_first)  # same size; even the same mtime
    with pytest.raises(ModelError, match=rf"{graph}: SHA-256 does not match the manifest"):
        EngineService.open(load_bundle(bundle))
    assert any("SHA-256 does not match" in p for p in verify_bundle(bundle))


def test_a_sealed_bundle_is_not_hashed_again(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_integrity(load_bundle(bundle))
    hashed: list[Path] = []
    monkeypatch.setattr("roto.engine.seal.sha256_file", lambda path: hashed.append(path) or sha256_file(path))
    check_integrity(load_bundle(bundle))
    assert hashed == []
    os.utime(bundle / "image_encoder.onnx")  # touched: hashed again, once
    check_integrity(load_bundle(bundle))
    assert [p.name for p in hashed] == ["image_encoder.onnx"]


def test_a_graph_linked_from_outside_the_bundle_is_refused(bundle: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.onnx"
    shutil.move(bundle / "prompt_decoder.onnx", outside)
    (bundle / "prompt_decoder.onnx").symlink_to(outside)  # same bytes, same checksum: still refused
    with pytest.raises(
        ModelError, match=r"prompt_decoder\.onnx: links to .*outside\.onnx, outside the bundle"
    ):
        EngineService.open(load_bundle(bundle))
    assert any("outside the bundle" in p for p in verify_bundle(bundle))


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/hostname", "linked.bin"])
def test_weights_kept_outside_the_bundle_are_refused(bundle: Path, tmp_path: Path, location: str) -> None:
    (tmp_path / "secret.bin").write_bytes(np.zeros(4, np.float32).tobytes())
    if location == "linked.bin":
        (bundle / "linked.bin").symlink_to(tmp_path / "secret.bin")
    weights = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("raw_data")
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        weights.external_data.add(key=key, value=value)
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["mask", "w"], ["mask_input"]),
            helper.make_node("Identity", ["w"], ["no_obj_ptr"]),
        ],
        "hostile",
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [4])],
        [
            helper.make_tensor_value_info("mask_input", TensorProto.FLOAT, [4]),
            helper.make_tensor_value_info("no_obj_ptr", TensorProto.FLOAT, [4]),
        ],
        [weights],
    )
    path = bundle / "mask_prompt.onnx"
    onnx.save(helper.make_model(graph), str(path))
    manifest = _manifest(bundle)
    manifest["graphs"]["mask_prompt"]["file"] = path.name
    manifest["files"][path.name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    write_manifest(bundle / MANIFEST_NAME, manifest)
    assert any("keeps its data in" in p for p in verify_bundle(bundle))
    with pytest.raises(ModelError, match="keeps its data in"):
        check_integrity(load_bundle(bundle))


hostile_numbers = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, -(10**12), 10**12, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**15), 10**15),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(SETTING_NAMES),
    value=st.one_of(hostile_numbers, st.lists(hostile_numbers, max_size=4)),
)
def test_hostile_settings_load_or_are_refused_with_the_key_named(bundle: Path, key: str, value: Any) -> None:
    manifest = _manifest(bundle)
    manifest["settings"][key] = value
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))
    try:
        loaded = load_bundle(bundle)
    except ModelError as exc:
        assert repr(key) in str(exc) or "settings" in str(exc)
        return
    floats = [
        loaded.settings.__dict__[k] for k in SETTING_NAMES if isinstance(loaded.settings.__dict__[k], float)
    ]
    assert all(math.isfinite(v) for v in floats)
    assert 1 <= loaded.settings.image_size <= 4096


def _real_weights_copy(test_bundle_path: Path, folder: Path) -> Path:
    shutil.copytree(test_bundle_path, folder)
    manifest = _manifest(folder)
    manifest["random_weights"] = False  # so that the editor's and the CLI's choice may pick it
    write_manifest(folder / MANIFEST_NAME, manifest)
    return folder


def _deeply_nested(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / MANIFEST_NAME).write_text("[" * 100_000 + "]" * 100_000)


def _fifo(folder: Path) -> None:
    folder.mkdir(parents=True)
    os.mkfifo(folder / MANIFEST_NAME)


def _not_an_object(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / MANIFEST_NAME).write_text('"a string"')


@pytest.mark.timeout(120)
@pytest.mark.parametrize("damage", [_deeply_nested, _fifo, _not_an_object])
def test_one_damaged_installed_bundle_is_reported_and_the_others_still_work(
    test_bundle_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: Any,
) -> None:
    models = tmp_path / "models"
    monkeypatch.setenv("ROTO_MODELS_DIR", str(models))
    monkeypatch.delenv("ROTO_MODEL", raising=False)
    damage(models / "aaa-damaged")
    _real_weights_copy(test_bundle_path, models / "zzz-sound")
    image = tmp_path / "image.png"
    import cv2

    cv2.imwrite(str(image), np.full((32, 32, 3), 128, np.uint8))
    for argv, code in (
        (["models", "list", "--json"], 0),
        (["models", "verify", "--json"], 1),
        (["doctor", "--json"], None),
        (["segment", str(image), "--point", "5,5", "-o", str(tmp_path / "m.png"), "--json"], 0),
    ):
        got = main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in err, argv
        if code is not None:
            assert got == code, (argv, err)
        text = out + err
        if argv[0] != "segment":
            assert "aaa-damaged" in text and "zzz-sound" in text, argv
    assert (tmp_path / "m.png").is_file()  # segment without --model used the sound bundle


def _zip_bundle(bundle: Path, archive: Path, extra: dict[str, int], replace: dict[str, int]) -> Path:
    """The bundle zipped, plus `extra` members of N zero bytes, and listed files replaced by N zero bytes."""
    import zipfile

    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in bundle.iterdir():
            if path.name in replace:
                zf.writestr(f"b/{path.name}", bytes(replace[path.name]))
            else:
                zf.write(path, f"b/{path.name}")
        for name, size in extra.items():
            zf.writestr(f"b/{name}", bytes(size))
    return archive


def test_a_zip_bomb_is_never_unpacked(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROTO_MODELS_DIR", str(tmp_path / "models"))
    padding = _zip_bundle(bundle, tmp_path / "padded.zip", {"junk.bin": 64 << 20}, {})
    assert padding.stat().st_size < 8 << 20
    assert main(["models", "import", str(padding)]) == 0  # what the manifest does not list is skipped
    installed = tmp_path / "models" / _manifest(bundle)["name"]
    assert not (installed / "junk.bin").exists()
    capsys.readouterr()
    inflated = _zip_bundle(bundle, tmp_path / "inflated.zip", {}, {"image_encoder.onnx": 64 << 20})
    assert main(["models", "import", str(inflated), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "image_encoder.onnx unpacks to more than" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("setting", "value", "graph_input"),
    [("image_size", 512, "image_encoder input image"), ("hidden_dim", 32, "prompt_decoder input image_embed"),
     ("mem_dim", 8, "memory_attention input memory_feats")],
)  # fmt: skip
def test_graphs_of_the_right_names_and_the_wrong_shapes_are_refused(
    bundle: Path, setting: str, value: int, graph_input: str
) -> None:
    manifest = _manifest(bundle)
    manifest["settings"][setting] = value  # the settings no longer describe these graphs
    write_manifest(bundle / MANIFEST_NAME, manifest)
    assert any(f"{graph_input} has shape" in p for p in verify_bundle(bundle))
    with pytest.raises(ModelError, match="the bundle's settings need"):
        EngineService.open(load_bundle(bundle))
