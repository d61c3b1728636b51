"""Guards against a Qt binding that leaks references to None (PySide6 6.12.0 on Python 3.11 aborts long sessions)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot


def test_void_qt_calls_keep_none_alive(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for index in range(5000):
        widget.setObjectName(f"w{index % 7}")
        widget.update()
    # A leaking binding takes one reference per call (-10000 here); ordinary churn stays within a few dozen.
    assert sys.getrefcount(None) - before > -500
