"""The timeline: scrub, step, play at the clip's rate, set an in/out range, see which frames carry prompts or masks.

Under the slider a coverage bar per object shows, in the object's colour, which frames have a mask. The bars
and the in/out band use the slider's own frame-to-pixel mapping, so they line up with the handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from roto.editor.coverage import FrameRuns

PROMPT_MARK = QColor(255, 200, 60)
MASK_MARK = QColor(90, 160, 255)
RANGE_FILL = QColor(255, 255, 255, 28)
RANGE_EDGE = QColor(120, 220, 255)
COVERAGE_ROW_PX = 5


@dataclass(frozen=True)
class Coverage:
    """One object's row under the slider: the frames that have a mask, in the object's colour."""

    color: tuple[int, int, int]
    frames: FrameRuns  # kept up to date by the editor's ShotMarks: the bar only paints it


class MarkedSlider(QSlider):
    """A horizontal slider with ticks under frames that carry prompts (keyframes) or masks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._prompted = FrameRuns()
        self._masked = FrameRuns()
        self.in_out: tuple[int, int] | None = None
        self.setMinimumHeight(28)

    def set_marks(self, prompted: FrameRuns, masked: FrameRuns) -> None:
        """The current object's marks (live: the editor updates them in place, then calls this to repaint)."""
        self._prompted, self._masked = prompted, masked
        self.update()

    @property
    def prompted(self) -> frozenset[int]:
        return frozenset(self._prompted)

    def frame_mapping(self) -> tuple[int, int]:
        """(left, span): frame f sits at left + sliderPositionFromValue(min, max, f, span), the handle's centre.

        Asked once per paint: every style query costs a call into Qt.
        """
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        return groove.left() + handle.width() // 2, groove.width() - handle.width()

    def frame_x(self, frame: int, mapping: tuple[int, int]) -> int:
        left, span = mapping
        return left + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), frame, span)

    def frame_width(self, mapping: tuple[int, int]) -> int:
        """Pixels per frame (at least one), so single frames stay visible on long shots."""
        count = self.maximum() - self.minimum()
        return max(1, round(mapping[1] / count)) if count else 1

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.maximum() <= self.minimum():
            super().paintEvent(event)
            return
        mapping = self.frame_mapping()
        painter = QPainter(self)
        if self.in_out is not None:
            first, last = self.in_out
            half = self.frame_width(mapping) // 2
            x0, x1 = self.frame_x(first, mapping) - half, self.frame_x(last, mapping) + half
            painter.fillRect(QRect(x0, 0, x1 - x0 + 1, self.height()), RANGE_FILL)
            painter.fillRect(QRect(x0, 0, 2, self.height()), RANGE_EDGE)
            painter.fillRect(QRect(x1 - 1, 0, 2, self.height()), RANGE_EDGE)
        painter.end()
        super().paintEvent(event)
        painter = QPainter(self)
        for runs, color, height in ((self._masked, MASK_MARK, 3), (self._prompted, PROMPT_MARK, 6)):
            for first, last in runs.runs():
                x0, x1 = self.frame_x(first, mapping), self.frame_x(last, mapping)
                painter.fillRect(QRect(x0 - 1, self.height() - height, x1 - x0 + 2, height), color)
        painter.end()


