"""A build without the converter (the frozen app) explains how to convert elsewhere instead of crashing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from roto.engine.install import import_checkpoint
from roto.errors import ModelError


def test_checkpoint_import_without_converter_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROTO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setitem(sys.modules, "roto.engine.export_onnx", None)  # import now raises ImportError
    checkpoint = tmp_path / "sam2.1_hiera_tiny.pt"
    checkpoint.write_bytes(b"not used")
    with pytest.raises(ModelError, match=r"cannot convert sam2\.1_hiera_tiny\.pt.*roto models import"):
        import_checkpoint(checkpoint, "tiny")
