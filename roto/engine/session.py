"""ONNX Runtime sessions: which execution provider runs the graphs, how many threads, and the fallbacks.

onnxruntime and onnxruntime-gpu ship the same `onnxruntime` module, so which one is installed decides whether
CUDA (and TensorRT) is offered at all. The chain is TensorRT (where its libraries are installed), CUDA, CPU: a
provider that is offered but cannot start (driver, cuDNN, out of memory) must not stop an animator, so the session
is rebuilt on the next one and the reason is logged and kept for `roto doctor` and the status bar.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roto.errors import ModelError

log = logging.getLogger(__name__)
_preloaded = False  # onnxruntime.preload_dlls ran in this process

PROVIDER_CHOICES = ("auto", "tensorrt", "cuda", "cpu")
PRECISION_CHOICES = ("auto", "fp32", "fp16")
_TRT = "TensorrtExecutionProvider"
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
    # Graph outputs that feed other graphs stay on the device as OrtValues (roto.engine.device); None: on a GPU
    # only. True on a CPU runs the GPU's code path there (the tests do).
    device_tensors: bool | None = None

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
        return provider_plan(self.resolved_provider()).first != _CPU


@dataclass
class SessionReport:
    """What actually runs, for logs, `roto doctor` and the status bar."""

    provider: str
    requested: str
    fallback_reason: str | None = None
    threads: int = 0
    precision: str = "fp32"  # of the bundle the sessions run (see RuntimeOptions.precision)
    passed_over: list[str] = field(
        default_factory=list
    )  # better providers not tried, and why (provider_plan)
    graphs: list[str] = field(default_factory=list)


_SPIN_ENTRY = "session.intra_op.allow_spinning"
_SHARED_ARENA_ENTRY = "session.use_env_allocators"
_WEIGHTS_OUTSIDE_ARENA_ENTRY = "session.use_device_allocator_for_initializers"
_arena_lock = threading.Lock()
_arena_registered = False


def _register_shared_cpu_arena() -> None:
    """Once per process: the one CPU arena every session allocates its activations from.

    Without an arena each run allocated its big buffers afresh and the kernel paged them in again (on this project's
    2-core VMs a page fault is dear); with one arena per session every session kept its own peak (2.3 GiB instead of
    1.4 GiB when propagating with SAM2.1-tiny). Shared, the buffers of one graph are reused by the next graph and
    the next frame, and the memory held is the largest single run's. Measured at 1080p, 2 threads (docs/engine.md):
    EdgeTAM propagation ~15 % faster and 877 -> 617 MiB peak RSS, SAM2.1-tiny ~7 % faster and 1768 -> 1483 MiB.
    Weights stay outside it (`_WEIGHTS_OUTSIDE_ARENA_ENTRY`), so a closed model's memory is returned.
    """
    global _arena_registered
    with _arena_lock:
        if _arena_registered:
            return
        ort = _ort()
        cpu = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        grow_as_requested = 1  # kSameAsRequested: no power-of-two rounding of each new region
        ort.create_and_register_allocator(cpu, ort.OrtArenaCfg(0, grow_as_requested, -1, -1))
        _arena_registered = True


def _session_options(threads: int) -> Any:
    ort = _ort()
    _register_shared_cpu_arena()
    options = ort.SessionOptions()
    options.add_session_config_entry(_SHARED_ARENA_ENTRY, "1")
    options.add_session_config_entry(_WEIGHTS_OUTSIDE_ARENA_ENTRY, "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # Idle workers sleep instead of spinning (ONNX Runtime's default keeps each one busy-waiting for the next
    # operator, a core taken from every other thread meanwhile). The editor's window thread must get a core while
    # the engine thread tracks (docs/ui.md), and each session has its own pool whose workers, spinning after a run,
    # took the cores from the next graph of a video frame. Measured on 2 cores with nothing else running (8 frames
    # at 1080p, docs/engine.md): EdgeTAM propagation 585 -> 479 ms a frame, SAM2.1-tiny 2049 -> 2132 ms (noise).
    options.add_session_config_entry(_SPIN_ENTRY, "0")
    options.log_severity_level = 3
    return options


@dataclass(frozen=True)
class ProviderPlan:
    """The providers a session is built with, best first, and why better ones were passed over."""

    providers: list[Any]  # provider names, or (name, options) pairs
    passed_over: list[str]

    @property
    def first(self) -> str:
        return _name(self.providers[0])


def _name(provider: Any) -> str:
    return str(provider[0] if isinstance(provider, tuple) else provider)


def short_name(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'CUDA', 'TensorrtExecutionProvider' -> 'TensorRT'."""
    return {_TRT: "TensorRT"}.get(provider, provider.removesuffix("ExecutionProvider"))


