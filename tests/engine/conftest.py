"""Fixtures that pair a freshly converted bundle with the very PyTorch model it was converted from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roto.engine.bundle import Bundle, load_bundle

SEED = 0


@pytest.fixture(scope="session")
def reference_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Bundle]:
    """(Meta's SAM2 model with seeded random weights, the bundle Roto's converter made from the same weights)."""
    from roto.engine.export_onnx import ExportRequest, build_sam2_model, export_bundle

    folder = tmp_path_factory.mktemp("bundle") / "sam2.1-test"
    export_bundle(ExportRequest(variant="test", out_dir=folder, seed=SEED))
    model = build_sam2_model("test", None, seed=SEED)  # unpatched: Meta's own complex-valued RoPE
    return model, load_bundle(folder)


@pytest.fixture(scope="session")
def truck_rgb(shared_media: Path) -> Any:
    import cv2

    return cv2.cvtColor(cv2.imread(str(shared_media / "truck.jpg")), cv2.COLOR_BGR2RGB)
