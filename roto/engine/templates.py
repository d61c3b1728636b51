"""Graph templates: a bundle built from one of Meta's checkpoints with numpy, onnx and ONNX Runtime, no PyTorch.

A variant's template (`graph_templates/<variant>/`, made by `roto models templates`, see `template_export.py`)
holds each bundle graph as the converter exports it but with the weight-derived initializers' data left out, a
small weight-preparation graph per bundle graph that recomputes those initializers from state-dict tensors
exactly as the exporter folds them (split qkv, folded value projections, transposed Linear weights, ...), and
`template.json`: every tensor the variant's checkpoint must hold with its shape and dtype, the weight map and the
manifest's settings and graph signatures. Installing checks the checkpoint strictly against it, runs the
preparation graphs and writes the filled graphs: the bundle the converter would write, without torch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from roto.engine.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    MANIFEST_NAME,
    SAM2,
    sha256_file,
    write_manifest,
)
from roto.engine.checkpoint import read_state_dict
from roto.errors import ModelError

TEMPLATE_FORMAT = "roto-sam2-template"
TEMPLATE_FORMAT_VERSION = 1
TEMPLATE_NAME = "template.json"
# The converter registers Meta's model as `sam2` on each graph module, so state-dict tensors are named so.
STATE_PREFIX = "sam2."
CONSTANTS_DIR = "constants"  # weight-free tensors of all templates, one file per distinct content


def templates_root() -> Path:
    """The templates shipped with the package (in a frozen app, under the same relative path)."""
    return Path(__file__).resolve().parent / "graph_templates"


def template_dir(variant: str, root: Path | None = None) -> Path:
    return (root or templates_root()) / variant


@dataclass(frozen=True)
class GraphTemplate:
    """One bundle graph without its weights, and how to compute them from a state dict."""

    folder: Path
    name: str
    entry: dict[str, Any]

    def build(self, state: Mapping[str, np.ndarray]) -> onnx.ModelProto:
        """The graph with every initializer filled from `state` (names without the `sam2.` prefix)."""
        model = onnx.load(self.folder / self.entry["file"])
        self._fill_constants(model)
        prepared: dict[str, np.ndarray] = {}
        prepare = onnx.load(self.folder / self.entry["prepare"])
        if prepare.graph.output:
            feeds = {
                i.name: np.asarray(state[i.name.removeprefix(STATE_PREFIX)]) for i in prepare.graph.input
            }
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            session = ort.InferenceSession(
                prepare.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            names = [o.name for o in prepare.graph.output]
            prepared = dict(zip(names, session.run(names, feeds), strict=True))
        weights = self.entry["weights"]
        for init in model.graph.initializer:
            recipe = weights.get(init.name)
            if recipe is None:
                continue  # depends on no weight: kept in the template
            value = state[recipe["state"]] if "state" in recipe else prepared[init.name]
            dtype = onnx.helper.tensor_dtype_to_np_dtype(init.data_type)
            if value.dtype != dtype or list(value.shape) != list(init.dims):
                raise ModelError(
                    f"template {self.name}: {init.name} computes as {value.dtype}{list(value.shape)}, "
                    f"the graph wants {dtype}{list(init.dims)}"
                )
            init.raw_data = np.ascontiguousarray(value).tobytes()
        return model

    def _fill_constants(self, model: onnx.ModelProto) -> None:
        store = self.folder.parent / CONSTANTS_DIR
        nodes, initializers = self.entry["constant_nodes"], self.entry["constant_initializers"]
        tensors = [
            (attr.t, nodes[node.output[0]])
            for node in model.graph.node
            if node.op_type == "Constant" and node.output[0] in nodes
            for attr in node.attribute
            if attr.name == "value"
        ]
        tensors += [
            (init, initializers[init.name]) for init in model.graph.initializer if init.name in initializers
        ]
        cache: dict[str, bytes] = {}
        for tensor, digest in tensors:
            if digest not in cache:
                cache[digest] = (store / f"{digest}.bin").read_bytes()
            tensor.raw_data = cache[digest]


@dataclass(frozen=True)
class Template:
    """A variant's template folder, its `template.json` read."""

    folder: Path
    meta: dict[str, Any]

    @property
    def variant(self) -> str:
        return str(self.meta["variant"])

    @property
    def family(self) -> str:
        return str(self.meta.get("family", SAM2))  # templates made before EdgeTAM are SAM2.1's

    @property
    def checkpoint_kind(self) -> str:
        return f"a SAM2.1 {self.variant}" if self.family == SAM2 else f"an EdgeTAM ({self.variant})"

    def graphs(self) -> dict[str, GraphTemplate]:
        return {name: GraphTemplate(self.folder, name, entry) for name, entry in self.meta["graphs"].items()}

    def check_state(self, state: Mapping[str, np.ndarray], source: Path) -> None:
        """Refuse a checkpoint that is not exactly this variant's: every tensor present (BatchNorm's batch counters
        may be left out, as PyTorch allows), its shape and dtype, nothing more. The message names the file and the
        first few differences."""
        expected: dict[str, dict[str, Any]] = self.meta["checkpoint"]
        missing = [k for k, want in expected.items() if k not in state and not want.get("optional")]
        extra = [k for k in state if k not in expected]
        wrong = [
            f"{k} is {state[k].dtype}{list(state[k].shape)}, expected {want['dtype']}{want['shape']}"
            for k, want in expected.items()
            if k in state and (list(state[k].shape) != want["shape"] or str(state[k].dtype) != want["dtype"])
        ]
        problems = []
        for label, items in (
            ("missing", missing),
            ("unexpected", extra),
            ("of another shape or type", wrong),
        ):
            if items:
                shown = "; ".join(items[:3]) + ("; ..." if len(items) > 3 else "")
                problems.append(f"{len(items)} tensors {label} ({shown})")
        if problems:
            raise ModelError(
                f"{source}: not {self.checkpoint_kind} checkpoint (another variant or model): "
                + ", ".join(problems)
            )