@functools.cache  # asked by every session built and by gpu_offered: the answer cannot change within a process
def tensorrt_missing() -> str | None:
    """None when TensorRT's runtime library loads in this process, else why it does not.

    onnxruntime-gpu lists the TensorRT provider whether or not TensorRT is installed; building a session on it
    without the library only logs an error and moves on, so Roto looks for the library first. The `tensorrt-cu13-libs`
    (or -cu12) wheel ships it in a package that loads it when imported.
    """
    import ctypes
    import importlib

    for package in ("tensorrt_libs", "tensorrt"):
        try:
            importlib.import_module(package)
        except Exception:  # absent, or present but unloadable: the library check below decides
            continue
    for library in ("libnvinfer.so.10", "libnvinfer.so.11", "nvinfer_10.dll", "nvinfer_11.dll"):
        try:
            ctypes.CDLL(library)
            return None
        except OSError:
            continue
    return "TensorRT libraries (libnvinfer) not found: pip install tensorrt-cu13-libs to use TensorRT"


def tensorrt_cache_dir() -> Path:
    """Where TensorRT keeps its engines: `tensorrt/` in the user cache directory. Engine files are named by the
    graph's hash and the GPU's compute capability, so each is built once per GPU and bundle."""
    from roto.engine.embeddings import user_cache_root

    return user_cache_root() / "tensorrt"


def _tensorrt_provider() -> tuple[str, dict[str, Any]]:
    cache = tensorrt_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return (
        _TRT,
        {
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        },
    )


def provider_plan(choice: str) -> ProviderPlan:
    """The chain for a provider choice: TensorRT (where its libraries are installed), then CUDA, then the CPU.

    `auto` takes every accelerated provider this ONNX Runtime offers; `tensorrt` and `cuda` insist on theirs being
    offered (a clear error beats a silent CPU run when a GPU was asked for), then fall back like `auto`.
    """
    if choice == "cpu":
        return ProviderPlan([_CPU], [])
    available = available_providers()
    wanted = {"tensorrt": _TRT, "cuda": _CUDA}.get(choice)
    if wanted is not None and wanted not in available:
        raise ModelError(
            f"{short_name(wanted)} was requested but this ONNX Runtime has no {short_name(wanted)} provider: "
            "install onnxruntime-gpu instead of onnxruntime (see README, 'GPU')"
        )
    providers: list[Any] = []
    passed_over: list[str] = []
    if _TRT in available and choice in ("auto", "tensorrt"):
        missing = tensorrt_missing()
        if missing is None:
            providers.append(_tensorrt_provider())
        else:
            passed_over.append(missing)
    if _CUDA in available:
        providers.append(_CUDA)
    elif choice == "auto":
        passed_over.append("no CUDA provider in this ONNX Runtime (onnxruntime-gpu is not installed)")
    return ProviderPlan([*providers, _CPU], passed_over)


