"""The export dialog offers the shape formats and the cel look, straight from roto.export's choices."""

from __future__ import annotations

from pathlib import Path

from roto.export import Content, ExportFormat
from roto.ui.export_dialog import ExportDialog
from tests.ui.test_export_dialog import two_objects


def test_the_dialog_offers_every_shape_format_and_the_cel_look(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path, two_objects())
    qtbot.addWidget(dialog)
    offered = {str(dialog.format.itemData(i)) for i in range(dialog.format.count())}
    assert {"svg", "svg-animated", "lottie", "nuke", "after-effects", "blender"} <= offered
    dialog.format.setCurrentIndex(dialog.format.findData(ExportFormat.LOTTIE))
    dialog.content.setCurrentIndex(dialog.content.findData(Content.ALPHA))
    assert dialog.spec().format is ExportFormat.LOTTIE
    dialog.format.setCurrentIndex(dialog.format.findData(ExportFormat.PNG))
    dialog.content.setCurrentIndex(dialog.content.findData(Content.CEL))
    assert dialog.spec().content is Content.CEL
