"""The status bar's permanent widgets: model, engine activity, zoom, brush size, and a run's progress."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from roto.editor.brush import Brush
from roto.editor.propagation import PropagationRun
from roto.editor.requests import EngineInfo
from roto.engine.session import short_name


class StatusWidgets:
    """Owns the labels and the progress bar; the window tells it what to show."""

    def __init__(self, bar: QStatusBar, cancel: Callable[[], None]) -> None:
        self.model = QLabel("No model")
        self.model.setToolTip("The model in use and where it actually runs (CPU, CUDA or TensorRT)")
        self.engine = QLabel("")
        self.engine.setToolTip("What the model is doing")
        self.zoom = QLabel("")
        self.zoom.setToolTip("Zoom (F: fit, 1: actual size)")
        self.brush = QLabel("")
        self.brush.setToolTip("Brush radius, in frame or screen pixels ([ smaller, ] larger; Tools menu)")
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(260)
        self.progress.setToolTip(
            "Frames propagated so far, the rate and the time left; masks appear as they arrive"
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop propagating (Esc); frames already done are kept")
        self.cancel_button.clicked.connect(cancel)
        for widget in (self.progress, self.cancel_button, self.brush, self.engine, self.zoom, self.model):
            bar.addPermanentWidget(widget)
        self.progress.hide()
        self.cancel_button.hide()

    def show_brush(self, brush: Brush) -> None:
        self.brush.setText(brush.describe())

    def show_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom:.0%}")

    def show_model(self, info: EngineInfo) -> None:
        weights = " · random weights (test bundle)" if info.random_weights else ""
        provider = short_name(info.provider)
        fallback = " (fallback)" if info.fallback_reason else ""
        self.model.setText(f"{info.name} · {provider}{fallback} · {info.precision}{weights}")
        reasons = [r for r in (info.fallback_reason, *info.passed_over) if r]
        self.model.setToolTip("\n".join([f"Runs on {provider}, {info.precision}", *reasons]))

    def show_progress(self, done: int, text: str) -> None:
        self.progress.setValue(done)
        self.progress.setFormat(text)

    def show_run(self, run: PropagationRun | None, ready: bool) -> None:
        """A run's progress and Cancel button while it lasts; the engine's state once it ends."""
        if run is None:
            self.progress.hide()
            self.cancel_button.hide()
            self.engine.setText("Ready" if ready else "")
            return
        self.progress.setRange(0, run.total)
        self.show_progress(0, run.progress_text(run.started_at))
        self.progress.show()
        self.cancel_button.show()
        self.engine.setText(f"{run.label}…")
