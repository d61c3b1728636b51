"""Fixtures that pair a freshly converted bundle with the very PyTorch model it was converted from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roto.engine.bundle import Bundle, load_bundle

SEED = 0


def _pair(
    folder: Path,
    object_score_bias: float | None = None,
    object_score_gain: float = 1.0,
    tweak: Callable[[Any], None] | None = None,
) -> tuple[Any, Bundle]:
    import copy

    from roto.engine.export_onnx import ExportRequest, build_sam2_model, export_bundle

    kwargs = {} if object_score_bias is None else {"object_score_bias": object_score_bias}
    model = build_sam2_model("test", None, seed=SEED, **kwargs)
    model.sam_mask_decoder.pred_obj_score_head.layers[-1].weight.data.mul_(object_score_gain)
    if tweak is not None:
        tweak(model)
    # The export rewrites the model's RoPE for ONNX: keep the reference on Meta's own complex-valued code.
    export_bundle(ExportRequest(variant="test", out_dir=folder, seed=SEED), model=copy.deepcopy(model))
    return model, load_bundle(folder)


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedding caches made with `EmbeddingCache.user()` write here, never in the real user cache folder."""
    monkeypatch.setenv("ROTO_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))


@pytest.fixture(scope="session")
def reference_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Bundle]:
    """(Meta's SAM2 model with seeded random weights, the bundle Roto's converter made from the same weights)."""
    return _pair(tmp_path_factory.mktemp("bundle") / "sam2.1-test")


@pytest.fixture(scope="session")
def absent_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Bundle]:
    """Like reference_pair, but the model judges every object absent (object score below zero)."""
    return _pair(tmp_path_factory.mktemp("absent") / "sam2.1-test", object_score_bias=-2.0)


@pytest.fixture(scope="session")
def returning_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Bundle]:
    """Like reference_pair, but the object score follows the picture strongly enough to change sign.

    Random weights barely tell frames apart (scores within 0.02 of each other); with the head's weights scaled
    by 50 and its bias at 4.3, the object scores about +0.35 on the prompted frame and on flat grey frames and
    about -0.3 on the clip's other frames: lost, found again and lost again, as tests/engine/test_parity_video.py
    arranges the frames.
    """
    return _pair(
        tmp_path_factory.mktemp("returning") / "sam2.1-test", object_score_bias=4.3, object_score_gain=50.0
    )


@pytest.fixture(scope="session")
def contrast_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Bundle]:
    """Like reference_pair, but with masks that follow the picture and the point (for segment everything).

    Random weights give logits within +-0.3 that barely depend on the prompt: every grid point would yield the
    same three masks with stability near 0. Scaling the hypernetworks' output by 100 and the point embeddings
    by 20 gives logits of a few units, masks that follow the shapes in the picture and differ between points.
    """

    def amplify(model: Any) -> None:
        for mlp in model.sam_mask_decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.data.mul_(100.0)
        for embedding in model.sam_prompt_encoder.point_embeddings:
            embedding.weight.data.mul_(20.0)

    return _pair(tmp_path_factory.mktemp("contrast") / "sam2.1-test", tweak=amplify)


@pytest.fixture(scope="session")
def truck_rgb(shared_media: Path) -> Any:
    import cv2

    bgr = cv2.imread(str(shared_media / "truck.jpg"))
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
