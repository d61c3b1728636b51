"""Editor fixtures: an offscreen Qt, isolated settings, a small generated clip and a window on the test bundle."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from roto.ui.app import MainWindow


@dataclass
class Dialogs:
    """What the window would have shown in message boxes (tests must never block on a modal dialog)."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    answer: QMessageBox.StandardButton = QMessageBox.StandardButton.Discard


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, qapp: QApplication) -> None:
    """Recent files and window layout go to a throwaway folder, never the developer's own settings."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings"))
    )
    qapp.setOrganizationName("roto-tests")
    qapp.setApplicationName("Roto")


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    recorded = Dialogs()

    def critical(_parent: object, title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
        recorded.errors.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(critical))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *_args: recorded.answer))
    return recorded


@pytest.fixture
def test_model(monkeypatch: pytest.MonkeyPatch, test_bundle_path: Path) -> Path:
    monkeypatch.setenv("ROTO_MODEL", str(test_bundle_path))
    return test_bundle_path


@pytest.fixture
def window(qtbot, dialogs: Dialogs, test_model: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitUntil(lambda: win.state.engine is not None, timeout=20_000)
    yield win
    dialogs.answer = QMessageBox.StandardButton.Discard  # closing must not wait on "save changes?"
    win.close()