def _preload_cuda_libraries() -> None:
    """Load CUDA and cuDNN from the nvidia-* wheels (`roto[gpu]`) so no system CUDA install is needed.

    onnxruntime.preload_dlls prints its complaints; they go to the log, never into a command's JSON output.
    """
    global _preloaded
    ort = _ort()
    if _preloaded or not hasattr(ort, "preload_dlls"):
        return
    _preloaded = True
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            ort.preload_dlls()
    except Exception as exc:  # a broken wheel must not stop a CPU fallback
        log.warning("loading the CUDA/cuDNN wheels failed: %s", exc)
    if printed.getvalue().strip():
        log.warning("onnxruntime.preload_dlls: %s", printed.getvalue().strip())


def create_session(
    path: Path,
    options: RuntimeOptions,
    report: SessionReport | None = None,
    model: Path | bytes | None = None,
) -> Any:
    """An InferenceSession for one graph, on the best provider that starts (TensorRT, CUDA, CPU), with the
    reason of every fallback logged and kept in `report`.

    Every session's activations come from one arena shared by the process (`_register_shared_cpu_arena`).
    `model`: the graph at `path` as Roto rewrote it (`cpu_rewrite.cpu_graph`: a cached file or bytes), loaded
    instead of the file.
    """
    ort = _ort()
    choice = options.resolved_provider()
    plan = provider_plan(choice)
    if plan.first != _CPU:
        _preload_cuda_libraries()
    if plan.first == _TRT:
        log.info(
            "%s: TensorRT builds its engine on first use (minutes, once per GPU): %s",
            path.name,
            plan.providers,
        )
    session_options = _session_options(options.threads)
    failures: list[str] = []
    attempt = plan.providers
    while True:
        try:
            source = model if isinstance(model, bytes) else str(model or path)
            session = ort.InferenceSession(source, sess_options=session_options, providers=attempt)
            break
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/RuntimeException types
            if _name(attempt[0]) == _CPU:
                raise ModelError(f"{path}: ONNX Runtime cannot load this graph: {exc}") from exc
            failures.append(f"{short_name(_name(attempt[0]))} failed to start ({exc})")
            attempt = attempt[1:]
    active = session.get_providers()[0]
    if active != _name(attempt[0]):
        failures.append(
            f"{short_name(_name(attempt[0]))} provider is installed but did not initialise "
            "(driver or CUDA/cuDNN/TensorRT libraries)"
        )
    fallback = f"{'; '.join(failures)}; running on {short_name(active)}" if failures else None
    if fallback:
        log.warning("%s: %s", path.name, fallback)
    log.info("%s runs on %s", path.name, active)
    if report is not None:
        report.provider = active
        report.requested = choice
        report.threads = options.threads
        report.fallback_reason = report.fallback_reason or fallback
        report.passed_over = plan.passed_over
        report.graphs.append(path.name)
    return session


def create_session_from_model(model: bytes, threads: int, gpu: bool = False) -> Any:
    """A session for a small graph Roto builds itself (pre-processing, memory rounding and stacking), on CUDA
    beside the bundle's graphs when `gpu` (falling back to the CPU), else on the CPU; `threads` as in
    RuntimeOptions."""
    providers = [_CUDA, _CPU] if gpu and _CUDA in available_providers() else [_CPU]
    if gpu:
        _preload_cuda_libraries()
    return _ort().InferenceSession(model, sess_options=_session_options(threads), providers=providers)


def create_session_like(
    model: bytes, like: Any, threads: int, disabled_optimizers: Sequence[str] = ()
) -> Any:
    """A session for a graph Roto derives from a bundle's graph, on the provider `like` runs on (TensorRT left out:
    it would build an engine for the derived graph, minutes on first use), without the named graph optimisers."""
    providers = [name for name in like.get_providers() if name != _TRT] or [_CPU]
    return _ort().InferenceSession(
        model,
        sess_options=_session_options(threads),
        providers=providers,
        disabled_optimizers=list(disabled_optimizers),
    )


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
    _preload_cuda_libraries()
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
