"""ONNX Runtime sessions: which execution provider runs the graphs, how many threads, and the CPU fallback.

onnxruntime and onnxruntime-gpu ship the same `onnxruntime` module, so which one is installed decides whether
CUDA is offered at all. A CUDA provider that is offered but cannot start (driver, cuDNN, out of memory) must not
stop an animator: the session is rebuilt on the CPU and the reason is logged and kept for the status bar.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roto.errors import ModelError

log = logging.getLogger(__name__)

PROVIDER_CHOICES = ("auto", "cuda", "cpu")
PRECISION_CHOICES = ("auto", "fp32", "fp16")
_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(
            "ONNX Runtime is not installed: pip install 'roto[cpu]' (or 'roto[gpu]' for NVIDIA GPUs)"
        ) from exc
    return onnxruntime


def available_providers() -> list[str]:
    return list(_ort().get_available_providers())


@dataclass
class RuntimeOptions:
    """How sessions are built; `provider` is auto (CUDA when it works), cuda or cpu. ROTO_PROVIDER overrides.

    `precision` picks the bundle's variant: auto (the fp16 sibling on a GPU when it is installed, else the bundle
    as given), fp32 (as given) or fp16 (the sibling, converted on first use). ROTO_PRECISION overrides.
    """

    provider: str = "auto"
    threads: int = 0  # 0: ONNX Runtime's default (all physical cores)
    precision: str = "auto"

    def resolved_provider(self) -> str:
        choice = os.environ.get("ROTO_PROVIDER", self.provider).lower()
        if choice not in PROVIDER_CHOICES:
            raise ModelError(f"unknown provider {choice!r}: choose one of {', '.join(PROVIDER_CHOICES)}")
        return choice

    def resolved_precision(self) -> str:
        choice = os.environ.get("ROTO_PRECISION", self.precision).lower()
        if choice not in PRECISION_CHOICES:
            raise ModelError(f"unknown precision {choice!r}: choose one of {', '.join(PRECISION_CHOICES)}")
        return choice

    def gpu_offered(self) -> bool:
        """Whether sessions will be built for a GPU provider (it may still fail to start and fall back)."""
        return _providers_for(self.resolved_provider())[0] != _CPU


@dataclass
class SessionReport:
    """What actually runs, for logs, `roto doctor` and the status bar."""

    provider: str
    requested: str
    fallback_reason: str | None = None
    threads: int = 0
    precision: str = "fp32"  # of the bundle the sessions run (see RuntimeOptions.precision)
    graphs: list[str] = field(default_factory=list)


def _session_options(threads: int, memory_arena: bool = True) -> Any:
    ort = _ort()
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = memory_arena
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def _providers_for(choice: str) -> list[str]:
    available = available_providers()
    if choice == "cpu":
        return [_CPU]
    if _CUDA in available:
        return [_CUDA, _CPU]
    if choice == "cuda":
        raise ModelError(
            "CUDA was requested but this ONNX Runtime has no CUDA provider: install onnxruntime-gpu "
            "instead of onnxruntime (see README, 'GPU')"
        )
    return [_CPU]


def create_session(
    path: Path, options: RuntimeOptions, report: SessionReport | None = None, memory_arena: bool = True
) -> Any:
    """An InferenceSession for one graph; falls back from CUDA to CPU with a warning if CUDA fails to start.

    `memory_arena=False` for graphs with big activations (the encoder, the memory graphs): ORT's CPU arena keeps
    their peak allocation for the whole session, which measured 2.3 GiB instead of 1.4 GiB peak RSS when
    propagating with SAM2.1-tiny at 1080p; the speed difference was within this machine's run-to-run noise.
    """
    ort = _ort()
    choice = options.resolved_provider()
    providers = _providers_for(choice)
    session_options = _session_options(options.threads, memory_arena)
    fallback: str | None = None
    try:
        session = ort.InferenceSession(str(path), sess_options=session_options, providers=providers)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/RuntimeException types
        if providers[0] != _CUDA:
            raise ModelError(f"{path}: ONNX Runtime cannot load this graph: {exc}") from exc
        fallback = f"CUDA failed to start ({exc}); running on CPU"
        session = _cpu_session(path, session_options)
    if providers[0] == _CUDA and _CUDA not in session.get_providers() and fallback is None:
        fallback = "CUDA provider is installed but did not initialise (driver or CUDA/cuDNN libraries); running on CPU"
    if fallback:
        log.warning("%s: %s", path.name, fallback)
    active = session.get_providers()[0]
    log.info("%s runs on %s", path.name, active)
    if report is not None:
        report.provider = active
        report.requested = choice
        report.threads = options.threads
        report.fallback_reason = report.fallback_reason or fallback
        report.graphs.append(path.name)
    return session


def create_session_from_model(model: bytes, threads: int) -> Any:
    """A CPU session for a small graph Roto builds itself (pre-processing); `threads` as in RuntimeOptions."""
    return _ort().InferenceSession(model, sess_options=_session_options(threads), providers=[_CPU])


def _cpu_session(path: Path, session_options: Any) -> Any:
    ort = _ort()
    try:
        return ort.InferenceSession(str(path), sess_options=session_options, providers=[_CPU])
    except Exception as exc:
        raise ModelError(f"{path}: ONNX Runtime cannot load this graph: {exc}") from exc


def cuda_self_test() -> tuple[bool, str]:
    """Whether CUDA really initialises here: build a one-node session on it and run it (for `roto doctor`)."""
    if _CUDA not in available_providers():
        return False, "no CUDA provider in this ONNX Runtime (onnxruntime, not onnxruntime-gpu, is installed)"
    import numpy as np
    from onnx import TensorProto, helper

    node = helper.make_node("Add", ["x", "x"], ["y"])
    graph = helper.make_graph(
        [node],
        "cuda_probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    ort = _ort()
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=[_CUDA])
        if session.get_providers()[0] != _CUDA:
            return (
                False,
                "CUDA provider present but did not initialise (check the driver and CUDA/cuDNN libraries)",
            )
        out = session.run(None, {"x": np.ones(4, np.float32)})[0]
        return bool(np.allclose(out, 2.0)), "CUDA initialised and ran a test graph"
    except Exception as exc:
        return False, f"CUDA failed: {exc}"