def load_template(variant: str, root: Path | None = None) -> Template:
    folder = template_dir(variant, root)
    path = folder / TEMPLATE_NAME
    if not path.is_file():
        raise ModelError(f"{path}: no graph template for {variant} in this build of Roto")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: damaged graph template: {exc}") from exc
    if meta.get("format") != TEMPLATE_FORMAT or meta.get("format_version") != TEMPLATE_FORMAT_VERSION:
        raise ModelError(f"{path}: not a graph template this Roto reads (format {meta.get('format')!r})")
    return Template(folder, meta)


def has_template(variant: str) -> bool:
    return (template_dir(variant) / TEMPLATE_NAME).is_file()


def build_bundle(
    template: Template,
    state: Mapping[str, np.ndarray],
    out_dir: Path,
    name: str,
    source: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a bundle folder from a template and a checked state dict; returns the folder."""
    files: dict[str, dict[str, Any]] = {}
    graphs: dict[str, dict[str, Any]] = {}
    for graph, part in template.graphs().items():
        if progress:
            progress(graph)
        path = out_dir / part.entry["file"]
        model = part.build(state)
        onnx.save(model, path)
        del model
        files[path.name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
        graphs[graph] = {k: part.entry[k] for k in ("file", "inputs", "outputs")}
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "variant": template.variant,
        "family": template.family,
        "sam2_version": "2.1",
        "precision": "fp32",
        "opset": template.meta["opset"],
        "random_weights": False,
        "settings": template.meta["settings"],
        "graphs": graphs,
        "files": files,
        "source": {**source, "built_from": "graph template", "template_made_by": template.meta["made_by"]},
    }
    if "perceiver" in template.meta:
        manifest["perceiver"] = template.meta["perceiver"]
    write_manifest(out_dir / MANIFEST_NAME, manifest)
    return out_dir


def bundle_from_checkpoint(
    checkpoint: Path,
    variant: str,
    out_dir: Path,
    name: str,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Read one of Meta's checkpoints without torch, check it strictly against the variant, write the bundle."""
    template = load_template(variant)
    if progress:
        progress("reading checkpoint")
    state = read_state_dict(checkpoint)
    template.check_state(state, checkpoint)
    source = {"checkpoint": checkpoint.name, "checkpoint_sha256": sha256_file(checkpoint), "seed": None}
    return build_bundle(template, state, out_dir, name, source, progress)
