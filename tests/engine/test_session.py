"""Execution-provider choice, the CUDA-to-CPU fallback and the CUDA self-test, on a CPU-only ONNX Runtime."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from roto.engine import session as session_module
from roto.engine.session import RuntimeOptions, SessionReport, create_session, cuda_self_test
from roto.errors import ModelError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
REAL_INFERENCE_SESSION = onnxruntime.InferenceSession


@pytest.fixture(autouse=True)
def no_provider_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROTO_PROVIDER", raising=False)


@pytest.fixture
def graph(tmp_path: Path) -> Path:
    """y = x + x on four floats: the smallest graph that proves a session really runs."""
    node = helper.make_node("Add", ["x", "x"], ["y"])
    model = helper.make_model(
        helper.make_graph(
            [node],
            "double",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 9
    path = tmp_path / "double.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture
def cuda_offered(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Pretend onnxruntime-gpu is installed; CUDA sessions fail to start. Returns the providers of each attempt."""
    attempts: list[list[str]] = []

    def inference_session(path: Any, sess_options: Any = None, providers: Any = None, **kwargs: Any) -> Any:
        attempts.append(list(providers))
        if providers[0] == CUDA:
            raise RuntimeError(
                "CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version"
            )
        return REAL_INFERENCE_SESSION(path, sess_options=sess_options, providers=providers, **kwargs)

    monkeypatch.setattr(session_module, "available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(onnxruntime, "InferenceSession", inference_session)
    return attempts


def _runs(session: Any) -> None:
    out = session.run(None, {"x": np.arange(4, dtype=np.float32)})[0]
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0, 6.0])


@pytest.mark.parametrize(("given", "resolved"), [("auto", "auto"), ("CPU", "cpu"), ("cuda", "cuda")])
def test_provider_choices(given: str, resolved: str) -> None:
    assert RuntimeOptions(provider=given).resolved_provider() == resolved


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown provider 'tpu': choose one of auto, tensorrt, cuda, cpu"):
        RuntimeOptions(provider="tpu").resolved_provider()


def test_environment_overrides_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTO_PROVIDER", "CPU")
    assert RuntimeOptions(provider="cuda").resolved_provider() == "cpu"
    monkeypatch.setenv("ROTO_PROVIDER", "metal")
    with pytest.raises(ModelError, match="unknown provider 'metal'"):
        RuntimeOptions().resolved_provider()


def test_cpu_session_and_report(graph: Path) -> None:
    report = SessionReport(provider="", requested="")
    session = create_session(graph, RuntimeOptions(provider="auto", threads=1), report)
    _runs(session)
    assert report.provider == CPU
    assert report.requested == "auto"
    assert report.threads == 1
    assert report.fallback_reason is None
    assert report.graphs == ["double.onnx"]
    assert session.get_session_options().intra_op_num_threads == 1
    # by default idle workers sleep instead of spinning: they never take the cores from the next graph of a frame
    assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_sessions_never_spin_wait(graph: Path) -> None:
    session = create_session(graph, RuntimeOptions(provider="cpu"))
    _runs(session)
    assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def _kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's peak-RSS reset")
