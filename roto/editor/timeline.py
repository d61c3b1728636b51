"""The timeline's geometry without Qt: which frames are visible, where each one is drawn, where the ruler's labels go.

Every frame owns a cell of equal width; zooming changes how many frames are visible and keeps the frame under the
cursor where it is, scrolling moves the visible window, and neither ever shows space before the first frame or
after the last. Ruler labels fall on round frame counts (1, 2, 5, 10, 20, 50, ...) far enough apart to be read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

MIN_VISIBLE_FRAMES = 10.0  # the deepest zoom: ten frames across the timeline
NICE_STEPS = (1, 2, 5)


@dataclass(frozen=True)
class TimelineScale:
    """Frames [start, start + span) across `width` pixels; span None shows the whole shot."""

    frame_count: int
    width: int
    start: float = 0.0
    span: float | None = None

    @property
    def visible_span(self) -> float:
        whole = float(max(1, self.frame_count))
        return whole if self.span is None else min(whole, max(self.span, min(MIN_VISIBLE_FRAMES, whole)))

    @property
    def px_per_frame(self) -> float:
        return max(1, self.width) / self.visible_span

    @property
    def zoomed_in(self) -> bool:
        return self.visible_span < max(1, self.frame_count)

    def x(self, frame: float) -> float:
        """The centre of the frame's cell, in pixels from the left edge."""
        return (frame - self.start + 0.5) * self.px_per_frame

    def left(self, frame: int) -> float:
        """The left edge of the frame's cell."""
        return (frame - self.start) * self.px_per_frame

    def frame_at(self, x: float) -> int:
        """The frame whose cell holds x, clamped to the shot."""
        frame = math.floor(self.start + x / self.px_per_frame)
        return min(max(frame, 0), max(0, self.frame_count - 1))

    def visible(self) -> range:
        first = max(0, math.floor(self.start))
        return range(first, min(self.frame_count, math.ceil(self.start + self.visible_span)))

    def _clamped(self, start: float, span: float | None) -> TimelineScale:
        scale = replace(self, span=span)
        latest = max(0.0, self.frame_count - scale.visible_span)
        return replace(scale, start=min(max(start, 0.0), latest))

    def zoomed(self, factor: float, anchor_x: float) -> TimelineScale:
        """Zoom in (factor > 1) or out around the frame under `anchor_x`; fully out shows the whole shot."""
        anchor = self.start + anchor_x / self.px_per_frame
        span = self.visible_span / factor
        if span >= self.frame_count:
            return self._clamped(0.0, None)
        span = max(span, MIN_VISIBLE_FRAMES)
        return self._clamped(anchor - anchor_x * span / max(1, self.width), span)

    def scrolled(self, frames: float) -> TimelineScale:
        return self._clamped(self.start + frames, self.span)

    def showing(self, frame: int) -> TimelineScale:
        """The same zoom, scrolled just enough for `frame` to be visible (the playhead never leaves the view)."""
        if frame < self.start:
            return self._clamped(float(frame), self.span)
        if frame + 1 > self.start + self.visible_span:
            return self._clamped(frame + 1 - self.visible_span, self.span)
        return self

    def label_step(self, min_px: float) -> int:
        """The smallest round number of frames between ruler labels at least `min_px` apart."""
        magnitude = 1
        while True:
            for nice in NICE_STEPS:
                step = nice * magnitude
                if step * self.px_per_frame >= min_px:
                    return step
            magnitude *= 10

    def ticks(self, min_px: float) -> list[int]:
        """Frames (0-based) that carry a ruler label: multiples of `label_step` within the visible frames."""
        step = self.label_step(min_px)
        shown = self.visible()
        first = math.ceil(shown.start / step) * step
        return list(range(first, shown.stop, step))


def timecode(index: int, fps: float) -> str:
    """HH:MM:SS:FF of a 0-based frame index at `fps` frames per second (non-drop-frame, rounded rate)."""
    rate = max(1, round(fps))
    seconds, frames = divmod(index, rate)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"
