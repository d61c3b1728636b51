"""The prompt decoder cut in three, for segment everything: the frame's share once, each point's IoU, masks on demand.

Meta's generator drops every candidate whose predicted IoU is not above `pred_iou_thresh` before it looks at the
masks, and it decodes one include point at a time over a frame whose embedding does not change. The bundle's own
`prompt_decoder` graph is cut, at first use, along those lines:

* the graph is fixed to one point per prompt and optimised by ONNX Runtime's provider-independent (basic) level,
  which folds every shape computation into constants;
* the *frame* part is every node that does not depend on the prompt (the image embedding with SAM2's "no memory"
  embedding, flattened and transposed, plus the dense positional encoding: the image tokens and keys of the two-way
  transformer's first layer; the dense embedding of "no mask"); it runs once per frame or crop;
* the *head* is every other node `iou_predictions` depends on, plus the tensors the mask nodes still need from it;
* the *tail* is the nodes only `masks` needs (the mask upscaling to the 256 x 256 grid and the hypernetwork product).

The cut is found from the graph's structure, not node names; a graph that cannot be cut (outputs named otherwise)
gives None and the caller runs the whole graph. The parts are the whole graph's own nodes, so their outputs equal
its outputs (to ~1e-6: ONNX Runtime fuses a few nodes differently across the cuts; tested).

On the CPU, ONNX Runtime's threads inside one decoder run share little work (the tensors are small), so the parts
run single-threaded and `map_runs` spreads the points of a batch over `workers` threads, one run per thread at a
time (a session's `run` is thread-safe and releases the GIL). On a GPU one run at a time uses it already.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from roto.engine.device import to_host
from roto.engine.session import create_session_like

log = logging.getLogger(__name__)

IOU, MASKS = "iou_predictions", "masks"
PROMPT_INPUTS = ("point_coords", "point_labels")  # (1, points, 2) and (1, points): fixed to one point here
# ONNX Runtime 1.32's CPU SkipLayerNormalization (which the fixed shapes let it fuse from Add + LayerNormalization
# over the 4096 image tokens) measured ~10x slower than the two nodes it replaces: leave that fusion out.
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)

Frame = dict[str, np.ndarray]  # the frame part's outputs, by name
T = TypeVar("T")
R = TypeVar("R")


def _ancestors(graph: Any, output: str) -> set[int]:
    """Indices of the nodes `output` depends on."""
    producer = {name: index for index, node in enumerate(graph.node) for name in node.output if name}
    seen: set[int] = set()
    stack = [output]
    while stack:
        index = producer.get(stack.pop())
        if index is not None and index not in seen:
            seen.add(index)
            stack.extend(name for name in graph.node[index].input if name)
    return seen


def _one_point_fits(graph: Any) -> bool:
    """Whether both prompt inputs exist with the number of points as their second dimension, free or 1."""
    dims = {
        value.name: value.type.tensor_type.shape.dim for value in graph.input if value.name in PROMPT_INPUTS
    }
    return len(dims) == len(PROMPT_INPUTS) and all(
        len(dim) >= 2 and (dim[1].WhichOneof("value") != "dim_value" or dim[1].dim_value == 1)
        for dim in dims.values()
    )


def _one_point_optimised(path: Path) -> Any:
    """The decoder graph with one point per prompt, shapes folded by ONNX Runtime's basic optimisations."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    for value in model.graph.input:
        if value.name in PROMPT_INPUTS:
            value.type.tensor_type.shape.dim[1].dim_value = 1  # replaces the symbolic number of points
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="roto-decoder-") as folder:
        options.optimized_model_filepath = str(Path(folder) / "decoder.onnx")
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return onnx.shape_inference.infer_shapes(onnx.load(options.optimized_model_filepath))


def _inputs_of(nodes: list[Any], weights: set[str]) -> list[str]:
    """The tensors these nodes read that none of them makes (weights excluded), in first-use order."""
    made = {name for node in nodes for name in node.output}
    needed: dict[str, None] = {}
    for node in nodes:
        needed.update((name, None) for name in node.input if name and name not in made | weights)
    return list(needed)


