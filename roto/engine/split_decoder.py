"""The prompt decoder cut in two, for segment everything: predicted IoU first, the masks only when one is wanted.

Meta's generator drops every candidate whose predicted IoU is not above `pred_iou_thresh` before it looks at the
masks. The IoU comes from the decoder's two-way transformer and IoU head; the mask upscaling (two transposed
convolutions up to the 256 x 256 low-resolution grid with the high-resolution features, then the hypernetwork
product) is about 40 % of a decoder run and only the masks need it. So the bundle's own `prompt_decoder` graph is
cut, at first use, into a *head* (everything `iou_predictions` depends on, plus the tensors the mask nodes still
need from it) and a *tail* (the nodes only `masks` needs). The cut is found from the graph's structure, not node
names; a graph that cannot be cut (outputs named otherwise) gives None and the caller runs the whole graph.
Head and tail are the whole graph's own nodes, so their outputs equal its outputs (to ~1e-6: ONNX Runtime fuses
a few nodes differently across the cut; tested).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roto.engine.device import to_host
from roto.engine.session import create_session_like

log = logging.getLogger(__name__)

IOU, MASKS = "iou_predictions", "masks"


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


@dataclass
class SplitDecoder:
    """`head` computes the IoU and the `carried` tensors, `tail` the masks from them (and from graph inputs)."""

    head: Any
    tail: Any
    carried: tuple[str, ...]  # the tail's inputs made by the head
    tail_inputs: tuple[str, ...]  # the tail's inputs that are the decoder's own inputs

    @classmethod
    def open(cls, path: Path, like: Any, threads: int) -> SplitDecoder | None:
        """Cut the decoder graph at `path`; sessions on the provider of session `like`. None if it cannot be cut."""
        import onnx
        from onnx.utils import Extractor

        model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
        graph = model.graph
        outputs = {output.name for output in graph.output}
        if not {IOU, MASKS} <= outputs:
            log.info("%s: no %s and %s outputs: not cut", path.name, IOU, MASKS)
            return None
        head_nodes, mask_nodes = _ancestors(graph, IOU), _ancestors(graph, MASKS)
        tail_nodes = [graph.node[i] for i in sorted(mask_nodes - head_nodes)]
        made = {name for node in tail_nodes for name in node.output}
        weights = {tensor.name for tensor in graph.initializer}
        needed = sorted({n for node in tail_nodes for n in node.input if n and n not in made | weights})
        graph_inputs = [value.name for value in graph.input]
        carried = tuple(name for name in needed if name not in graph_inputs)
        extractor = Extractor(model)
        if any(name not in extractor.value_infos for name in carried):
            log.info("%s: a tensor crossing the cut has no type: not cut", path.name)
            return None
        head = extractor.extract_model(graph_inputs, [IOU, *carried])
        tail = extractor.extract_model(needed, [MASKS])
        return cls(
            create_session_like(head.SerializeToString(), like, threads),
            create_session_like(tail.SerializeToString(), like, threads),
            carried,
            tuple(name for name in needed if name in graph_inputs),
        )

    def iou(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The predicted IoU (batch, 4) and what `masks` needs of this run."""
        feeds = {
            name: to_host(value) for name, value in feeds.items()
        }  # on a GPU: device embeddings (device.py)
        iou, *carried = self.head.run(None, feeds)
        return iou, carried

    def masks(self, feeds: dict[str, np.ndarray], carried: list[np.ndarray]) -> np.ndarray:
        """The low-resolution mask logits (batch, 4, h, w) of the run whose IoU gave `carried`."""
        tail_feeds = {name: to_host(feeds[name]) for name in self.tail_inputs}
        tail_feeds.update(zip(self.carried, carried, strict=True))
        masks: np.ndarray = self.tail.run(None, tail_feeds)[0]
        return masks
