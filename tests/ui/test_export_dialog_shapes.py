"""The export dialog offers the shape formats and the cel look, with their settings, previewed as exported."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox

from roto.export import Content, ExportFormat
from roto.ui.export_dialog import ExportDialog
from tests.ui.test_export_dialog import two_objects


def test_the_dialog_offers_every_shape_format_with_its_tolerance(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path, two_objects())
    qtbot.addWidget(dialog)
    offered = {str(dialog.format.itemData(i)) for i in range(dialog.format.count())}
    assert {"svg", "svg-animated", "lottie", "nuke", "after-effects", "blender"} <= offered
    assert not dialog.tolerance.isEnabled()  # png mattes have no shapes
    dialog.format.setCurrentIndex(dialog.format.findData(ExportFormat.LOTTIE))
    assert dialog.tolerance.isEnabled() and not dialog.outline.isEnabled()
    dialog.tolerance.setValue(0.5)
    spec = dialog.spec()
    assert spec.format is ExportFormat.LOTTIE and spec.shapes.tolerance == 0.5
    assert dialog.preview.text().endswith("myshot.json")


def test_the_cel_look_takes_its_outline_and_background_and_refuses_a_bad_one(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path, two_objects())
    qtbot.addWidget(dialog)
    dialog.content.setCurrentIndex(dialog.content.findData(Content.CEL))
    dialog.outline.setValue(5)
    dialog.background.setText("#ffffff")
    spec = dialog.spec()
    assert spec.content is Content.CEL and spec.cel.outline_px == 5 and spec.cel.background == "#ffffff"
    dialog.background.setText("pink")
    assert "background" in dialog.preview.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
