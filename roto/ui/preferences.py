"""Preferences: which model, where it runs, how much memory embeddings may take, how often to back up.

Stored in QSettings (per user, the platform's usual place) and applied by the window when the dialog is accepted.
Environment variables still win (ROTO_MODEL, ROTO_PROVIDER), so scripts and tests stay reproducible.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from roto.engine.session import PROVIDER_CHOICES, RuntimeOptions
from roto.ui.folder_field import folder_row

_KEYS = {
    "bundle": "engine/bundle",
    "provider": "engine/provider",
    "threads": "engine/threads",
    "cache_mib": "engine/embedding_cache_mib",
    "autosave_s": "project/autosave_seconds",
}


@dataclass(frozen=True)
class Preferences:
    bundle: str = ""  # a bundle folder or installed name; empty: the first installed bundle with real weights
    provider: str = "auto"
    threads: int = 0  # 0: ONNX Runtime's default
    cache_mib: int = 1024
    autosave_s: int = 60

    @property
    def runtime(self) -> RuntimeOptions:
        return RuntimeOptions(provider=self.provider, threads=self.threads)

    @property
    def cache_bytes(self) -> int:
        return self.cache_mib << 20

    @classmethod
    def load(cls) -> Preferences:
        """The stored preferences; a value that is missing or unreadable falls back to its default."""
        settings = QSettings()
        default = cls()
        values: dict[str, object] = {}
        for name, key in _KEYS.items():
            fallback = getattr(default, name)
            raw = settings.value(key, fallback)
            try:
                values[name] = type(fallback)(raw)
            except (TypeError, ValueError):
                values[name] = fallback
        if values["provider"] not in PROVIDER_CHOICES:
            values["provider"] = default.provider
        return cls(**values)  # type: ignore[arg-type]

    def save(self) -> None:
        settings = QSettings()
        for name, key in _KEYS.items():
            settings.setValue(key, getattr(self, name))


class PreferencesDialog(QDialog):
    """Edits a Preferences; `preferences()` reads the fields back."""

    def __init__(self, current: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.bundle = QLineEdit(current.bundle)
        self.bundle.setPlaceholderText("automatic: the first installed model")
        self.bundle.setToolTip(
            "A model bundle folder or the name of an installed model (`roto models list`). "
            "Empty: the first installed bundle with real weights. ROTO_MODEL overrides it."
        )
        self.provider = QComboBox()
        for choice in PROVIDER_CHOICES:
            self.provider.addItem(choice, choice)
        self.provider.setCurrentIndex(max(0, self.provider.findData(current.provider)))
        self.provider.setToolTip(
            "Where the model runs: auto uses CUDA when it works, else the CPU. ROTO_PROVIDER overrides it."
        )
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(current.threads)
        self.threads.setToolTip("CPU threads for the model; automatic uses every physical core")
        self.cache = QSpinBox()
        self.cache.setRange(0, 64 * 1024)
        self.cache.setSingleStep(256)
        self.cache.setSuffix(" MiB")
        self.cache.setValue(current.cache_mib)
        self.cache.setToolTip(
            "Memory for encoded frames, so returning to a frame or propagating over it does not encode it again"
        )
        self.autosave = QSpinBox()
        self.autosave.setRange(5, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(current.autosave_s)
        self.autosave.setToolTip("Unsaved changes of a saved project are backed up after this long")
        form = QFormLayout(self)
        form.addRow(
            "Model bundle", folder_row(self.bundle, "Model bundle folder", "Choose a model bundle folder")
        )
        _override_note(form, "ROTO_MODEL", self.bundle)
        form.addRow("Provider", self.provider)
        _override_note(form, "ROTO_PROVIDER", self.provider)
        form.addRow("Threads", self.threads)
        form.addRow("Embedding cache", self.cache)
        form.addRow("Autosave after", self.autosave)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        return Preferences(
            bundle=self.bundle.text().strip(),
            provider=str(self.provider.currentData()),
            threads=self.threads.value(),
            cache_mib=self.cache.value(),
            autosave_s=self.autosave.value(),
        )


def _override_note(form: QFormLayout, variable: str, field: QWidget) -> None:
    """Under a setting an environment variable overrides: say so (the setting is kept, it just does not apply)."""
    value = os.environ.get(variable)
    if not value:
        return
    note = QLabel(f"Overridden by {variable}={value} (set in the environment Roto was started from)")
    note.setObjectName(f"{variable}_override")
    note.setWordWrap(True)
    note.setStyleSheet("color: #e0a040")
    form.addRow("", note)
    field.setToolTip(f"{field.toolTip()} Now overridden by {variable}={value}.")
