"""Make the graph templates (`roto.engine.templates`) from the converter; needs PyTorch and Meta's sam2.

The weight map is derived from the exporter itself, never written by hand. Each graph is traced twice from one
random-weight model: as the bundle has it (PyTorch folds every computation on weights into initializers: split
qkv projections, value projections folded into output projections, transposed Linear weights, interpolated
position embeddings, ...) and with folding off, where that arithmetic is still ONNX nodes reading the state-dict
tensors by name. Every folded initializer is then found among the unfolded graph's weight-only values by its
numbers (random weights make them unique): a state-dict tensor itself, or a value computed from some. The nodes
computing the latter become the template's weight-preparation graph, run by ONNX Runtime at install time.
Initializers that depend on no weight (shape constants, rotary tables) keep their data in the template.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from roto.engine import edgetam_env
from roto.engine.bundle import EDGETAM, FAMILY_KEY, GRAPH_NAMES, VARIANTS
from roto.engine.export_onnx import (
    OPSET,
    _export_graph,
    _Graphs,
    _io_signature,
    _model_settings,
    _require_torch,
    build_model,
    family_manifest,
    graphs_for,
)
from roto.engine.templates import (
    CONSTANTS_DIR,
    STATE_PREFIX,
    TEMPLATE_FORMAT,
    TEMPLATE_FORMAT_VERSION,
    TEMPLATE_NAME,
    GraphTemplate,
    template_dir,
)
from roto.errors import ModelError

log = logging.getLogger(__name__)

# Folded by PyTorch, recomputed by ONNX Runtime: summation order may differ (products of two weights, the
# interpolated position embedding), never more than this.
MATCH_TOLERANCE = 1e-6
LARGE_CONSTANT_BYTES = 4096


def _static_values(graph: onnx.GraphProto) -> tuple[list[onnx.NodeProto], set[str], set[str]]:
    """The nodes computing only from initializers and constants; all such values; those reading a weight."""
    static = {init.name for init in graph.initializer}
    weighted = {name for name in static if name.startswith(STATE_PREFIX)}
    nodes = []
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type == "Constant" or (inputs and all(name in static for name in inputs)):
            nodes.append(node)
            static.update(node.output)
            if any(name in weighted for name in inputs):
                weighted.update(node.output)
    return nodes, static, weighted


def _evaluate(
    model: onnx.ModelProto, nodes: list[onnx.NodeProto], names: Iterable[str]
) -> dict[str, np.ndarray]:
    """Run the weight-only nodes with ONNX Runtime and return the named values."""
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.output)}
    wanted = [name for name in names if name in types]
    graph = onnx.helper.make_graph(
        nodes, "weights", [], [types[name] for name in wanted], initializer=model.graph.initializer
    )
    probe = onnx.helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3  # unused initializers are expected here
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip(wanted, session.run(wanted, {}), strict=True))


def _match(
    folded: dict[str, np.ndarray],
    candidates: dict[str, np.ndarray],
    weighted: set[str],
    reads_of: Callable[[str], frozenset[str]],
) -> dict[str, str | None]:
    """For each folded initializer, the unfolded value with the same numbers (None: a weight-free constant).

    Values computed from different weights with the same numbers would make the map ambiguous: refused (the
    model is traced with every weight randomised, see `_randomise`, so this only guards against a regression)."""
    by_shape: dict[tuple[Any, ...], list[str]] = {}
    for name, value in candidates.items():
        by_shape.setdefault((value.shape, value.dtype.str), []).append(name)
    found: dict[str, str | None] = {}
    for name, value in folded.items():
        if value.dtype.kind != "f":  # shapes and axes (checked in make_template: every weight is a float)
            found[name] = None
            continue
        same = by_shape.get((value.shape, value.dtype.str), [])
        exact = [c for c in same if np.array_equal(candidates[c], value)]
        close = exact or [c for c in same if np.allclose(candidates[c], value, rtol=0, atol=MATCH_TOLERANCE)]
        using_weights = [c for c in close if c in weighted]
        if len({reads_of(c) for c in using_weights}) > 1:
            raise ModelError(f"initializer {name} {list(value.shape)} matches values of different weights")
        if using_weights:
            found[name] = using_weights[0]
        elif close:
            found[name] = None  # depends on no weight: rotary tables, position encodings
        else:
            raise ModelError(
                f"cannot derive initializer {name} {list(value.shape)} from the unfolded graph: "
                "the exporter computes it in a way this derivation does not see"
            )
    return found


def _value_info(name: str, like: np.ndarray) -> onnx.ValueInfoProto:
    return onnx.helper.make_tensor_value_info(
        name, onnx.helper.np_dtype_to_tensor_dtype(like.dtype), like.shape
    )


def _slice(producer: dict[str, onnx.NodeProto], value: str) -> tuple[list[onnx.NodeProto], set[str]]:
    """The nodes computing `value` and the initializers they read."""
    nodes: dict[int, onnx.NodeProto] = {}
    leaves: set[str] = set()
    stack, seen = [value], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = producer.get(name)
        if node is None:
            leaves.add(name)
            continue
        nodes[id(node)] = node
        stack.extend(i for i in node.input if i)
    return list(nodes.values()), leaves


def _preparation_graph(
    unfolded: onnx.ModelProto,
    nodes: list[onnx.NodeProto],
    outputs: dict[str, str],
    state: dict[str, np.ndarray],
    folded: dict[str, np.ndarray],
) -> tuple[onnx.ModelProto, dict[str, list[str]]]:
    """The weight-only nodes computing `outputs` (template name -> unfolded value) with the weights as inputs,
    and the state-dict tensors each output is computed from."""
    producer = {out: node for node in nodes for out in node.output}
    needed: dict[int, onnx.NodeProto] = {}
    reads: dict[str, list[str]] = {}
    leaves: set[str] = set()
    for name, value in outputs.items():
        part, read = _slice(producer, value)
        needed.update((id(node), node) for node in part)
        leaves |= read
        reads[name] = sorted(r.removeprefix(STATE_PREFIX) for r in read if r.startswith(STATE_PREFIX))
    order = {id(node): index for index, node in enumerate(nodes)}
    ordered = sorted(needed.values(), key=lambda node: order[id(node)])
    weights = sorted(name for name in leaves if name.startswith(STATE_PREFIX))
    constants = [
        init for init in unfolded.graph.initializer if init.name in leaves and init.name not in weights
    ]
    inputs = [_value_info(name, state[name]) for name in weights]
    renames = [onnx.helper.make_node("Identity", [value], [name]) for name, value in outputs.items()]
    outs = [_value_info(name, folded[name]) for name in outputs]
    graph = onnx.helper.make_graph(ordered + renames, "prepare_weights", inputs, outs, initializer=constants)
    model = onnx.helper.make_model(graph, opset_imports=unfolded.opset_import, ir_version=unfolded.ir_version)
    return model, reads


def _template_graph(
    graphs: _Graphs, name: str, state: dict[str, np.ndarray], work: Path
) -> tuple[onnx.ModelProto, onnx.ModelProto, dict[str, Any]]:
    """One graph's template (data of weight-derived initializers left out), preparation graph and weight map."""
    _export_graph(graphs, name, work / "folded.onnx", fold=True)
    _export_graph(graphs, name, work / "unfolded.onnx", fold=False)
    folded, unfolded = onnx.load(work / "folded.onnx"), onnx.load(work / "unfolded.onnx")
    nodes, _, weighted = _static_values(unfolded.graph)
    values = {init.name: numpy_helper.to_array(init) for init in folded.graph.initializer}
    direct = {n for n in values if n.startswith(STATE_PREFIX) and n in state}
    others = {n: v for n, v in values.items() if n not in direct}
    computed = [node_out for node in nodes for node_out in node.output]
    candidates = _evaluate(unfolded, nodes, computed) if others else {}
    candidates.update(
        {i.name: numpy_helper.to_array(i) for i in unfolded.graph.initializer if i.name not in direct}
    )
    producer = {out: node for node in nodes for out in node.output}

    def reads_of(value: str) -> frozenset[str]:
        return frozenset(r for r in _slice(producer, value)[1] if r.startswith(STATE_PREFIX))

    matches = _match(others, candidates, weighted, reads_of)
    prepared = {n: source for n, source in matches.items() if source is not None}
    prep, reads = _preparation_graph(unfolded, nodes, prepared, state, others)
    weight_map: dict[str, Any] = {n: {"state": n.removeprefix(STATE_PREFIX)} for n in sorted(direct)}
    weight_map.update({n: {"computed_from": reads[n]} for n in sorted(prepared)})
    for init in folded.graph.initializer:
        if init.name in weight_map:
            init.ClearField("raw_data")
    return folded, prep, weight_map


