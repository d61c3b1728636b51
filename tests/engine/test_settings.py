"""Sam2Settings: every setting the engine reads is checked when the bundle loads, by name, type and value."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roto.engine.bundle import MANIFEST_NAME, load_bundle, verify_bundle
from roto.engine.settings import SETTING_NAMES, Sam2Settings
from roto.errors import ModelError


@pytest.fixture
def bundle_copy(test_bundle_path: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(test_bundle_path, tmp_path / "sam2.1-test"))


def _edit_settings(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["settings"])
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_committed_bundle_has_every_setting_as_a_frozen_record(test_bundle_path: Path) -> None:
    bundle = load_bundle(test_bundle_path)
    settings = bundle.settings
    assert isinstance(settings, Sam2Settings)
    assert set(bundle.manifest["settings"]) == set(SETTING_NAMES)
    assert settings.image_size == 256 and settings.mask_side == 64
    assert settings.pixel_mean == (0.485, 0.456, 0.406)
    assert settings.max_cond_frames_in_attn == -1
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.num_maskmem = 3  # type: ignore[misc]
    assert Sam2Settings.from_manifest(settings.to_manifest(), "x") == settings


@pytest.mark.parametrize("key", ["multimask_output_in_sam", "use_signed_tpos_enc_to_obj_ptrs", "image_size"])
def test_a_missing_setting_fails_at_load_naming_it(bundle_copy: Path, key: str) -> None:
    manifest = _edit_settings(bundle_copy, lambda s: s.pop(key))
    with pytest.raises(ModelError, match=rf"{manifest}: settings lack '{key}'"):
        load_bundle(bundle_copy)
    assert f"{manifest}: settings lack '{key}'" in verify_bundle(bundle_copy)


def test_every_setting_is_required(bundle_copy: Path) -> None:
    manifest = _edit_settings(bundle_copy, lambda s: s.clear())
    problems = verify_bundle(bundle_copy)
    assert [p for p in problems if "settings lack" in p] == [
        f"{manifest}: settings lack {key!r}" for key in SETTING_NAMES
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("multimask_output_in_sam", 1, "must be true or false, not 1"),
        ("num_maskmem", 7.0, "must be an integer, not 7.0"),
        ("num_maskmem", True, "must be an integer, not True"),
        ("dynamic_multimask_stability_thresh", "0.98", "must be a number, not '0.98'"),
        ("pixel_mean", [0.5, 0.5], "must be a list of 3 numbers"),
    ],
)
def test_a_setting_of_the_wrong_type_fails_at_load(
    bundle_copy: Path, key: str, value: Any, message: str
) -> None:
    manifest = _edit_settings(bundle_copy, lambda s: s.update({key: value}))
    with pytest.raises(ModelError, match=rf"{manifest}: settings: '{key}' {message}") as error:
        load_bundle(bundle_copy)
    assert str(error.value) in verify_bundle(bundle_copy)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_cond_frames_in_attn", 2, "implements only -1"),
        ("memory_temporal_stride_for_eval", 0, "must be at least 1"),
        ("num_maskmem", 0, "must be at least 1"),
        ("image_size", 250, "not a multiple of backbone_stride 16"),
        ("multimask_min_pt_num", 3, "must be between 0 and multimask_max_pt_num"),
        ("pixel_std", [0.2, 0.0, 0.2], "must be positive"),
    ],
)
def test_a_value_the_engine_does_not_implement_fails_at_load(
    bundle_copy: Path, key: str, value: Any, message: str
) -> None:
    manifest = _edit_settings(bundle_copy, lambda s: s.update({key: value}))
    with pytest.raises(ModelError, match=rf"{manifest}: settings: '{key}' .*{message}"):
        load_bundle(bundle_copy)


def test_signed_pointer_distance_is_read_not_defaulted(bundle_copy: Path) -> None:
    """SAM2's own default is False: a bundle saying so is followed, never overridden by a default."""
    _edit_settings(bundle_copy, lambda s: s.update(use_signed_tpos_enc_to_obj_ptrs=False))
    assert load_bundle(bundle_copy).settings.use_signed_tpos_enc_to_obj_ptrs is False


def test_the_converter_writes_every_setting() -> None:
    """export_onnx builds the manifest's settings as a Sam2Settings, so none can be left out."""
    pytest.importorskip("torch")
    pytest.importorskip("sam2")
    from roto.engine.export_onnx import _model_settings, build_sam2_model

    written = _model_settings(build_sam2_model("test", None, seed=0))
    assert list(written) == list(SETTING_NAMES)
    Sam2Settings.from_manifest(written, "exported")
