"""The model's life in the window: choose and load the bundle, say what is loaded and doing, offer to install one.

With no usable model the editor still opens and plays clips; a banner over the canvas says that clicks cannot make
masks and offers the model manager, instead of clicks being ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from roto.editor.requests import EngineInfo
from roto.editor.state import EditorState
from roto.engine.bundle import choose_bundle
from roto.errors import ModelError
from roto.ui.models_dialog import ModelManager
from roto.ui.preferences import Preferences
from roto.ui.status import StatusWidgets
from roto.ui.worker import EngineWorker

NO_MODEL_TEXT = """<h2>No segmentation model installed</h2>
<p>Roto needs a SAM2 model bundle to turn clicks into masks: <b>Models ▸ Model Manager…</b> installs one
(or, from a terminal, <code>roto models install tiny</code>; <code>roto models import PATH</code> for a bundle or
checkpoint you already have). You can still open and scrub clips meanwhile (File ▸ Open, Ctrl+O).</p>"""


class NoModelBanner(QWidget):
    """The bar over the canvas while no model is loaded."""

    def __init__(self, install: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("no_model_banner")
        self.setStyleSheet("#no_model_banner { background: #5a4416; }")
        self.text = QLabel("No segmentation model is loaded: clicks cannot make masks.")
        self.button = QPushButton("Install model…")
        self.button.clicked.connect(install)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 10, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.hide()


class ModelControl:
    """Starts the engine worker on the chosen bundle and keeps the status bar, banner and state in step."""

    def __init__(
        self,
        parent: QWidget,
        engine: EngineWorker,
        state: EditorState,
        status: StatusWidgets,
        message: QLabel,
        show_error: Callable[[str, str], None],
        preferences: Callable[[], Preferences],
    ) -> None:
        self.parent, self.engine, self.state, self.status = parent, engine, state, status
        self.message, self.show_error, self.preferences = message, show_error, preferences
        self.banner = NoModelBanner(self.open_manager)
        self.missing = False  # no bundle chosen, or it failed to load (not merely loading)
        engine.engine_ready.connect(self._on_ready)
        engine.engine_failed.connect(self._on_failed)
        engine.encoding.connect(lambda frame: status.engine.setText(f"Encoding frame {frame}…"))
        # "Ready" only once the neighbours are encoded too: a click then waits for the decoder alone
        engine.frame_encoded.connect(lambda frame: status.engine.setText(f"Encoding around frame {frame}…"))
        engine.idle.connect(self._on_idle)
        state.connect("document", lambda _doc: self._show_banner())

    def start(self) -> None:
        """Load the bundle the user chose (ROTO_MODEL, the preference, or the first installed one)."""
        self.state.engine = None
        preferences = self.preferences()
        try:
            folder = choose_bundle(preferences.bundle)
        except ModelError as exc:
            self._on_failed(str(exc))
            return
        if folder is None:
            self.status.model.setText("No model installed")
            self._set_missing(True)
            return
        self._set_missing(False)
        self.status.model.setText(f"Loading {folder.name}…")
        self.engine.load_bundle(folder, preferences.runtime)

    def open_manager(self) -> None:
        """Models ▸ Model Manager; a model installed while none is loaded is loaded at once."""
        ModelManager(self.parent, self._installed).exec()

    def _installed(self) -> None:
        if self.missing:
            self.start()

    def _on_ready(self, info: EngineInfo) -> None:
        self.state.engine = info
        self._set_missing(False)
        self.status.show_model(info)
        if self.state.shown_frame is not None:
            self.engine.encode(self.state.shown_frame)

    def _on_idle(self) -> None:
        if self.state.engine is not None and not self.state.busy:
            self.status.engine.setText("Ready")

    def _on_failed(self, message: str) -> None:
        self.state.engine = None
        self.status.model.setText("Model failed to load")
        self._set_missing(True)
        self.show_error("Model error", message)

    def _set_missing(self, missing: bool) -> None:
        self.missing = missing
        if missing:
            self.message.setText(NO_MODEL_TEXT)
        self._show_banner()

    def _show_banner(self) -> None:
        self.banner.setVisible(self.missing and self.state.document is not None)
