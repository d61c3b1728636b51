"""Pointwise conv pairs folded at load: the same outputs, fewer convs, and nothing folded that is not linear."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from roto.engine.conv_fold import fold_pointwise_pairs
from roto.engine.cpu_rewrite import rewritten_graph
from roto.engine.service import Sam2Graphs
from roto.engine.session import RuntimeOptions

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ROOT / "tests" / "data" / "bundles"


def _conv(
    name: str, x: str, out: str, cin: int, cout: int, rng: np.random.Generator, **attrs: object
) -> tuple:
    kernel = attrs.pop("kernel", 1)
    group = int(attrs.get("group", 1))  # type: ignore[call-overload]
    weight = rng.standard_normal((cout, cin // group, kernel, kernel)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    node = helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [out], name=name, **attrs)
    return node, [numpy_helper.from_array(weight, f"{name}.w"), numpy_helper.from_array(bias, f"{name}.b")]


def _model(nodes: list, inits: list, outputs: list[tuple[str, int]]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 5, 5])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT if rank else TensorProto.INT64, None)
            for name, rank in outputs
        ],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(v) for v in session.run(None, {"x": x})]


def _pair(rng: np.random.Generator, middle: str | None = None, **second: object) -> onnx.ModelProto:
    a, ia = _conv("a", "x", "h", 6, 16, rng)
    nodes, inits = [a], ia
    source = "h"
    if middle is not None:
        nodes.append(helper.make_node(middle, ["h"], ["m"]))
        source = "m"
    b, ib = _conv("b", source, "y", 16, 4 if not second.get("group") else 16, rng, **second)
    return _model([*nodes, b], inits + ib, [("y", 4)])


def test_a_pointwise_pair_becomes_one_conv_with_the_same_outputs() -> None:
    rng = np.random.default_rng(0)
    model = _pair(rng)
    x = rng.standard_normal((1, 6, 5, 5)).astype(np.float32)
    before = _run(model, x)
    assert fold_pointwise_pairs(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Conv"]
    after = _run(model, x)
    np.testing.assert_allclose(after[0], before[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("middle", "second"),
    [
        ("Relu", {}),  # a nonlinearity between them: not one linear map
        (None, {"kernel": 3, "pads": [1, 1, 1, 1]}),  # a 3x3 conv mixes neighbours
        (None, {"strides": [2, 2]}),
        (None, {"group": 16}),
    ],
)
def test_what_is_not_a_plain_pointwise_pair_is_left_alone(middle: str | None, second: dict) -> None:
    model = _pair(np.random.default_rng(1), middle, **second)
    nodes = len(model.graph.node)
    assert fold_pointwise_pairs(model) == 0
    assert len(model.graph.node) == nodes


def test_a_conv_whose_output_is_read_elsewhere_is_kept() -> None:
    rng = np.random.default_rng(2)
    a, ia = _conv("a", "x", "h", 6, 16, rng)
    b, ib = _conv("b", "h", "y", 16, 4, rng)
    both = _model([a, b, helper.make_node("Relu", ["h"], ["r"])], ia + ib, [("y", 4), ("r", 4)])
    assert fold_pointwise_pairs(both) == 0
    exported = _model([a, b], ia + ib, [("y", 4), ("h", 4)])  # the first conv's output is a graph output
    assert fold_pointwise_pairs(exported) == 0


def test_shape_readers_keep_the_first_conv_and_their_answer() -> None:
    """SAM2.1's encoder reads the lateral conv's shape for its position encoding: the conv stays for it, and
    ONNX Runtime answers the Shape from the static shape (then drops the conv)."""
    rng = np.random.default_rng(3)
    a, ia = _conv("a", "x", "h", 6, 16, rng)
    b, ib = _conv("b", "h", "y", 16, 4, rng)
    shape = helper.make_node("Shape", ["h"], ["s"])
    model = _model([a, b, shape], ia + ib, [("y", 4), ("s", 0)])
    x = rng.standard_normal((1, 6, 5, 5)).astype(np.float32)
    before = _run(model, x)
    assert fold_pointwise_pairs(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Conv", "Conv", "Shape"]
    after = _run(model, x)
    np.testing.assert_allclose(after[0], before[0], rtol=1e-5, atol=1e-5)
    assert after[1].tolist() == [1, 16, 5, 5]


@pytest.mark.parametrize("bundle", ["sam2.1-test", "edgetam-test"])
def test_both_families_encoders_fold_their_high_res_paths(bundle: str) -> None:
    """The FPN lateral conv and the decoder's conv_s0 / conv_s1 of both levels, outputs within float rounding."""
    path = BUNDLES / bundle / "image_encoder.onnx"
    data = rewritten_graph(path, "image_encoder")
    assert data is not None
    folded = onnx.load_from_string(data)
    original = onnx.load(str(path))
    names = {n.name for n in folded.graph.node}
    assert {"/conv_s0/Conv", "/conv_s1/Conv"} <= names
    x = np.random.default_rng(4).standard_normal((1, 3, 256, 256)).astype(np.float32)
    feeds = {original.graph.input[0].name: x}
    ours = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, feeds)
    theirs = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_nothing_to_fold_or_unreadable_loads_the_file(tmp_path: Path) -> None:
    assert rewritten_graph(BUNDLES / "sam2.1-test" / "mask_prompt.onnx", "mask_prompt") is None
    assert fold_pointwise_pairs(onnx.load(str(BUNDLES / "sam2.1-test" / "prompt_decoder.onnx"))) == 0
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    assert rewritten_graph(broken, "image_encoder") is None


def test_cpu_sessions_run_the_folded_encoder() -> None:
    from roto.engine.bundle import load_bundle

    graphs = Sam2Graphs(load_bundle(BUNDLES / "edgetam-test"), RuntimeOptions(provider="cpu", threads=1))
    session = graphs.encoder.session
    # the rewritten graph, kept in the user cache (cpu_rewrite.cpu_graph), not the bundle's file
    assert Path(session._model_path).parent.name == "cpu-graphs"
