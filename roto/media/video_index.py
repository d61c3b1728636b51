"""Presentation timestamps and keyframes of a video stream, read by demuxing packets without decoding them.

The index is what makes random access frame-accurate: frame N is the N-th smallest presentation timestamp,
which holds with B-frames (decode order differs from display order), open GOPs and variable frame rate alike.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from roto.errors import MediaError

HEADER_SLACK_FRAMES = 2
"""Frames a header may promise beyond the packets present before the file counts as truncated (or 2%)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoIndex:
    """Timestamps in the stream's time base; keyframes as positions into `pts` (presentation order)."""

    pts: np.ndarray
    """int64, sorted: frame index -> presentation timestamp."""
    durations: np.ndarray
    """int64, the timestamp span of each frame (the last one's from its packet, else the median spacing)."""
    keyframes: tuple[int, ...]
    """Sorted frame indices of the packets flagged as keyframes."""
    keyframe_seek_ts: tuple[int, ...]
    """For each keyframe, a timestamp at or before it to seek to (its dts where known: never above pts)."""
    time_base: Fraction

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def index_of_pts(self, pts: int) -> int | None:
        position = bisect.bisect_left(self.pts, pts)
        if position < len(self.pts) and self.pts[position] == pts:
            return position
        return None

    def keyframe_at_or_before(self, index: int) -> int:
        """Position in `keyframes` of the last keyframe shown no later than frame `index` (0 if none)."""
        return max(0, bisect.bisect_right(self.keyframes, index) - 1)

    def seconds(self, ticks: np.ndarray) -> np.ndarray:
        return ticks.astype(np.float64) * float(self.time_base)


def build_index(container: InputContainer, stream: VideoStream, path: Path) -> VideoIndex:
    """Demux every packet of `stream` once (I/O bound, no decoding) and sort their timestamps."""
    if stream.time_base is None:
        raise MediaError(f"{path}: the video stream has no time base, so its frames cannot be addressed")
    timestamps: list[int] = []
    last_duration = 0
    keyframe_ts: dict[int, int] = {}
    packets = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # end-of-stream flush packets
            packets += 1
            if packet.is_discard:
                continue  # edit-list lead-in that the decoder drops
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is None:
                raise MediaError(
                    f"{path}: the video packets carry no timestamps, so frames cannot be located; "
                    "remux it into .mp4 or .mkv (e.g. `ffmpeg -i in -c copy out.mkv`)"
                )
            timestamps.append(pts)
            last_duration = packet.duration or 0
            if packet.is_keyframe:
                keyframe_ts[pts] = min(pts, packet.dts) if packet.dts is not None else pts
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path}: the file is truncated or damaged "
            f"(reading stopped after {len(timestamps)} frames: {exc})"
        ) from exc
    if not timestamps:
        raise MediaError(f"{path}: the video stream holds no frames")
    declared = stream.frames or 0
    if declared - packets > max(HEADER_SLACK_FRAMES, declared // 50):
        raise MediaError(
            f"{path}: the file is truncated: its header lists {declared} frames but only "
            f"{packets} are present (an interrupted copy or recording?)"
        )
    if (
        declared > packets
    ):  # FFmpeg's own AVI writer can count one frame more than it muxes: trust the packets
        log.warning("%s: the header lists %d frames, %d are present; using those", path, declared, packets)
    pts_sorted = np.unique(np.asarray(timestamps, dtype=np.int64))
    if len(pts_sorted) != len(timestamps):
        raise MediaError(f"{path}: several video frames share one timestamp, so frames cannot be told apart")
    spacing = np.diff(pts_sorted)
    fallback = int(np.median(spacing)) if len(spacing) else 1
    durations = np.append(spacing, last_duration or fallback)
    keyframes = sorted((int(np.searchsorted(pts_sorted, pts)), seek) for pts, seek in keyframe_ts.items())
    if not keyframes or keyframes[0][0] != 0:
        keyframes.insert(0, (0, int(pts_sorted[0])))
    return VideoIndex(
        pts=pts_sorted,
        durations=durations,
        keyframes=tuple(k for k, _ in keyframes),
        keyframe_seek_ts=tuple(s for _, s in keyframes),
        time_base=Fraction(stream.time_base),
    )
