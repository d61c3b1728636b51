"""A dark Fusion palette: footage and mattes are judged against a neutral dark surround, as in compositing tools."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_ROLES: dict[QPalette.ColorRole, QColor] = {
    QPalette.ColorRole.Window: QColor(45, 46, 50),
    QPalette.ColorRole.WindowText: QColor(220, 221, 224),
    QPalette.ColorRole.Base: QColor(33, 34, 37),
    QPalette.ColorRole.AlternateBase: QColor(45, 46, 50),
    QPalette.ColorRole.ToolTipBase: QColor(33, 34, 37),
    QPalette.ColorRole.ToolTipText: QColor(220, 221, 224),
    QPalette.ColorRole.Text: QColor(220, 221, 224),
    QPalette.ColorRole.Button: QColor(55, 56, 61),
    QPalette.ColorRole.ButtonText: QColor(220, 221, 224),
    QPalette.ColorRole.BrightText: QColor(255, 90, 90),
    QPalette.ColorRole.Highlight: QColor(64, 130, 220),
    QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
    QPalette.ColorRole.Link: QColor(100, 170, 255),
    QPalette.ColorRole.PlaceholderText: QColor(130, 131, 136),
}
_DISABLED = QColor(120, 121, 126)


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in _ROLES.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, _DISABLED)
    app.setPalette(palette)
