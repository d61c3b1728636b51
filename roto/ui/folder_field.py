"""A text field for a folder with a Browse button beside it, as the export and preferences dialogs use."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton


def folder_row(field: QLineEdit, title: str, tooltip: str | None = None) -> QHBoxLayout:
    """Lay out `field` with a Browse button that fills it from a folder dialog titled `title`."""
    browse = QPushButton("Browse…")
    if tooltip:
        browse.setToolTip(tooltip)

    def choose() -> None:
        chosen = QFileDialog.getExistingDirectory(field, title, field.text())
        if chosen:
            field.setText(chosen)

    browse.clicked.connect(choose)
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(browse)
    return row
