"""The timeline: scrub, step, play at the clip's rate, set an in/out range, see which frames carry prompts or masks.

One painted strip: a ruler labelled with the frame numbers the exported files carry (or timecode), the in/out
band, the current object's marks (yellow: prompted, blue: masked) and one coverage row per object in its colour,
and the playhead. A click or drag anywhere jumps to that frame; the wheel zooms around the cursor, Shift+wheel (or
the scroll bar under a zoomed strip) scrolls. The geometry is roto.editor.timeline's TimelineScale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollBar, QStyle, QToolButton, QVBoxLayout, QWidget

from roto.editor.coverage import FrameRuns
from roto.editor.timeline import TimelineScale, timecode

PROMPT_MARK = QColor(255, 200, 60)
MASK_MARK = QColor(90, 160, 255)
RANGE_FILL = QColor(255, 255, 255, 28)
RANGE_EDGE = QColor(120, 220, 255)
RULER = QColor(170, 170, 170)
PLAYHEAD = QColor(255, 90, 90)
RULER_PX, MARKS_PX, COVERAGE_ROW_PX = 18, 12, 5
LABEL_SPACING_PX = 64
ZOOM_STEP = 1.25
SCROLL_UNITS = 1000  # the scroll bar's resolution across the hidden part of the shot


@dataclass(frozen=True)
class Coverage:
    """One object's row under the marks: the frames that have a mask, in the object's colour."""

    color: tuple[int, int, int]
    frames: FrameRuns  # kept up to date by the editor's ShotMarks: the strip only paints it


class TimelineView(QWidget):
    """The painted strip; emits `frame_picked` for clicks and drags, `scale_changed` after zooming, and
    `scrub_finished` when the button comes up (`scrubbing` is True from the press until then)."""

    frame_picked = Signal(int)
    scale_changed = Signal()
    scrub_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = TimelineScale(0, 1)
        self.frame = 0
        self.in_out: tuple[int, int] | None = None
        self.prompted = FrameRuns()
        self.masked = FrameRuns()
        self.rows: tuple[Coverage, ...] = ()
        self.numbers: Sequence[int] = ()
        self.fps = 24.0
        self.show_timecode = False
        self.scrubbing = False  # the button is down: the frames picked meanwhile may be shown as previews
        self.setMouseTracking(False)
        self._fit_height()

    def _fit_height(self) -> None:
        self.setFixedHeight(RULER_PX + MARKS_PX + len(self.rows) * COVERAGE_ROW_PX + 2)

    def set_rows(self, rows: Sequence[Coverage]) -> None:
        self.rows = tuple(rows)
        self._fit_height()
        self.update()

    def label(self, index: int) -> str:
        """What the ruler calls frame `index`: its number in the media (what export files carry) or timecode."""
        if self.show_timecode:
            return timecode(index, self.fps)
        return str(self.numbers[index] if index < len(self.numbers) else index)

    def set_scale(self, scale: TimelineScale) -> None:
        if scale != self.scale:
            self.scale = scale
            self.update()
            self.scale_changed.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.scale = TimelineScale(
            self.scale.frame_count, max(1, self.width()), self.scale.start, self.scale.span
        )
        self.set_scale(self.scale.showing(self.frame))
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.scale.frame_count == 0:
            return
        painter = QPainter(self)
        scale, height, cell = self.scale, self.height(), self.scale.px_per_frame
        if self.in_out is not None:
            x0, x1 = scale.left(self.in_out[0]), scale.left(self.in_out[1] + 1)
            painter.fillRect(QRectF(x0, 0, x1 - x0, height), RANGE_FILL)
            painter.fillRect(QRectF(x0, 0, 2, height), RANGE_EDGE)
            painter.fillRect(QRectF(x1 - 2, 0, 2, height), RANGE_EDGE)
        painter.setPen(RULER)
        for frame in scale.ticks(LABEL_SPACING_PX):
            x = scale.x(frame)
            painter.drawLine(int(x), RULER_PX - 5, int(x), RULER_PX)
            painter.drawText(QRectF(x + 3, 0, LABEL_SPACING_PX, RULER_PX - 2), self.label(frame))
        self._paint_runs(painter, self.masked, MASK_MARK, RULER_PX + MARKS_PX - 4, 4)
        self._paint_runs(painter, self.prompted, PROMPT_MARK, RULER_PX + 2, MARKS_PX - 6)
        for row, coverage in enumerate(self.rows):
            top = RULER_PX + MARKS_PX + row * COVERAGE_ROW_PX
            self._paint_runs(painter, coverage.frames, QColor(*coverage.color), top, COVERAGE_ROW_PX - 1)
        x = scale.left(self.frame)
        painter.fillRect(
            QRectF(x, 0, max(2.0, cell), height), QColor(PLAYHEAD.red(), PLAYHEAD.green(), 60, 90)
        )
        painter.fillRect(QRectF(scale.x(self.frame) - 1, 0, 2, height), PLAYHEAD)
        painter.end()

    def _paint_runs(
        self, painter: QPainter, runs: FrameRuns, color: QColor, top: float, height: float
    ) -> None:
        shown = self.scale.visible()
        for first, last in runs.runs():
            if last < shown.start or first >= shown.stop:
                continue
            x0, x1 = self.scale.left(first), self.scale.left(last + 1)
            painter.fillRect(QRectF(x0, top, max(2.0, x1 - x0), height), color)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.scrubbing = True
            self.frame_picked.emit(self.scale.frame_at(event.position().x()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.scrubbing:
            self.scrubbing = False
            self.scrub_finished.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.frame_picked.emit(self.scale.frame_at(event.position().x()))

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120
        if not steps:
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier or delta.x():
            self.set_scale(self.scale.scrolled(-steps * self.scale.visible_span / 10))
        else:
            self.set_scale(self.scale.zoomed(ZOOM_STEP**steps, event.position().x()))
        event.accept()


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
        self.view = TimelineView()
        self.view.setToolTip(
            "Click or drag to scrub; wheel zooms, Shift+wheel scrolls. Yellow: frames with prompts; blue: frames "
            "with masks; rows: each object's masks; shaded band: the in/out range (I / O)"
        )
        self.view.frame_picked.connect(self.set_frame)
        self.view.scale_changed.connect(self._sync_scroll_bar)
        self.scroll_bar = QScrollBar(Qt.Orientation.Horizontal)
        self.scroll_bar.setRange(0, SCROLL_UNITS)
        self.scroll_bar.valueChanged.connect(self._on_scrolled)
        self.scroll_bar.hide()
        self.label = QLabel()
        self.label.setMinimumWidth(170)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.view)
        column.addWidget(self.scroll_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.play_button)
        layout.addLayout(column, 1)
        layout.addWidget(self.label)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self.set_clip(0, 24.0, ())

    def set_clip(self, frame_count: int, fps: float, frame_numbers: Sequence[int]) -> None:
        """`frame_numbers` are what frames are called outside Roto: the ruler and the label show them."""
        self.stop()
        self.view.numbers, self.view.fps = frame_numbers, fps
        self._timer.setInterval(max(1, round(1000 / fps)) if fps > 0 else 40)
        self.view.frame, self.view.in_out = 0, None
        self.view.set_scale(TimelineScale(frame_count, max(1, self.view.width())))
        self.setEnabled(frame_count > 0)
        self._update_label()

    @property
    def last_frame(self) -> int:
        return max(0, self.view.scale.frame_count - 1)

    def set_marks(self, prompted: FrameRuns, masked: FrameRuns) -> None:
        """The current object's marks (live: the editor updates them in place, then calls this to repaint)."""
        self.view.prompted, self.view.masked = prompted, masked
        self.view.update()

    def set_timecode(self, shown: bool) -> None:
        self.view.show_timecode = shown
        self.view.update()
        self._update_label()

    def zoom_by(self, factor: float) -> None:
        """Zoom around the playhead (the View menu's keys; the wheel zooms around the cursor)."""
        self.view.set_scale(self.view.scale.zoomed(factor, self.view.scale.x(self.frame)))

    # -- in/out range ----------------------------------------------------------------------------------

    @property
    def in_out(self) -> tuple[int, int] | None:
        """The range set with I / O (inclusive), or None when the whole shot is meant."""
        return self.view.in_out

    @property
    def frame_range(self) -> tuple[int, int]:
        """The in/out range, or the whole shot when none is set."""
        return self.in_out or (0, self.last_frame)

    def set_in(self, frame: int | None = None) -> None:
        """In point at `frame` (the current frame by default); an out point before it moves to the end."""
        first = self.frame if frame is None else frame
        last = self.in_out[1] if self.in_out is not None else self.last_frame
        self.set_range(first, last if last >= first else self.last_frame)

    def set_out(self, frame: int | None = None) -> None:
        """Out point at `frame` (the current frame by default); an in point after it moves to the start."""
        last = self.frame if frame is None else frame
        first = self.in_out[0] if self.in_out is not None else 0
        self.set_range(first if first <= last else 0, last)

    def clear_range(self) -> None:
        self.set_range(None, None)

    def set_range(self, first: int | None, last: int | None) -> None:
        whole = (0, self.last_frame)
        in_out = None if first is None or last is None or (first, last) == whole else (first, last)
        if in_out == self.view.in_out:
            return
        self.view.in_out = in_out
        self.view.update()
        self._update_label()
        self.range_changed.emit()

    # -- playhead and playback ---------------------------------------------------------------------------

    @property
    def frame(self) -> int:
        return self.view.frame

    def set_frame(self, frame: int) -> None:
        frame = min(max(frame, 0), self.last_frame)
        self.view.set_scale(self.view.scale.showing(frame))  # the playhead never leaves the view
        if frame == self.view.frame:
            return
        self.view.frame = frame
        self.view.update()
        self._update_label()
        self.frame_changed.emit(frame)

    def step(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

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
        if on and self.last_frame > 0:
            if self.frame == self.last_frame:
                self.set_frame(0)
            self._timer.start()
        else:
            self._timer.stop()
            if on:
                self.play_button.setChecked(False)

    def _advance(self) -> None:
        if self.frame >= self.last_frame:
            self.stop()
        else:
            self.step(1)

    def _sync_scroll_bar(self) -> None:
        scale = self.view.scale
        self.scroll_bar.setVisible(scale.zoomed_in)
        if not scale.zoomed_in:
            return
        hidden = scale.frame_count - scale.visible_span
        self.scroll_bar.blockSignals(True)
        self.scroll_bar.setPageStep(max(1, round(SCROLL_UNITS * scale.visible_span / scale.frame_count)))
        self.scroll_bar.setValue(round(SCROLL_UNITS * scale.start / hidden))
        self.scroll_bar.blockSignals(False)

    def _on_scrolled(self, value: int) -> None:
        scale = self.view.scale
        start = value / SCROLL_UNITS * (scale.frame_count - scale.visible_span)
        self.view.set_scale(scale.scrolled(start - scale.start))

    def _update_label(self) -> None:
        total = self.last_frame + 1 if self.isEnabled() else 0
        frame = self.frame
        name = self.view.label(frame)
        suffix = "" if name == str(frame) else f"  ({name})" if self.view.show_timecode else f"  (#{name})"
        in_out = f"  [in {self.in_out[0] + 1}–out {self.in_out[1] + 1}]" if self.in_out else ""
        self.label.setText(f"Frame {frame + 1 if total else 0} / {total}{suffix}{in_out}")
