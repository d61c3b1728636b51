"""SAM2's LayerNorm2d rewritten into LayerNormalization at load: the same outputs, and nothing else touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from roto.engine.channel_norm import MIN_CHANNELS, fuse_channel_norms
from roto.engine.cpu_rewrite import rewritten_graph
from roto.engine.service import Sam2Graphs
from roto.engine.session import RuntimeOptions

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ROOT / "tests" / "data" / "bundles"


def _layer_norm_2d(
    channels: int, exponent: float = 2.0, axes: tuple[int, ...] = (1,), leak: bool = False
) -> onnx.ModelProto:
    """x -> LayerNorm2d -> Relu, spelled as torch.onnx writes sam2's LayerNorm2d (weight shared via Identity)."""
    rng = np.random.default_rng(channels)

    def const(name: str, value: float) -> onnx.NodeProto:
        return helper.make_node(
            "Constant", [], [name], value=numpy_helper.from_array(np.array(value, np.float32))
        )

    nodes = [
        helper.make_node("ReduceMean", ["x"], ["u"], axes=list(axes), keepdims=1),
        helper.make_node("Sub", ["x", "u"], ["d"]),
        const("exponent", exponent),
        helper.make_node("Pow", ["d", "exponent"], ["p"]),
        helper.make_node("ReduceMean", ["p"], ["v"], axes=list(axes), keepdims=1),
        const("eps", 1e-6),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["sd"]),
        helper.make_node("Div", ["d", "sd"], ["n"]),
        helper.make_node("Identity", ["w"], ["w_shared"]),
        helper.make_node("Mul", ["w_shared", "n"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["y0"]),
        helper.make_node("Relu", ["y0"], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(rng.standard_normal((channels, 1, 1)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal((channels, 1, 1)).astype(np.float32), "b"),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if leak:  # the centred map is also a graph output: the pattern's intermediates are not its own
        outputs.append(helper.make_tensor_value_info("d", TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 6, 5])],
        outputs,
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def _run(model: onnx.ModelProto | bytes | Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    session = onnxruntime.InferenceSession(
        str(source) if isinstance(source, Path) else source, providers=["CPUExecutionProvider"]
    )
    return [np.asarray(v) for v in session.run(None, feeds)]


def test_the_pattern_becomes_one_layer_normalization_with_the_same_outputs() -> None:
    model = _layer_norm_2d(32)
    x = {"x": (np.random.default_rng(1).standard_normal((1, 32, 6, 5)) * 3 + 5).astype(np.float32)}
    before = _run(model, x)
    assert fuse_channel_norms(model) == 1
    ops = [n.op_type for n in model.graph.node if n.op_type not in ("Constant", "Identity")]
    assert ops == ["Transpose", "LayerNormalization", "Transpose", "Relu"]
    after = _run(model, x)
    np.testing.assert_allclose(after[0], before[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "variant",
    [
        {"channels": MIN_CHANNELS // 4},  # short rows: the kernel is slower there, the pattern stays
        {"channels": 32, "exponent": 3.0},  # not a variance
        {"channels": 32, "axes": (2,)},  # normalised over rows, not channels
        {"channels": 32, "leak": True},  # an intermediate is read outside the pattern
    ],
)
def test_anything_else_is_left_as_it_is(variant: dict) -> None:
    model = _layer_norm_2d(**variant)
    before = model.SerializeToString()
    assert fuse_channel_norms(model) == 0
    assert model.SerializeToString() == before


@pytest.mark.parametrize("bundle", ["sam2.1-test", "edgetam-test"])
@pytest.mark.parametrize("graph", ["memory_encoder", "prompt_decoder"])
def test_both_families_memory_encoder_and_decoder_keep_their_outputs(bundle: str, graph: str) -> None:
    path = BUNDLES / bundle / f"{graph}.onnx"
    data = rewritten_graph(path, graph)
    assert data is not None
    rewritten = onnx.load_from_string(data)
    assert any(n.op_type == "LayerNormalization" and "channel_norm" in n.name for n in rewritten.graph.node)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    feeds = {}
    for value in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in value.shape]
        feeds[value.name] = (rng.standard_normal(shape) * 4).astype(np.float32)
    feeds.update({k: np.ones_like(feeds[k]) for k in ("point_labels", "has_mask_input") if k in feeds})
    for ours, theirs in zip(_run(data, feeds), _run(path, feeds), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_cpu_sessions_run_the_rewritten_memory_encoder_and_decoder() -> None:
    from roto.engine.bundle import load_bundle

    graphs = Sam2Graphs(load_bundle(BUNDLES / "sam2.1-test"), RuntimeOptions(provider="cpu", threads=1))
    for session in (graphs.memory_encoder.session, graphs.decoder.graph.session):
        # the rewritten graph, kept in the user cache (cpu_rewrite.cpu_graph), not the bundle's file
        assert Path(session._model_path).parent.name == "cpu-graphs"
