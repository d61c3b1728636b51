"""SAM2's LayerNorm2d, exported as nine elementwise nodes, becomes one LayerNormalization when a graph is opened.

`sam2.modeling.sam2_utils.LayerNorm2d` normalises an NCHW map over its channels by hand (mean, x - mean, pow 2,
mean, + eps, sqrt, divide, * weight, + bias), so the exporter writes ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/
Mul/Add: two strided reductions over the channel axis and seven full passes over the map. It runs in the memory
encoder (four in the mask downsampler, two in the fuser) and the prompt decoder's upscaling, for every model
family, on every tracked frame. ONNX Runtime has the same normalisation as one kernel over the last axis, so the
pattern becomes Transpose (NCHW -> NHWC), LayerNormalization, Transpose back; where the map is transposed to
channels-last right after (the fuser's ConvNeXt blocks), ONNX Runtime cancels the two transposes.

Maps of fewer than MIN_CHANNELS channels keep the pattern (the kernel is slower on such short rows). Only the
exact pattern is rewritten: a rank-4 map (by ONNX shape inference), both reductions over axis 1 with
kept dims, exponent 2, a scalar epsilon, weight and bias float32 constants of shape (C, 1, 1) (initializers,
Constant nodes, or Identity nodes over them), and every
intermediate read by nothing but the pattern. LayerNormalization computes the same quantity in float32; the tests
compare outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from roto.engine.onnx_index import fixed_initializers, readers_of

# Below this many channels the rows are too short for the kernel: measured on 2 threads (ONNX Runtime 1.32, CPU
# time of the pattern against the rewrite): 4 channels at 512x512 4.5 -> 9.6 ms (slower), 16 at 256x256 5.0 ->
# 3.6, 64 at 128x128 7.1 -> 2.7, 256 at 64x64 7.0 -> 2.7.
MIN_CHANNELS = 16


class _Graph:
    """Lookups over one graph: constants, consumers, ranks."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper, shape_inference

        graph = model.graph
        self.initializers = fixed_initializers(graph)
        self.constants: dict[str, np.ndarray] = {}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        # the exporter shares equal weights between layers through Identity nodes
        self.aliases = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
        self.consumers = readers_of(graph)
        self.outputs = {output.name for output in graph.output}
        inferred = shape_inference.infer_shapes(model).graph
        self.ranks = {
            value.name: len(value.type.tensor_type.shape.dim)
            for value in [*inferred.value_info, *inferred.input, *inferred.output]
            if value.type.tensor_type.HasField("shape")
        }

    def value(self, name: str) -> np.ndarray | None:
        from onnx import numpy_helper

        while name in self.aliases:
            name = self.aliases[name]
        if name in self.constants:
            return self.constants[name]
        if name in self.initializers:
            return np.asarray(numpy_helper.to_array(self.initializers[name]))
        return None

    def only_reader(self, name: str, op_type: str) -> Any | None:
        """The single node reading `name`, if it is an `op_type` and `name` is no graph output."""
        readers = self.consumers[name]
        if name in self.outputs or len(readers) != 1 or readers[0].op_type != op_type:
            return None
        return readers[0]

    def other_input(self, node: Any, known: str) -> str | None:
        """The input of a two-input node that is not `known`."""
        inputs = list(node.input)
        if len(inputs) != 2 or known not in inputs:
            return None
        return inputs[1] if inputs[0] == known else inputs[0]


def _channel_mean(node: Any) -> bool:
    from onnx import helper

    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return (
        node.op_type == "ReduceMean"
        and len(node.input) == 1  # opset 18 moved axes to an input: not met in the bundles, not matched
        and list(attributes.get("axes", [])) == [1]
        and attributes.get("keepdims", 1) == 1
    )