def randomise(model: Any, seed: int) -> Any:
    """Add noise to every floating state-dict tensor of `model` (in place) and return it.

    Meta's initialisation leaves many weights equal (LayerNorm weights 1 and biases 0, zero-initialised
    embeddings): traced from such a model, the derivation could not tell them apart, and tests on such weights
    could not show a bias mapped to another bias of the same shape.
    """
    torch = _require_torch()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.02 * torch.randn(tensor.shape, generator=generator))
    return model


def _move_constants(model: onnx.ModelProto, store: Path) -> dict[str, dict[str, str]]:
    """Move large weight-free tensors (rotary tables, position encodings; the exporter repeats some in many
    Constant nodes) to `store`, one file per distinct content shared by all templates; returns where they went."""
    store.mkdir(parents=True, exist_ok=True)

    def move(tensor: onnx.TensorProto) -> str:
        digest = hashlib.sha256(tensor.raw_data).hexdigest()
        path = store / f"{digest}.bin"
        if not path.is_file():
            path.write_bytes(tensor.raw_data)
        tensor.ClearField("raw_data")
        return digest

    nodes = {
        node.output[0]: move(attr.t)
        for node in model.graph.node
        if node.op_type == "Constant"
        for attr in node.attribute
        if attr.name == "value" and len(attr.t.raw_data) > LARGE_CONSTANT_BYTES
    }
    initializers = {
        init.name: move(init) for init in model.graph.initializer if len(init.raw_data) > LARGE_CONSTANT_BYTES
    }
    return {"constant_nodes": nodes, "constant_initializers": initializers}


