"""A build without the converter (the frozen app) builds bundles from graph templates; for a variant without one it
explains how to convert elsewhere instead of crashing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import roto.engine.install
from roto.engine.install import import_checkpoint
from roto.errors import ModelError


def test_checkpoint_import_without_converter_or_template_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROTO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setitem(sys.modules, "roto.engine.export_onnx", None)  # import now raises ImportError
    monkeypatch.setattr(roto.engine.install, "has_template", lambda variant: False)  # a variant without one
    checkpoint = tmp_path / "sam2.1_hiera_tiny.pt"
    checkpoint.write_bytes(b"not used")
    with pytest.raises(ModelError, match=r"cannot convert sam2\.1_hiera_tiny\.pt.*roto models import"):
        import_checkpoint(checkpoint, "tiny")


def test_install_prefers_a_pre_exported_bundle_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_bundle_path: Path
) -> None:
    """Where the catalog names a bundle archive, install downloads it (verified) instead of converting."""
    import dataclasses
    import shutil

    from roto.engine import install as install_module
    from roto.engine.bundle import VARIANTS, verify_bundle

    monkeypatch.setenv("ROTO_MODELS_DIR", str(tmp_path / "models"))
    archive = Path(
        shutil.make_archive(str(tmp_path / "bundle"), "zip", test_bundle_path.parent, test_bundle_path.name)
    )
    spec = dataclasses.replace(VARIANTS["tiny"], bundle_url="https://example.invalid/sam2.1-tiny.zip")
    monkeypatch.setitem(VARIANTS, "tiny", spec)
    fetched: list[str] = []

    def fake_download(
        url: str, dest: Path, sha256: str | None, hint: str, progress: bool, on_block: object = None
    ) -> Path:
        fetched.append(url)
        return archive

    monkeypatch.setattr(install_module, "download", fake_download)
    installed = install_module.install("tiny")
    assert fetched == ["https://example.invalid/sam2.1-tiny.zip"]
    assert installed == tmp_path / "models" / "sam2.1-test"
    assert verify_bundle(installed) == []