def _match(graph: _Graph, mean: Any) -> tuple[list[Any], float, np.ndarray, np.ndarray] | None:
    """The nine nodes, epsilon, weight and bias of the LayerNorm2d starting at ReduceMean `mean`, or None."""
    if not _channel_mean(mean) or graph.ranks.get(mean.input[0]) != 4:
        return None
    x = mean.input[0]
    sub = graph.only_reader(mean.output[0], "Sub")
    if sub is None or list(sub.input) != [x, mean.output[0]]:
        return None
    readers = graph.consumers[sub.output[0]]
    if sub.output[0] in graph.outputs or sorted(n.op_type for n in readers) != ["Div", "Pow"]:
        return None
    power, div = sorted(readers, key=lambda n: n.op_type != "Pow")
    exponent = graph.value(power.input[1]) if power.input[0] == sub.output[0] else None
    if exponent is None or exponent.size != 1 or float(exponent) != 2.0:
        return None
    variance = graph.only_reader(power.output[0], "ReduceMean")
    if variance is None or not _channel_mean(variance):
        return None
    add_eps = graph.only_reader(variance.output[0], "Add")
    eps_name = None if add_eps is None else graph.other_input(add_eps, variance.output[0])
    eps = None if eps_name is None else graph.value(eps_name)
    if add_eps is None or eps is None or eps.size != 1:
        return None
    sqrt = graph.only_reader(add_eps.output[0], "Sqrt")
    if sqrt is None or list(div.input) != [sub.output[0], sqrt.output[0]]:
        return None
    if sqrt.output[0] in graph.outputs or len(graph.consumers[sqrt.output[0]]) != 1:
        return None
    scale = graph.only_reader(div.output[0], "Mul")
    if scale is None:
        return None
    shift = graph.only_reader(scale.output[0], "Add")
    if shift is None:
        return None
    weight_name = graph.other_input(scale, div.output[0])
    bias_name = graph.other_input(shift, scale.output[0])
    weight = None if weight_name is None else graph.value(weight_name)
    bias = None if bias_name is None else graph.value(bias_name)
    if (
        weight is None
        or bias is None
        or weight.dtype != np.float32
        or bias.dtype != np.float32
        or weight.ndim != 3
        or weight.shape[1:] != (1, 1)
        or weight.shape[0] < MIN_CHANNELS
        or bias.shape != weight.shape
    ):
        return None
    nodes = [mean, sub, power, variance, add_eps, sqrt, div, scale, shift]
    return nodes, float(eps.reshape(())), weight.reshape(-1), bias.reshape(-1)


def fuse_channel_norms(model: Any) -> int:
    """Rewrite every LayerNorm2d pattern of `model` into Transpose/LayerNormalization/Transpose, in place; returns
    how many were rewritten."""
    from onnx import helper, numpy_helper

    if not any(o.domain in ("", "ai.onnx") and o.version >= 17 for o in model.opset_import):
        return 0  # LayerNormalization is opset 17's
    if not any(_channel_mean(node) for node in model.graph.node):
        return 0  # spare the shape inference
    graph = _Graph(model)
    nodes = model.graph.node
    fused = 0
    for mean in [n for n in nodes if n.op_type == "ReduceMean"]:
        found = _match(graph, mean)
        if found is None:
            continue
        pattern, eps, weight, bias = found
        x, y = mean.input[0], pattern[-1].output[0]
        prefix = f"{mean.name or y}/channel_norm"
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(weight, f"{prefix}_scale"),
                numpy_helper.from_array(bias, f"{prefix}_bias"),
            ]
        )
        replacement = [
            helper.make_node(
                "Transpose", [x], [f"{prefix}_nhwc"], name=f"{prefix}/to_nhwc", perm=[0, 2, 3, 1]
            ),
            helper.make_node(
                "LayerNormalization",
                [f"{prefix}_nhwc", f"{prefix}_scale", f"{prefix}_bias"],
                [f"{prefix}_normed"],
                name=f"{prefix}/norm",
                axis=-1,
                epsilon=eps,
            ),
            helper.make_node(
                "Transpose", [f"{prefix}_normed"], [y], name=f"{prefix}/to_nchw", perm=[0, 3, 1, 2]
            ),
        ]
        at = min(i for i, node in enumerate(nodes) if node in pattern)  # keep the graph topologically sorted
        for node in pattern:
            nodes.remove(node)
        for offset, node in enumerate(replacement):
            nodes.insert(at + offset, node)
        fused += 1
    return fused