def test_sessions_reuse_one_arena(tmp_path: Path) -> None:
    """A second session running the same 128 MiB-per-buffer graph pages in nothing new: it allocates from the
    buffers the first one left in the process's one arena (with an arena each, or none, its peak rose 256 MiB)."""
    floats = 32 << 20
    nodes = [
        helper.make_node("Expand", ["x", "shape"], ["big"]),
        helper.make_node("Add", ["big", "x"], ["bigger"]),
        helper.make_node("ReduceSum", ["bigger"], ["y"], keepdims=0),
    ]
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [floats])
    model = helper.make_model(
        helper.make_graph(
            nodes,
            "big_buffers",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
            [shape],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    path = tmp_path / "big.onnx"
    onnx.save(model, path)
    first, second = (create_session(path, RuntimeOptions(provider="cpu", threads=1)) for _ in range(2))
    feed = {"x": np.ones(1, np.float32)}
    first.run(None, feed)
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) from now on
    resident = _kib("VmRSS")
    (total,) = second.run(None, feed)
    assert total == pytest.approx(2.0 * floats)
    assert _kib("VmHWM") - resident < 32 << 10  # KiB: well under one 128 MiB buffer


def test_cuda_requested_without_cuda_provider(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "available_providers", lambda: [CPU])
    with pytest.raises(ModelError, match="install onnxruntime-gpu"):
        create_session(graph, RuntimeOptions(provider="cuda"))


def test_cuda_requested_by_environment(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "available_providers", lambda: [CPU])
    monkeypatch.setenv("ROTO_PROVIDER", "cuda")
    with pytest.raises(ModelError, match="onnxruntime-gpu"):
        create_session(graph, RuntimeOptions(provider="cpu"))


@pytest.mark.parametrize("provider", ["auto", "cuda"])
def test_cuda_failure_falls_back_to_cpu(
    graph: Path, cuda_offered: list[list[str]], caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    report = SessionReport(provider="", requested="")
    with caplog.at_level(logging.WARNING, logger="roto.engine.session"):
        session = create_session(graph, RuntimeOptions(provider=provider), report)
    _runs(session)
    assert cuda_offered == [[CUDA, CPU], [CPU]]
    assert report.provider == CPU
    assert report.requested == provider
    assert report.fallback_reason is not None
    assert report.fallback_reason.startswith("CUDA failed to start")
    assert "driver version is insufficient" in report.fallback_reason
    assert "running on CPU" in caplog.text


def test_first_fallback_reason_is_kept(graph: Path, cuda_offered: list[list[str]]) -> None:
    report = SessionReport(provider="", requested="", fallback_reason="encoder: earlier reason")
    create_session(graph, RuntimeOptions(), report)
    assert report.fallback_reason == "encoder: earlier reason"


def test_cpu_choice_never_tries_cuda(graph: Path, cuda_offered: list[list[str]]) -> None:
    report = SessionReport(provider="", requested="")
    _runs(create_session(graph, RuntimeOptions(provider="cpu"), report))
    assert cuda_offered == [[CPU]]
    assert report.fallback_reason is None


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available provider")
def test_cuda_silently_dropped_is_reported(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime drops a provider it cannot load instead of failing: that is a fallback too."""
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime really has CUDA")
    monkeypatch.setattr(session_module, "available_providers", lambda: [CUDA, CPU])
    report = SessionReport(provider="", requested="")
    _runs(create_session(graph, RuntimeOptions(), report))
    assert report.provider == CPU
    assert report.fallback_reason is not None
    assert "did not initialise" in report.fallback_reason


def test_unloadable_graph_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not a graph")
    with pytest.raises(ModelError, match=f"{bad}: ONNX Runtime cannot load this graph"):
        create_session(bad, RuntimeOptions(provider="cpu"))


def test_unloadable_graph_after_cuda_fallback_is_a_model_error(tmp_path: Path, cuda_offered: Any) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not a graph")
    with pytest.raises(ModelError, match="ONNX Runtime cannot load this graph"):
        create_session(bad, RuntimeOptions())


def test_missing_onnxruntime_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    with pytest.raises(ModelError, match=r"pip install 'roto\[cpu\]'"):
        session_module.available_providers()


def test_cuda_self_test_on_this_machine() -> None:
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime has a CUDA provider")
    works, reason = cuda_self_test()
    assert works is False
    assert "no CUDA provider" in reason
    assert "onnxruntime-gpu" in reason


def test_cuda_self_test_with_failing_cuda(cuda_offered: list[list[str]]) -> None:
    works, reason = cuda_self_test()
    assert works is False
    assert reason.startswith("CUDA failed")
    assert "driver version is insufficient" in reason


TRT = "TensorrtExecutionProvider"


@pytest.fixture
def tensorrt_offered(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """Pretend onnxruntime-gpu with TensorRT and its libraries is installed; no GPU provider starts."""
    attempts: list[list[Any]] = []

    def inference_session(path: Any, sess_options: Any = None, providers: Any = None, **kwargs: Any) -> Any:
        attempts.append(list(providers))
        if providers[0] != CPU:
            raise RuntimeError(f"{providers[0]!r}: no CUDA-capable device is detected")
        return REAL_INFERENCE_SESSION(path, sess_options=sess_options, providers=providers, **kwargs)

    monkeypatch.setattr(session_module, "available_providers", lambda: [TRT, CUDA, CPU])
    monkeypatch.setattr(session_module, "tensorrt_missing", lambda: None)
    monkeypatch.setattr(onnxruntime, "InferenceSession", inference_session)
    return attempts


def test_chain_is_tensorrt_then_cuda_then_cpu_with_every_reason(
    graph: Path, tensorrt_offered: list[list[Any]], tmp_path: Path
) -> None:
    report = SessionReport(provider="", requested="")
    _runs(create_session(graph, RuntimeOptions(), report))
    assert [[p if isinstance(p, str) else p[0] for p in a] for a in tensorrt_offered] == [
        [TRT, CUDA, CPU],
        [CUDA, CPU],
        [CPU],
    ]
    trt_options = tensorrt_offered[0][0][1]
    assert trt_options["trt_engine_cache_enable"] is True
    cache = Path(trt_options["trt_engine_cache_path"])
    assert cache == session_module.tensorrt_cache_dir() and cache.is_dir()
    assert cache.parent == Path(os.environ["ROTO_CACHE_DIR"])  # the user cache directory
    assert report.provider == CPU
    assert report.fallback_reason is not None
    assert report.fallback_reason.startswith("TensorRT failed to start")
    assert "; CUDA failed to start" in report.fallback_reason
    assert report.fallback_reason.endswith("running on CPU")


def test_tensorrt_without_its_libraries_is_passed_over_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "available_providers", lambda: [TRT, CUDA, CPU])
    missing = session_module.tensorrt_missing()  # this machine really has no TensorRT
    if missing is None:
        pytest.skip("TensorRT is installed here")
    assert "libnvinfer" in missing
    plan = session_module.provider_plan("auto")
    assert plan.providers == [CUDA, CPU]
    assert plan.passed_over == [missing]
    assert session_module.provider_plan("tensorrt").providers == [CUDA, CPU]
    assert session_module.provider_plan("cuda").passed_over == []  # TensorRT was not asked for


def test_this_onnxruntime_plans_the_cpu_and_says_why() -> None:
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime really has CUDA")
    plan = session_module.provider_plan("auto")
    assert plan.providers == [CPU]
    assert plan.passed_over == ["no CUDA provider in this ONNX Runtime (onnxruntime-gpu is not installed)"]
    with pytest.raises(ModelError, match="TensorRT was requested but this ONNX Runtime has no TensorRT"):
        session_module.provider_plan("tensorrt")
    assert not RuntimeOptions().gpu_offered()


def test_cuda_library_preload_never_prints_into_a_commands_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(session_module, "_preloaded", False)
    monkeypatch.setattr(
        onnxruntime, "preload_dlls", lambda: print("Failed to load libcudnn.so.9"), raising=False
    )
    with caplog.at_level(logging.WARNING, logger="roto.engine.session"):
        session_module._preload_cuda_libraries()
        session_module._preload_cuda_libraries()  # once per process
    assert capsys.readouterr().out == ""
    assert caplog.text.count("Failed to load libcudnn.so.9") == 1
