"""The export dialog: which frames and objects, the format and its options, the file names, with a live preview.

Everything it asks becomes an ExportSpec that roto.export validates; the preview of the first file name and any
refusal (a content the format cannot carry, a bad pattern) come from the same planning `roto export` runs, so
the dialog never promises what the export would refuse.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)

from roto.errors import ExportError, RotoError
from roto.export import Content, ExportFormat, ExportSpec, Layout, MatteSource
from roto.export.cel import CelStyle
from roto.export.exporter import planned_files
from roto.shapes import ShapeSettings
from roto.ui.folder_field import folder_row

START_NUMBERS: tuple[tuple[str, int | None], ...] = (
    ("the media's own numbers", None),
    ("0", 0),
    ("1", 1),
    ("1001 (VFX convention)", 1001),
)
BIT_DEPTH_FORMATS = (ExportFormat.PNG, ExportFormat.FFV1)
SHAPE_FORMATS = (
    ExportFormat.SVG,
    ExportFormat.SVG_ANIMATED,
    ExportFormat.LOTTIE,
    ExportFormat.NUKE,
    ExportFormat.AFTER_EFFECTS,
    ExportFormat.BLENDER,
)


class ExportDialog(QDialog):
    """Asks for the export settings; `spec()` turns them into an ExportSpec (validated by roto.export)."""

    def __init__(
        self,
        default_dir: Path,
        source: MatteSource,
        in_out: tuple[int, int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export mattes")
        self._source = source
        self.folder = QLineEdit(str(default_dir))
        self.range_choice = QComboBox()
        if in_out is not None:
            self.range_choice.addItem(f"In/out ({in_out[0] + 1}–{in_out[1] + 1})", in_out)
        last = source.frame_count - 1
        self.range_choice.addItem(f"Whole shot (1–{last + 1})", (0, last))
        self.range_choice.addItem("Custom", None)
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, value in ((self.first, 1), (self.last, last + 1)):
            box.setRange(1, last + 1)
            box.setValue(value)
        frames = QHBoxLayout()
        frames.addWidget(self.range_choice, 1)
        frames.addWidget(self.first)
        frames.addWidget(QLabel("to"))
        frames.addWidget(self.last)
        self.objects = QListWidget()
        self.objects.setMaximumHeight(110)
        for name in source.object_names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.objects.addItem(item)
        self.format = _combo(ExportFormat)
        self.layout_choice = _combo(Layout)
        self.content = _combo(Content)
        self.bit_depth = QComboBox()
        self.bit_depth.addItem("8 bit", 8)
        self.bit_depth.addItem("16 bit", 16)
        self.pattern = QLineEdit()
        self.pattern.setPlaceholderText("default: {shot}_{object}.{frame:04d}.png")
        self.pattern.setToolTip(
            "Tokens: {shot} (the project's name), {object}, {frame} with padding as {frame:04d}; "
            "/ makes subfolders"
        )
        self.start = QComboBox()
        for text, number in START_NUMBERS:
            self.start.addItem(text, number)
        self.overwrite = QCheckBox("Replace existing files")
        self.tolerance = _spin(
            ShapeSettings().tolerance, 0.05, 100, "Largest distance of a shape from the matte"
        )
        self.outline = _spin(CelStyle().outline_px, 0, 100, "Outline width of the cel look (0: none)")
        self.background = QLineEdit(CelStyle().background)
        self.background.setToolTip("What the cel look is drawn over: frame, transparent or a colour #rrggbb")
        self.preview = QLabel()
        self.preview.setObjectName("preview")
        self.preview.setWordWrap(True)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(self)
        form.addRow("Folder", folder_row(self.folder, "Export to folder"))
        form.addRow("Frames", frames)
        form.addRow("Objects", self.objects)
        form.addRow("Format", self.format)
        form.addRow("Layout", self.layout_choice)
        form.addRow("Content", self.content)
        form.addRow("Bit depth", self.bit_depth)
        form.addRow("Shape tolerance (px)", self.tolerance)
        form.addRow("Cel outline (px)", self.outline)
        form.addRow("Cel background", self.background)
        form.addRow("File names", self.pattern)
        form.addRow("Start number", self.start)
        form.addRow("", self.overwrite)
        form.addRow("First file", self.preview)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        for combo in (
            self.range_choice,
            self.format,
            self.layout_choice,
            self.content,
            self.bit_depth,
            self.start,
        ):
            combo.currentIndexChanged.connect(self._update)
        for field in (self.folder, self.pattern, self.background):
            field.textChanged.connect(self._update)
        for box in (self.first, self.last):
            box.valueChanged.connect(self._update)
        for spin in (self.tolerance, self.outline):
            spin.valueChanged.connect(self._update)
        self.objects.itemChanged.connect(self._update)
        self._update()

    def frames(self) -> range:
        chosen = self.range_choice.currentData()
        first, last = chosen if chosen is not None else (self.first.value() - 1, self.last.value() - 1)
        return range(first, last + 1)

    def spec(self) -> ExportSpec:
        chosen = [
            self.objects.item(row).text()
            for row in range(self.objects.count())
            if self.objects.item(row).checkState() == Qt.CheckState.Checked
        ]
        try:
            shapes = ShapeSettings(tolerance=self.tolerance.value())
            cel = CelStyle(outline_px=self.outline.value(), background=self.background.text().strip())
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        return ExportSpec(
            output_dir=Path(self.folder.text()).expanduser(),
            format=self.format.currentData(),
            layout=self.layout_choice.currentData(),
            content=self.content.currentData(),
            pattern=self.pattern.text().strip() or None,
            bit_depth=int(self.bit_depth.currentData()),
            frames=self.frames(),
            objects=chosen,
            start_frame=self.start.currentData(),
            shapes=shapes,
            cel=cel,
            overwrite=self.overwrite.isChecked(),
        )

    def _update(self) -> None:
        """Enable what applies to the format, then show the first file the export would write, or why not."""
        custom = self.range_choice.currentData() is None
        self.first.setEnabled(custom)
        self.last.setEnabled(custom)
        self.bit_depth.setEnabled(self.format.currentData() in BIT_DEPTH_FORMATS)
        cel = self.content.currentData() == Content.CEL
        self.tolerance.setEnabled(cel or self.format.currentData() in SHAPE_FORMATS)
        self.outline.setEnabled(cel)
        self.background.setEnabled(cel)
        try:
            files = planned_files(self._source, self.spec())
        except (RotoError, ValueError) as exc:
            self.preview.setText(f"<span style='color:#e06060'>{exc}</span>")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        more = f" (and {len(files) - 1} more)" if len(files) > 1 else ""
        self.preview.setText(f"{files[0]}{more}" if files else "nothing to write")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(files))


def _combo(kind: type[ExportFormat] | type[Layout] | type[Content]) -> QComboBox:
    combo = QComboBox()
    for member in kind:
        combo.addItem(member.value, member)
    return combo


def _spin(value: float, low: float, high: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(0.25)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin
