"""The Matte dock: the current object's matte settings (roto.matte.MatteOps), edited non-destructively.

Every committed change is one undoable `UpdateObject(matte=...)` through `Editor.set_matte`; the changes made
while a slider is held down carry one drag id and merge into one step. The panel shows what the document says:
it is refreshed when the current object changes and after every change of the objects (undo included).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QSlider,
    QSpinBox,
    QWidget,
)

from roto.editor.documents import Document
from roto.matte import MAX_CHATTER_FRAMES, MatteOps
from roto.project import ChangeKind, RotoObject, StackEvent
from roto.refine import MAX_BAND_PX, RefineMode

if TYPE_CHECKING:
    from roto.ui.app import MainWindow

MAX_AREA = 10_000_000  # frame pixels


@dataclass(frozen=True)
class Setting:
    """One row: how the widget value maps to and from the settings record."""

    key: str
    label: str
    tip: str
    low: float
    high: float
    step: float  # 1 for whole numbers
    slider: bool  # areas get a spin box only (a slider cannot reach 1 px and 100 000 px both)
    read: Callable[[MatteOps], float]
    write: Callable[[MatteOps, float], MatteOps]


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "grow", "Grow / shrink", "Grow (positive) or choke (negative) the matte, in frame pixels",
        -50, 50, 1, True, lambda m: m.grow_px, lambda m, v: replace(m, grow_px=int(v)),
    ),
    Setting(
        "feather", "Feather", "Soften the edge over about this many frame pixels each side",
        0, 50, 0.5, True, lambda m: m.feather_px, lambda m, v: replace(m, feather_px=float(v)),
    ),
    Setting(
        "holes", "Fill holes up to", "Fill holes of at most this many frame pixels (0: off)",
        0, MAX_AREA, 1, False,
        lambda m: (m.max_hole_area or 0) if m.fill_holes else 0,
        lambda m, v: replace(m, fill_holes=v > 0, max_hole_area=int(v) if v > 0 else None),
    ),
    Setting(
        "islands", "Remove islands below", "Drop specks smaller than this many frame pixels (0: off)",
        0, MAX_AREA, 1, False, lambda m: m.min_island_area, lambda m, v: replace(m, min_island_area=int(v)),
    ),
    Setting(
        "smooth", "Smooth edges", "Round off jagged edges over about this many frame pixels",
        0, 20, 0.5, True, lambda m: m.smooth_px, lambda m, v: replace(m, smooth_px=float(v)),
    ),
    Setting(
        "chatter", "Reduce chatter", "Steady jittering edges: neighbouring frames each side that vote on them",
        0, MAX_CHATTER_FRAMES, 1, True,
        lambda m: m.chatter_frames, lambda m, v: replace(m, chatter_frames=int(v)),
    ),
    Setting(
        "band", "Refine band", "Refine edge: frame pixels each side of the edge that are re-decided",
        1, MAX_BAND_PX, 1, True, lambda m: m.refine_band_px, lambda m, v: replace(m, refine_band_px=int(v)),
    ),
)  # fmt: skip
REFINE_TIP = (
    "Refine edge against the frame: soft, image-aware alpha and the object's own colour at soft edges in "
    "cut-outs. Fast: a guided filter (live). Quality: closed-form matting, which also follows thin strands out of "
    "the band (about a second per 1080p frame)."
)


class MattePanel(QWidget):
    """Spin boxes (and sliders) for the current object's settings; emits each change the user commits."""

    matte_requested = Signal(int, object, object)  # object id, MatteOps, drag id (None: a step of its own)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self.sliders: dict[str, QSlider] = {}
        self._object: RotoObject | None = None
        self._drag: int | None = None
        self._drags = itertools.count(1)
        form = QFormLayout(self)
        for setting in SETTINGS:
            if setting.key == "band":
                form.addRow("Refine edge", self._refine_row())
            form.addRow(setting.label, self._row(setting))
        self.setEnabled(False)

    def _refine_row(self) -> QComboBox:
        self.refine = QComboBox()
        for mode in RefineMode:
            self.refine.addItem(mode.value.capitalize(), mode.value)
        self.refine.setToolTip(REFINE_TIP)
        self.refine.currentIndexChanged.connect(self._refine_changed)
        return self.refine

    def _refine_changed(self, index: int) -> None:
        mode = RefineMode(self.refine.itemData(index))  # Qt hands the data back as plain text
        if self._object is not None and self._object.matte.refine is not mode:
            self.matte_requested.emit(self._object.id, replace(self._object.matte, refine=mode), None)

    def _row(self, setting: Setting) -> QWidget:
        spin: QSpinBox | QDoubleSpinBox
        if setting.step == 1:
            spin = QSpinBox()
            spin.setRange(int(setting.low), int(setting.high))
        else:
            spin = QDoubleSpinBox()
            spin.setRange(setting.low, setting.high)
            spin.setSingleStep(setting.step)
            spin.setDecimals(1)
        spin.setKeyboardTracking(False)  # typing "25" is one change, not "2" then "25"
        spin.setToolTip(setting.tip)
        spin.setSuffix(
            " px²" if setting.key in ("holes", "islands") else "" if setting.key == "chatter" else " px"
        )
        spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        spin.valueChanged.connect(lambda value, s=setting: self._changed(s, float(value)))
        self.spins[setting.key] = spin
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        if setting.slider:
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(round(setting.low / setting.step), round(setting.high / setting.step))
            slider.setToolTip(setting.tip)
            slider.sliderPressed.connect(self._begin_drag)
            slider.sliderReleased.connect(self._end_drag)
            slider.valueChanged.connect(lambda value, s=setting: self._changed(s, value * s.step))
            self.sliders[setting.key] = slider
            layout.addWidget(slider, 1)
        layout.addWidget(spin)
        return row

    def show_object(self, obj: RotoObject | None, editable: bool = True) -> None:
        """Show `obj`'s settings (None: no current object, the panel is disabled)."""
        self._object = obj
        self.setEnabled(obj is not None and editable)
        matte = obj.matte if obj is not None else MatteOps()
        for setting in SETTINGS:
            self._show_value(setting, setting.read(matte))
        with QSignalBlocker(self.refine):
            self.refine.setCurrentIndex(self.refine.findData(matte.refine.value))

    def _show_value(self, setting: Setting, value: float) -> None:
        spin = self.spins[setting.key]
        blockers: list[Any] = [QSignalBlocker(spin)]
        spin.setValue(value)  # type: ignore[arg-type]
        if setting.key in self.sliders:
            blockers.append(QSignalBlocker(self.sliders[setting.key]))
            self.sliders[setting.key].setValue(round(value / setting.step))
        del blockers

    def _begin_drag(self) -> None:
        self._drag = next(self._drags)

    def _end_drag(self) -> None:
        self._drag = None

    def _changed(self, setting: Setting, value: float) -> None:
        """A widget's value changed: mirror it on the row's other widget and ask for the new settings."""
        if self._object is None:
            return
        self._show_value(setting, value)
        matte = setting.write(self._object.matte, value)
        if matte != self._object.matte:
            self.matte_requested.emit(self._object.id, matte, self._drag)


def add_matte_dock(window: MainWindow) -> MattePanel:
    """The Matte dock under the objects, kept showing the current object of the window's editor."""
    panel = MattePanel()
    dock = QDockWidget("Matte", window)
    dock.setObjectName("matte")
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    state, editor = window.state, window.editor
    unsubscribe: list[Callable[[], None]] = []

    def refresh(_value: object = None) -> None:
        panel.show_object(state.current_object, editable=not state.busy)

    def on_stack(event: StackEvent) -> None:
        if any(ChangeKind.OBJECTS in change.kinds for change in event.changes):
            refresh()

    def on_document(doc: Document | None) -> None:
        for stop in unsubscribe:
            stop()
        unsubscribe.clear()
        if doc is not None:
            unsubscribe.append(doc.stack.add_listener(on_stack))
        refresh()

    def request(object_id: int, matte: MatteOps, drag: int | None) -> None:
        if not editor.set_matte(object_id, matte, drag):
            refresh()  # refused: show the settings the object still has

    state.connect("document", on_document)
    state.connect("object_id", refresh)
    state.connect("run", refresh)
    panel.matte_requested.connect(request)
    return panel