class CoverageBar(QWidget):
    """One thin row per object under the slider, filled where the object has a mask."""

    def __init__(self, slider: MarkedSlider, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._slider = slider
        self._rows: tuple[Coverage, ...] = ()
        self.setFixedHeight(0)

    @property
    def rows(self) -> tuple[Coverage, ...]:
        return self._rows

    def set_rows(self, rows: Sequence[Coverage]) -> None:
        self._rows = tuple(rows)
        self.setFixedHeight(len(self._rows) * COVERAGE_ROW_PX + (2 if self._rows else 0))
        self.setToolTip("Frames with a mask, one row per object" if self._rows else "")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        slider = self._slider
        if slider.maximum() < slider.minimum():
            return
        painter = QPainter(self)
        offset = slider.x() - self.x()  # siblings in one column
        mapping = slider.frame_mapping()
        width = slider.frame_width(mapping)
        for row, coverage in enumerate(self._rows):
            top = 1 + row * COVERAGE_ROW_PX
            color = QColor(*coverage.color)
            for start, stop in coverage.frames.runs():
                x0 = offset + slider.frame_x(start, mapping) - width // 2
                x1 = offset + slider.frame_x(stop, mapping) + (width + 1) // 2
                painter.fillRect(QRect(x0, top, max(1, x1 - x0), COVERAGE_ROW_PX - 1), color)
        painter.end()


class Timeline(QWidget):
    """Emits `frame_changed` whenever the current frame changes, by the user or by playback."""

    frame_changed = Signal(int)
    range_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = QToolButton()
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setCheckable(True)
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = MarkedSlider()
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrow keys belong to the window's step actions
        self.slider.valueChanged.connect(self.frame_changed)
        self.slider.valueChanged.connect(self._update_label)
        self.slider.setToolTip(
            "Drag to scrub. Yellow: frames with prompts; blue: frames with masks; "
            "shaded band: the in/out range (I / O)"
        )
        self.coverage = CoverageBar(self.slider)
        self.label = QLabel()
        self.label.setMinimumWidth(150)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bars = QVBoxLayout()
        bars.setContentsMargins(0, 0, 0, 0)
        bars.setSpacing(0)
        bars.addWidget(self.slider)
        bars.addWidget(self.coverage)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.play_button)
        layout.addLayout(bars, 1)
        layout.addWidget(self.label)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self._numbers: Sequence[int] = ()
        self.set_clip(0, 24.0, ())

    def set_clip(self, frame_count: int, fps: float, frame_numbers: Sequence[int]) -> None:
        """`frame_numbers` are what frames are called outside Roto (shown beside the index)."""
        self.stop()
        self._numbers = frame_numbers
        self._timer.setInterval(max(1, round(1000 / fps)) if fps > 0 else 40)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, frame_count - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.in_out = None
        self.setEnabled(frame_count > 0)
        self._update_label(0)

    # -- in/out range ----------------------------------------------------------------------------------

    @property
    def in_out(self) -> tuple[int, int] | None:
        """The range set with I / O (inclusive), or None when the whole shot is meant."""
        return self.slider.in_out

    @property
    def frame_range(self) -> tuple[int, int]:
        """The in/out range, or the whole shot when none is set."""
        return self.in_out or (0, self.slider.maximum())

    def set_in(self, frame: int | None = None) -> None:
        """In point at `frame` (the current frame by default); an out point before it moves to the end."""
        first = self.frame if frame is None else frame
        last = self.in_out[1] if self.in_out is not None else self.slider.maximum()
        self._set_range(first, last if last >= first else self.slider.maximum())

    def set_out(self, frame: int | None = None) -> None:
        """Out point at `frame` (the current frame by default); an in point after it moves to the start."""
        last = self.frame if frame is None else frame
        first = self.in_out[0] if self.in_out is not None else 0
        self._set_range(first if first <= last else 0, last)

    def clear_range(self) -> None:
        self._set_range(None, None)

    def _set_range(self, first: int | None, last: int | None) -> None:
        whole = (0, self.slider.maximum())
        self.slider.in_out = (
            None if first is None or last is None or (first, last) == whole else (first, last)
        )
        self.slider.update()
        self.coverage.update()
        self._update_label(self.frame)
        self.range_changed.emit()

    @property
    def frame(self) -> int:
        return self.slider.value()

    def set_frame(self, frame: int) -> None:
        self.slider.setValue(frame)

    def step(self, delta: int) -> None:
        self.slider.setValue(self.slider.value() + delta)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def toggle_play(self) -> None:
        self.play_button.setChecked(not self.play_button.isChecked())

    def stop(self) -> None:
        self.play_button.setChecked(False)

    def _on_play_toggled(self, on: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        if on and self.slider.maximum() > 0:
            if self.frame == self.slider.maximum():
                self.set_frame(0)
            self._timer.start()
        else:
            self._timer.stop()
            if on:
                self.play_button.setChecked(False)

    def _advance(self) -> None:
        if self.frame >= self.slider.maximum():
            self.stop()
        else:
            self.step(1)

    def _update_label(self, frame: int) -> None:
        total = self.slider.maximum() + 1 if self.isEnabled() else 0
        number = self._numbers[frame] if frame < len(self._numbers) else frame
        suffix = f"  (#{number})" if number != frame else ""
        in_out = f"  [in {self.in_out[0] + 1}–out {self.in_out[1] + 1}]" if self.in_out else ""
        self.label.setText(f"Frame {frame + 1 if total else 0} / {total}{suffix}{in_out}")
