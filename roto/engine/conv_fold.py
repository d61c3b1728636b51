"""Two pointwise convolutions in a row become one, when a graph is opened: the same linear map, fewer FLOPs.

SAM2's image encoder (Hiera's and EdgeTAM's RepViT alike) makes its two high-resolution feature maps with a 1x1
FPN lateral conv to 256 channels (`neck.convs.3`, `neck.convs.2`) followed by the decoder's 1x1 `conv_s0` /
`conv_s1` down to 32 / 64 channels, with nothing between them. Composed, W = W2 @ W1 and b = W2 @ b1 + b2, they
are one 1x1 conv straight from the backbone's 48..96 channels: at 1024 px input the 256-channel map at stride 4
is never written (2.7 GFLOP and a 64 MiB tensor less per frame for EdgeTAM's encoder, about a sixth of its time
on a CPU). ONNX Runtime has no such fusion, and the bundles keep Meta's structure (the graph templates and the
parity tests read it), so the fold happens on the loaded graph (`cpu_rewrite`), for any bundle already installed.

Only what is exactly a composition of linear maps is folded: both convs 1x1, one group, stride 1, no padding,
float32 weights held as initializers, and the first conv's output read by nothing but the second (and by Shape
nodes, which ONNX Runtime answers from the static shape, after which the first conv is dead and dropped).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from roto.engine.onnx_index import fixed_initializers, readers_of


def _attribute(node: Any, name: str, default: Any) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _pointwise_weight(node: Any, initializers: dict[str, Any]) -> np.ndarray | None:
    """The (out, in) matrix of a plain 1x1 conv whose weight is a float32 initializer, else None."""
    from onnx import TensorProto, numpy_helper

    if node.op_type != "Conv" or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
        return None
    weight = initializers.get(node.input[1])
    if weight is None or weight.data_type != TensorProto.FLOAT or list(weight.dims[2:]) != [1, 1]:
        return None
    if len(node.input) > 2 and node.input[2] and node.input[2] not in initializers:
        return None
    plain = (
        _attribute(node, "group", 1) == 1
        and all(v == 1 for v in _attribute(node, "strides", [1, 1]))
        and all(v == 1 for v in _attribute(node, "dilations", [1, 1]))
        and all(v == 0 for v in _attribute(node, "pads", [0, 0, 0, 0]))
        and _attribute(node, "auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    )
    return numpy_helper.to_array(weight)[:, :, 0, 0] if plain else None


def _bias(node: Any, initializers: dict[str, Any], channels: int) -> np.ndarray:
    from onnx import numpy_helper

    if len(node.input) > 2 and node.input[2]:
        return np.asarray(numpy_helper.to_array(initializers[node.input[2]]), np.float64)
    return np.zeros(channels, np.float64)


def _subgraph_names(graph: Any) -> set[str]:
    """Every value name read inside a subgraph (If/Loop bodies may read the outer graph's values)."""
    from onnx import AttributeProto

    names: set[str] = set()
    for node in graph.node:
        for attribute in node.attribute:
            bodies = [attribute.g] if attribute.type == AttributeProto.GRAPH else list(attribute.graphs)
            for body in bodies:
                for inner in body.node:
                    names.update(inner.input)
                names |= _subgraph_names(body)
    return names


def fold_pointwise_pairs(model: Any) -> int:
    """Fold every 1x1 conv feeding only another 1x1 conv into it, in place; returns how many were folded."""
    from onnx import numpy_helper

    graph = model.graph
    initializers = fixed_initializers(graph)
    consumers = readers_of(graph)
    protected = {output.name for output in graph.output} | _subgraph_names(graph)
    folded = 0
    for first in list(graph.node):
        w1 = _pointwise_weight(first, initializers)
        if w1 is None or first.output[0] in protected:
            continue
        readers = consumers[first.output[0]]
        convs = [node for node in readers if node.op_type != "Shape"]
        if len(convs) != 1 or convs[0].input[0] != first.output[0]:
            continue
        second = convs[0]
        w2 = _pointwise_weight(second, initializers)
        if w2 is None:
            continue
        w1_64, w2_64 = np.asarray(w1, np.float64), np.asarray(w2, np.float64)
        weight = (w2_64 @ w1_64)[:, :, None, None].astype(np.float32)
        bias = (
            w2_64 @ _bias(first, initializers, w1.shape[0]) + _bias(second, initializers, w2.shape[0])
        ).astype(np.float32)
        prefix = f"{second.name or second.output[0]}/folded_pointwise"
        graph.initializer.extend(
            [
                numpy_helper.from_array(weight, f"{prefix}_weight"),
                numpy_helper.from_array(bias, f"{prefix}_bias"),
            ]
        )
        del second.input[:]
        second.input.extend([first.input[0], f"{prefix}_weight", f"{prefix}_bias"])
        consumers[first.input[0]].append(second)
        if len(readers) == 1:  # else Shape nodes still read it; ONNX Runtime drops it once they are folded
            graph.node.remove(first)
        folded += 1
    return folded
