"""The export dialog: where and how to write the shot's mattes, run off the GUI thread with a progress bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QWidget,
)

from roto.export import Content, ExportFormat, ExportSpec, Layout
from roto.ui.folder_field import folder_row


class ExportDialog(QDialog):
    """Asks for the export settings; `spec()` turns them into an ExportSpec (validated by roto.export)."""

    def __init__(self, default_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export mattes")
        self.folder = QLineEdit(str(default_dir))
        self.format = _combo(ExportFormat)
        self.layout_choice = _combo(Layout)
        self.content = _combo(Content)
        self.overwrite = QCheckBox("Replace existing files")
        form = QFormLayout(self)
        form.addRow("Folder", folder_row(self.folder, "Export to folder"))
        form.addRow("Format", self.format)
        form.addRow("Layout", self.layout_choice)
        form.addRow("Content", self.content)
        form.addRow("", self.overwrite)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def spec(self) -> ExportSpec:
        return ExportSpec(
            output_dir=Path(self.folder.text()).expanduser(),
            format=self.format.currentData(),
            layout=self.layout_choice.currentData(),
            content=self.content.currentData(),
            overwrite=self.overwrite.isChecked(),
        )


def _combo(kind: type[ExportFormat] | type[Layout] | type[Content]) -> QComboBox:
    combo = QComboBox()
    for member in kind:
        combo.addItem(member.value, member)
    return combo
