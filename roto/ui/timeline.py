"""The timeline: scrub, step, play at the clip's rate, see which frames carry prompts or masks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

PROMPT_MARK = QColor(255, 200, 60)
MASK_MARK = QColor(90, 160, 255)


class MarkedSlider(QSlider):
    """A horizontal slider with ticks under frames that carry prompts (keyframes) or masks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._prompted: frozenset[int] = frozenset()
        self._masked: frozenset[int] = frozenset()
        self.setMinimumHeight(28)

    def set_marks(self, prompted: Iterable[int], masked: Iterable[int]) -> None:
        self._prompted = frozenset(prompted)
        self._masked = frozenset(masked) - self._prompted
        self.update()

    @property
    def prompted(self) -> frozenset[int]:
        return self._prompted

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not (self._prompted or self._masked) or self.maximum() <= self.minimum():
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        left = groove.left() + handle.width() // 2
        painter = QPainter(self)
        for frames, color, height in ((self._masked, MASK_MARK, 3), (self._prompted, PROMPT_MARK, 6)):
            for frame in frames:
                x = left + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), frame, span)
                painter.fillRect(QRect(x - 1, self.height() - height, 2, height), color)
        painter.end()


class Timeline(QWidget):
    """Emits `frame_changed` whenever the current frame changes, by the user or by playback."""

    frame_changed = Signal(int)

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
        self.label = QLabel()
        self.label.setMinimumWidth(150)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
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
        self.setEnabled(frame_count > 0)
        self._update_label(0)

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
        self.label.setText(f"Frame {frame + 1 if total else 0} / {total}{suffix}")