@dataclass
class SplitDecoder:
    """`frame` computes the prompt-independent tensors, `head` the IoU and `carried`, `tail` the masks."""

    frame: Any | None  # None when no node is prompt-independent
    head: Any
    tail: Any
    frame_inputs: tuple[str, ...]  # decoder inputs
    head_inputs: tuple[str, ...]  # decoder inputs and frame outputs
    carried: tuple[str, ...]  # the tail's inputs made by the head
    tail_inputs: tuple[str, ...]  # the tail's other inputs: decoder inputs and frame outputs
    workers: int = 1  # runs at a time in `map_runs`

    @classmethod
    def open(cls, path: Path, like: Any, threads: int) -> SplitDecoder | None:
        """Cut the decoder graph at `path`; sessions on the provider of session `like`. None if it cannot be cut.

        On the CPU each session runs on one thread and `workers` is `threads` (0: every core); elsewhere the
        sessions get `threads` and one run goes at a time.
        """
        import onnx
        from onnx.utils import Extractor

        header = onnx.load(str(path), load_external_data=False).graph
        if not {IOU, MASKS} <= {output.name for output in header.output}:
            log.info("%s: no %s and %s outputs: not cut", path.name, IOU, MASKS)
            return None
        if not _one_point_fits(header):
            log.info(
                "%s: %s do not take one point per prompt: not cut", path.name, " and ".join(PROMPT_INPUTS)
            )
            return None
        model = _one_point_optimised(path)
        graph = model.graph
        prompt_made: set[str] = set(PROMPT_INPUTS)  # tensors that depend on the prompt
        for node in graph.node:  # topological order
            if any(name in prompt_made for name in node.input):
                prompt_made.update(node.output)
        by_prompt = {i for i, node in enumerate(graph.node) if node.output[0] in prompt_made}
        head_ids = _ancestors(graph, IOU) & by_prompt
        head_nodes = [graph.node[i] for i in sorted(head_ids)]
        tail_nodes = [graph.node[i] for i in sorted((_ancestors(graph, MASKS) & by_prompt) - head_ids)]
        weights = {tensor.name for tensor in graph.initializer}
        graph_inputs = [value.name for value in graph.input]
        head_needs, tail_needs = _inputs_of(head_nodes, weights), _inputs_of(tail_nodes, weights)
        head_made = {name for node in head_nodes for name in node.output}
        carried = tuple(name for name in tail_needs if name in head_made)
        from_frame = [
            n for n in dict.fromkeys(head_needs + tail_needs) if n not in head_made and n not in graph_inputs
        ]
        extractor = Extractor(model)
        if any(name not in extractor.value_infos for name in (*carried, *from_frame)):
            log.info("%s: a tensor crossing a cut has no type: not cut", path.name)
            return None
        cpu = like.get_providers()[0] == "CPUExecutionProvider"
        workers = (threads or os.cpu_count() or 1) if cpu else 1
        session_threads = 1 if cpu else threads

        def session(inputs: list[str], outputs: list[str]) -> Any:
            part = extractor.extract_model(inputs, outputs).SerializeToString()
            return create_session_like(part, like, session_threads, DISABLED_OPTIMIZERS)

        frame: Any | None = None
        frame_inputs: tuple[str, ...] = ()
        if from_frame:
            frame_ids = set().union(*(_ancestors(graph, name) for name in from_frame))
            frame_nodes = [graph.node[i] for i in sorted(frame_ids)]
            frame_inputs = tuple(n for n in _inputs_of(frame_nodes, weights) if n in graph_inputs)
            frame = session(list(frame_inputs), from_frame)
        return cls(
            frame,
            session(head_needs, [IOU, *carried]),
            session(tail_needs, [MASKS]),
            frame_inputs,
            tuple(head_needs),
            carried,
            tuple(name for name in tail_needs if name not in head_made),
            workers,
        )

    def prepare(self, feeds: dict[str, Any]) -> Frame:
        """The frame part's outputs for the decoder inputs `feeds`, once per frame: their points are not read, and
        every run given these outputs must have the same other inputs (embedding, mask input, memory flag)."""
        if self.frame is None:
            return {}
        names = [output.name for output in self.frame.get_outputs()]
        # on a GPU the embedding may be a device tensor (device.py)
        values = self.frame.run(names, {name: to_host(feeds[name]) for name in self.frame_inputs})
        return dict(zip(names, values, strict=True))

    @staticmethod
    def _pick(names: Sequence[str], feeds: dict[str, Any], frame: Frame) -> dict[str, np.ndarray]:
        return {name: frame[name] if name in frame else to_host(feeds[name]) for name in names}

    def iou(self, feeds: dict[str, Any], frame: Frame) -> tuple[np.ndarray, list[np.ndarray]]:
        """The predicted IoU (1, 4) of one one-point prompt and what `masks` needs of this run."""
        iou, *carried = self.head.run(None, self._pick(self.head_inputs, feeds, frame))
        return iou, carried

    def masks(self, feeds: dict[str, Any], frame: Frame, carried: list[np.ndarray]) -> np.ndarray:
        """The low-resolution mask logits (1, 4, h, w) of the run whose IoU gave `carried`."""
        tail_feeds = self._pick(self.tail_inputs, feeds, frame)
        tail_feeds.update(zip(self.carried, carried, strict=True))
        masks: np.ndarray = self.tail.run(None, tail_feeds)[0]
        return masks

    def map_runs(self, run: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`run` over `items`, `workers` at a time, results in the items' order."""
        if self.workers == 1 or len(items) < 2:
            return [run(item) for item in items]
        with ThreadPoolExecutor(min(self.workers, len(items))) as pool:
            return list(pool.map(run, items))