def make_template(variant: str, root: Path | None = None, seed: int = 0) -> Path:
    """Write `variant`'s template folder (graphs, preparation graphs, template.json) and check it rebuilds.

    An EdgeTAM variant is traced by a child Python whose `sam2` is EdgeTAM's fork (`edgetam_env`)."""
    spec = VARIANTS.get(variant)
    if spec is None:
        raise ModelError(f"unknown SAM2 variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    out = template_dir(variant, root)
    if spec.family == EDGETAM and not edgetam_env.fork_loaded():
        args = ["--variant", variant, "--seed", str(seed), *(["--root", str(root)] if root else [])]
        edgetam_env.run_in_fork("roto.engine.template_export", args)
        return out
    torch = _require_torch()
    out.mkdir(parents=True, exist_ok=True)
    model = randomise(build_model(variant, None, seed=seed), seed)
    graphs = graphs_for(variant, model)
    family = family_manifest(graphs)
    code = family.pop("code")
    tensors = {STATE_PREFIX + k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    # Integer tensors (BatchNorm's batch counters) are checked in a checkpoint but no graph may read them: the
    # derivation matches initializers by their numbers, which integers would not tell apart.
    state = {k: v for k, v in tensors.items() if v.dtype.kind == "f"}
    entries: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="roto-template-") as tmp:
        work = Path(tmp)
        for name in GRAPH_NAMES:
            log.info("template for %s %s", variant, name)
            folded, prep, weight_map = _template_graph(graphs, name, state, work)
            read = {i.name for i in folded.graph.initializer} & (tensors.keys() - state.keys())
            if read:
                raise ModelError(
                    f"{variant} {name}: reads integer weights {sorted(read)}; cannot template it"
                )
            entries[name] = {
                "file": f"{name}.onnx",
                "prepare": f"{name}.prepare.onnx",
                "weights": weight_map,
                **_move_constants(folded, out.parent / CONSTANTS_DIR),
                **_io_signature(work / "folded.onnx"),
            }
            onnx.helper.set_model_props(folded, {FAMILY_KEY: spec.family})  # as export_bundle stamps it
            onnx.save(folded, out / f"{name}.onnx")
            onnx.save(prep, out / f"{name}.prepare.onnx")
            _check_rebuild(out, name, entries[name], state, work / "folded.onnx")
    meta = {
        "format": TEMPLATE_FORMAT,
        "format_version": TEMPLATE_FORMAT_VERSION,
        "variant": variant,
        "family": spec.family,
        **family,
        "opset": OPSET,
        "settings": _model_settings(model),
        "checkpoint": {
            k.removeprefix(STATE_PREFIX): {
                "shape": list(v.shape),
                "dtype": str(v.dtype),
                # BatchNorm's batch counter: unused in inference, and PyTorch itself loads a state dict without
                # one (saved before BatchNorm's version 2, or without its metadata), so a checkpoint may omit it
                **({"optional": True} if k not in state else {}),
            }
            for k, v in tensors.items()
        },
        "graphs": entries,
        "made_by": {"torch": str(torch.__version__), "sam2_package": code},
    }
    (out / TEMPLATE_NAME).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


def _check_rebuild(
    folder: Path, name: str, entry: dict[str, Any], state: dict[str, np.ndarray], reference: Path
) -> None:
    """The template filled with the very weights it was traced from must give the traced graph."""
    built = GraphTemplate(folder, name, entry).build(
        {k.removeprefix(STATE_PREFIX): v for k, v in state.items()}
    )
    want = {i.name: numpy_helper.to_array(i) for i in onnx.load(reference).graph.initializer}
    got = {i.name: numpy_helper.to_array(i) for i in built.graph.initializer}
    if want.keys() != got.keys():
        raise ModelError(f"template {name}: initializers differ from the exported graph")
    for key, value in want.items():
        if not np.allclose(got[key], value, rtol=0, atol=MATCH_TOLERANCE):
            raise ModelError(f"template {name}: {key} rebuilt differs from the exported graph")


def main(argv: list[str] | None = None) -> int:
    """The child-process entry `make_template` starts for EdgeTAM variants."""
    parser = argparse.ArgumentParser(prog="python -m roto.engine.template_export")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        print(make_template(args.variant, args.root, args.seed))
    except ModelError as exc:
        print(edgetam_env.child_error(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
