"""The status bar says where the model runs, in which precision, and why a better provider is not in use."""

from __future__ import annotations

from PySide6.QtWidgets import QStatusBar

from roto.editor.requests import EngineInfo
from roto.ui.status import StatusWidgets


def test_model_label_names_provider_precision_and_the_fallback_reason(qtbot) -> None:
    bar = QStatusBar()
    qtbot.addWidget(bar)
    status = StatusWidgets(bar, lambda: None)
    status.show_model(EngineInfo("sam2.1-tiny-fp16", "CUDAExecutionProvider", False, "fp16"))
    assert status.model.text() == "sam2.1-tiny-fp16 · CUDA · fp16"
    assert status.model.toolTip() == "Runs on CUDA, fp16"

    reason = "TensorRT failed to start (libnvinfer.so.10: cannot open); running on CUDA"
    passed = "no TensorRT provider in this ONNX Runtime"
    status.show_model(EngineInfo("sam2.1-tiny", "CUDAExecutionProvider", False, "fp32", reason, (passed,)))
    assert status.model.text() == "sam2.1-tiny · CUDA (fallback) · fp32"
    assert status.model.toolTip().splitlines() == ["Runs on CUDA, fp32", reason, passed]
