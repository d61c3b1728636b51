"""Attention exported as ONNX Runtime's fused MultiHeadAttention: same numbers as torch, and really used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from roto.engine.bundle import load_bundle
from roto.engine.session import RuntimeOptions, create_session

pytest.importorskip("torch")
pytest.importorskip("sam2")


def _export_attention(path: Path, num_heads: int) -> None:
    import torch

    from roto.engine.export_onnx import OPSET, _fused_attention

    class Attend(torch.nn.Module):
        def forward(self, q: Any, k: Any, v: Any) -> Any:
            return _fused_attention()(q, k, v, num_heads)

    example = (torch.zeros(2, 5, 8), torch.zeros(2, 7, 8), torch.zeros(2, 7, 4))
    torch.onnx.export(
        Attend(),
        example,
        str(path),
        input_names=["q", "k", "v"],
        output_names=["out"],
        dynamic_axes={name: {1: f"{name}_len"} for name in ("q", "k", "v")},
        opset_version=OPSET,
        dynamo=False,
    )


@pytest.mark.parametrize("num_heads", [1, 2])
def test_fused_attention_matches_torch(tmp_path: Path, num_heads: int) -> None:
    """Several heads, value heads narrower than query heads, and lengths other than the traced ones."""
    import torch
    from torch.nn import functional

    path = tmp_path / "attention.onnx"
    _export_attention(path, num_heads)
    rng = np.random.default_rng(0)
    q, k, v = (
        rng.standard_normal(shape).astype(np.float32) for shape in ((2, 33, 8), (2, 50, 8), (2, 50, 4))
    )
    session = create_session(path, RuntimeOptions(provider="cpu"))
    (ours,) = session.run(None, {"q": q, "k": k, "v": v})

    def heads(x: np.ndarray) -> Any:
        return torch.from_numpy(x).reshape(2, x.shape[1], num_heads, -1).transpose(1, 2)

    attended = functional.scaled_dot_product_attention(heads(q), heads(k), heads(v))
    expected = attended.transpose(1, 2).reshape(2, 33, 4).numpy()
    assert ours.shape == (2, 33, 4)
    assert np.abs(ours - expected).max() < 1e-5


@pytest.mark.parametrize("graph", ["image_encoder", "memory_attention"])
def test_committed_bundle_attends_with_the_fused_operator(test_bundle_path: Path, graph: str) -> None:
    """Every attention in the big graphs is one fused node: no score matrix passes through Softmax."""
    bundle = load_bundle(test_bundle_path)
    model = onnx.load(str(bundle.graph_path(graph)))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("MultiHeadAttention") >= 2
    assert "Softmax" not in ops
