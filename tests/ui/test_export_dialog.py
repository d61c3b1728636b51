"""The export dialog: frames, objects, format options, file names and start number, previewed before writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from roto.export import Content, ExportFormat, InMemorySource
from roto.ui.export_dialog import ExportDialog


def two_objects(frames: int = 20) -> InMemorySource:
    mask = np.zeros((8, 8), bool)
    return InMemorySource(
        "myshot",
        (8, 8),
        {"hero": [mask] * frames, "prop": [mask] * frames},
        frame_numbers=range(1001, 1001 + frames),
    )


def test_the_preview_names_the_first_file_as_the_export_will(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path, two_objects(), in_out=(4, 9))
    qtbot.addWidget(dialog)
    spec = dialog.spec()
    assert spec.frames == range(4, 10) and list(spec.objects or []) == ["hero", "prop"]
    assert dialog.preview.text().startswith(str(tmp_path / "myshot_hero.1005.png"))  # media numbers, in point
    assert "(and 11 more)" in dialog.preview.text()
    dialog.start.setCurrentIndex(dialog.start.findData(1001))
    dialog.objects.item(1).setCheckState(Qt.CheckState.Unchecked)
    dialog.pattern.setText("{shot}/{object}_{frame:05d}.png")
    assert dialog.preview.text() == f"{tmp_path / 'myshot' / 'hero_01005.png'} (and 5 more)"
    assert list(dialog.spec().objects or []) == ["hero"] and dialog.spec().start_frame == 1001


def test_custom_ranges_and_options_that_apply_to_the_format(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path, two_objects())
    qtbot.addWidget(dialog)
    assert dialog.range_choice.currentText().startswith("Whole shot")
    dialog.range_choice.setCurrentIndex(dialog.range_choice.findData(None))
    dialog.first.setValue(3)
    dialog.last.setValue(5)
    assert dialog.spec().frames == range(2, 5)
    dialog.format.setCurrentIndex(dialog.format.findData(ExportFormat.PNG))
    assert dialog.bit_depth.isEnabled()
    dialog.bit_depth.setCurrentIndex(dialog.bit_depth.findData(16))
    assert dialog.spec().bit_depth == 16
    dialog.format.setCurrentIndex(dialog.format.findData(ExportFormat.EXR))
    assert not dialog.bit_depth.isEnabled()


def test_a_request_the_export_would_refuse_is_explained_and_cannot_be_accepted(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path, two_objects())
    qtbot.addWidget(dialog)
    export_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert export_button.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData(ExportFormat.EXR))
    dialog.content.setCurrentIndex(dialog.content.findData(Content.PREMULTIPLIED))
    assert not export_button.isEnabled() and "mattes only" in dialog.preview.text()
    dialog.content.setCurrentIndex(dialog.content.findData(Content.ALPHA))
    dialog.pattern.setText("../outside_{frame}.png")
    assert not export_button.isEnabled() and "inside the output folder" in dialog.preview.text()
