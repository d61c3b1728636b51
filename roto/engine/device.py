"""Graph runs through ONNX Runtime IO binding, so tensors stay in the session's device memory between graphs.

On a GPU, the outputs that only feed other graphs (the pre-processed image, the image embedding and high-res
features, each memory of the bank, the memory-conditioned features) stay in GPU memory as OrtValues, and only what
the numpy side reads comes back to the host: low-res mask logits, scores, object pointers. On the CPU the same
binding code runs and every output comes back as numpy (the host is the device: there is nothing to save), unless
`keep_on_device` asks for OrtValues there too, which is how the tests drive the GPU's code path on a CPU.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

_GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")

Tensor = Any  # a numpy array, or an onnxruntime.OrtValue in the session's device memory


def on_host(value: Tensor) -> bool:
    return isinstance(value, np.ndarray)


def to_host(value: Tensor) -> np.ndarray:
    """A numpy array of `value`, copied from the device when it lives there."""
    return value if isinstance(value, np.ndarray) else value.numpy()


def tensor_nbytes(value: Tensor) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    itemsize = {"tensor(float)": 4, "tensor(float16)": 2, "tensor(int64)": 8}.get(value.data_type(), 4)
    return int(np.prod(value.shape())) * itemsize


class BoundGraph:
    """One session run with IO binding; `run(feeds, keep)` keeps the outputs named in `keep` on the device."""

    def __init__(self, session: Any, keep_on_device: bool | None = None) -> None:
        self.session = session
        provider = session.get_providers()[0]
        self.device = "cuda" if provider in _GPU_PROVIDERS else "cpu"
        options = session.get_provider_options().get(provider, {})
        self.device_id = int(options.get("device_id", 0) or 0)
        self.keep_on_device = self.device != "cpu" if keep_on_device is None else keep_on_device
        self.output_names = [output.name for output in session.get_outputs()]

    def run(self, feeds: dict[str, Tensor], keep: Collection[str] = ()) -> list[Tensor]:
        """Outputs in the graph's order: those in `keep` as device OrtValues (when keeping), the rest as numpy."""
        binding = self.session.io_binding()
        for name, value in feeds.items():
            if isinstance(value, np.ndarray):
                binding.bind_cpu_input(name, np.ascontiguousarray(value))
            elif value.device_name().lower() != self.device:
                # Made by another session on another device (an embedding cached before the provider changed):
                # through the host, which both devices can read.
                binding.bind_cpu_input(name, np.ascontiguousarray(value.numpy()))
            else:
                binding.bind_ortvalue_input(name, value)
        kept = {name for name in keep if self.keep_on_device}
        for name in self.output_names:
            if name in kept:
                binding.bind_output(name, self.device, self.device_id)
            else:
                binding.bind_output(name, "cpu")
        self.session.run_with_iobinding(binding)
        values = binding.get_outputs()
        return [v if n in kept else v.numpy() for n, v in zip(self.output_names, values, strict=True)]


def _small_graph(graph: Any, device: str, keep_on_device: bool) -> BoundGraph:
    from onnx import helper

    from roto.engine.session import create_session_from_model

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    session = create_session_from_model(model.SerializeToString(), 1, gpu=device != "cpu")
    return BoundGraph(session, keep_on_device)


@lru_cache(maxsize=4)
def _bf16_session(device: str, keep_on_device: bool) -> BoundGraph:
    """float32 -> bfloat16 (round to nearest even) -> float32, the rounding SAM2's bfloat16 memories get."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["x"], ["half"], to=TensorProto.BFLOAT16),
            helper.make_node("Cast", ["half"], ["y"], to=TensorProto.FLOAT),
        ],
        "bf16_round",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return _small_graph(graph, device, keep_on_device)


@lru_cache(maxsize=64)
def _concat_session(count: int, device: str, keep_on_device: bool) -> BoundGraph:
    from onnx import TensorProto, helper

    names = [f"x{i}" for i in range(count)]
    graph = helper.make_graph(
        [helper.make_node("Concat", names, ["y"], axis=0)],
        "stack",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return _small_graph(graph, device, keep_on_device)


def bf16_round_on(graph: BoundGraph, value: Tensor) -> Tensor:
    """`value` rounded to bfloat16 precision (nearest even) on `graph`'s device, kept there as `graph` keeps."""
    (rounded,) = _bf16_session(graph.device, graph.keep_on_device).run({"x": value}, keep=("y",))
    return rounded


def concat_on(graph: BoundGraph, values: Sequence[Tensor]) -> Tensor:
    """`values` (any mix of host and device) joined along their first axis on `graph`'s device, kept as
    `graph` keeps: the memory bank's window and its spilled tail meet here without a trip through the host."""
    feeds = {f"x{i}": value for i, value in enumerate(values)}
    (joined,) = _concat_session(len(values), graph.device, graph.keep_on_device).run(feeds, keep=("y",))
    return joined
