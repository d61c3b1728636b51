"""The folder field's Browse button fills the field from the dialog, and a cancelled dialog changes nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from roto.ui.folder_field import folder_row


@pytest.mark.parametrize(("answer", "expected"), [("/tmp/chosen", "/tmp/chosen"), ("", "/start")])
def test_browse_fills_the_field(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, answer: str, expected: str
) -> None:
    asked: list[tuple[str, str]] = []

    def dialog(_parent: QWidget, title: str, start: str) -> str:
        asked.append((title, start))
        return answer

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(dialog))
    host = QWidget()
    qtbot.addWidget(host)
    field = QLineEdit("/start")
    row = folder_row(field, "Pick a folder", "tip")
    host.setLayout(row)
    button = row.itemAt(1).widget()
    assert isinstance(button, QPushButton) and button.toolTip() == "tip"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked == [("Pick a folder", "/start")]
    assert field.text() == expected
