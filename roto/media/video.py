"""Video files decoded through PyAV (FFmpeg): frame-accurate random access, decoder kept in place."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.packet import Packet
from av.stream import Discard
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from roto.errors import MediaError
from roto.media.cache import DEFAULT_CACHE_BYTES, FrameCache
from roto.media.source import MediaSource, media_id_for
from roto.media.video_index import VideoIndex, build_index

_INTERMEDIATE_CACHE_SHARE = 4
"""Frames decoded on the way to a seek target fill up to 1/4 of the cache: stepping backwards is cheap."""

_HELD = 6
"""Decoded frames held for a full-size conversion without decoding: a drag's last preview and those decoded ahead
of it (a 4K frame in 4:2:0 is 12 MB)."""

_MAX_REPORTED_DAMAGE = 10


class VideoSource(MediaSource):
    """One video stream of a file. Frame N is the N-th frame in presentation order (see `VideoIndex`).

    Reading in order decodes forward from where the decoder stands; a jump seeks to the keyframe at or before
    the target and decodes forward to it. Rotation metadata is applied, and every pixel format FFmpeg knows
    (10-bit, grey, alpha, odd sizes) is converted to RGB uint8; alpha is dropped.
    """

    def __init__(
        self, path: Path, *, cache: FrameCache | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        super().__init__(path, cache, cache_bytes)
        self._container = _open_container(path)
        try:
            self._stream = _video_stream(self._container, path)
            self._stream.thread_type = "AUTO"
            self._index: VideoIndex = build_index(self._container, self._stream, path)
            self._media_id = media_id_for(path, self._stream.index)
            self._packets: Iterator[Packet] = iter(())
            self._frames: Iterator[tuple[int, VideoFrame]] = iter(())
            self._next_index: int | None = None
            self._held: OrderedDict[int, VideoFrame] = OrderedDict()  # the last frames asked for, decoded
            self._damaged: set[int] = set()
            self._rotation = 0
            self._decoded_size: tuple[int, int] | None = None
            self._timecode = _find_timecode(self._container)
            self.read(0)  # proves the stream decodes, and settles rotation and size before anyone asks
        except MediaError:
            self._container.close()
            raise
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._container.close()
            raise MediaError(f"{path}: cannot decode the video: {exc}") from exc

    # -- description -------------------------------------------------------------------------------

    @property
    def media_id(self) -> str:
        return self._media_id

    @property
    def frame_count(self) -> int:
        return self._index.frame_count

    @property
    def fps(self) -> float:
        rate = self._stream.average_rate or self._stream.guessed_rate
        if rate:
            return float(rate)
        return self.frame_count / self.duration if self.duration > 0 else 0.0

    @property
    def size(self) -> tuple[int, int]:
        assert self._decoded_size is not None
        width, height = self._decoded_size
        return (height, width) if self._rotation % 180 else (width, height)

    @cached_property
    def frame_times(self) -> np.ndarray:
        """Computed once (read-only): export asks for one frame's time at a time."""
        times = self._index.seconds(self._index.pts - self._index.pts[0])
        times.flags.writeable = False
        return times

    @cached_property
    def frame_numbers(self) -> tuple[int, ...]:
        return tuple(range(self.frame_count))

    @property
    def duration(self) -> float:
        span = self._index.pts[-1] + self._index.durations[-1] - self._index.pts[0]
        return float(self._index.seconds(np.asarray(span)))

    @property
    def timecode(self) -> str | None:
        return self._timecode

    @property
    def rotation(self) -> int:
        """Degrees counter-clockwise the stored pictures were turned to show upright (0, 90, 180 or 270)."""
        return self._rotation

    @property
    def codec(self) -> str:
        return str(self._stream.codec_context.name)

    @property
    def is_variable_frame_rate(self) -> bool:
        spacing = np.diff(self._index.pts)
        return bool(len(spacing)) and int(spacing.max()) != int(spacing.min())

    # -- decoding ----------------------------------------------------------------------------------

    def _decode(self, index: int) -> np.ndarray:
        try:
            return self._to_rgb(self._frame_at(index, keep_passed=True))
        except av.FFmpegError as exc:
            self._next_index = None
            raise MediaError(f"{self._path}: frame {index} cannot be decoded: {exc}") from exc

    def _decode_small(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Only the small picture is converted, and the frames passed on the way are not converted at all: while
        scrubbing a 4K clip the full-size conversion cost more than the decoding."""
        try:
            return self._to_rgb(self._frame_at(index, keep_passed=False), size)
        except av.FFmpegError as exc:
            self._next_index = None
            raise MediaError(f"{self._path}: frame {index} cannot be decoded: {exc}") from exc

    def _frame_at(self, index: int, keep_passed: bool) -> VideoFrame:
        """The decoded frame `index`. The last `_HELD` frames asked for are held (in the decoder's format): the
        full frame asked for after a preview of it (a scrub released there, previews decoded ahead of it since)
        is converted without decoding it again."""
        held = self._held.get(index)
        if held is not None:
            self._held.move_to_end(index)
            return held
        keyframe = self._index.keyframes[self._index.keyframe_at_or_before(index)]
        if self._next_index is None or index < self._next_index or keyframe > self._next_index:
            landed = self._seek(index)
        else:
            landed = self._next_index
        keep_from = max(landed, index - self._intermediate_budget()) if keep_passed else index
        for frame_index, frame in self._frames:
            self._next_index = frame_index + 1
            if frame_index == index:
                self._held[index] = frame
                while len(self._held) > _HELD:
                    self._held.popitem(last=False)
                return frame
            if frame_index > index:
                break
            if frame_index >= keep_from:
                self._cache.put((self._media_id, frame_index), self._to_rgb(frame))
        self._next_index = None
        self._damaged.add(index)
        raise MediaError(
            f"{self._path}: frame {index} cannot be decoded; the file is damaged around frames "
            f"{_describe(self._damaged)}"
        )

    def _seek(self, index: int) -> int:
        """Position the decoder on a keyframe at or before frame `index`; return the frame index it starts at.

        Demuxers may land later than asked (seek tables keyed on dts, missing indexes): the landing keyframe
        is checked and the seek retried one keyframe earlier until it is early enough, and as a last resort
        from the top of the file.
        """
        position = self._index.keyframe_at_or_before(index)
        while True:
            if position >= 0:
                self._container.seek(
                    self._index.keyframe_seek_ts[position],
                    stream=self._stream,
                    backward=True,
                    any_frame=False,
                )
            else:
                self._container.seek(0)
            self._packets = self._container.demux(self._stream)
            landing = self._first_keyframe_packet()
            if landing is not None and (landing <= index or position < 0):
                self._frames = self._decoded_frames()
                return landing
            if position < 0:
                raise MediaError(f"{self._path}: no decodable keyframe precedes frame {index}")
            position -= 1

    def _first_keyframe_packet(self) -> int | None:
        """Skip to the first keyframe packet, push it back in front, and return its frame index."""
        for packet in self._packets:
            if packet.size == 0 or not packet.is_keyframe or packet.is_discard:
                continue
            timestamp = packet.pts if packet.pts is not None else packet.dts
            landing = self._index.index_of_pts(timestamp) if timestamp is not None else None
            self._packets = itertools.chain((packet,), self._packets)
            return landing if landing is not None else self.frame_count
        return None

    def _decoded_frames(self) -> Iterator[tuple[int, VideoFrame]]:
        """Frames in presentation order with their index; packets the decoder rejects are noted, skipped."""
        previous = -1
        for packet in self._packets:
            try:
                frames = packet.decode()
            except av.FFmpegError:
                if packet.pts is not None and (damaged := self._index.index_of_pts(packet.pts)) is not None:
                    self._damaged.add(damaged)
                continue
            for frame in frames:
                assert isinstance(frame, VideoFrame)
                found = self._index.index_of_pts(frame.pts) if frame.pts is not None else None
                previous = found if found is not None else previous + 1
                yield previous, frame

    def _to_rgb(self, frame: VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
        """The frame upright as RGB, at `size` (width, height, upright) or its own size."""
        if self._decoded_size is None:
            self._decoded_size = (frame.width, frame.height)
            self._rotation = round(frame.rotation / 90) % 4 * 90
        width, height = self._decoded_size
        if size is not None:
            width, height = size if self._rotation % 180 == 0 else size[::-1]
        rgb: np.ndarray = frame.to_ndarray(format="rgb24", width=width, height=height)
        if self._rotation:
            return np.ascontiguousarray(np.rot90(rgb, k=self._rotation // 90))
        return rgb

    def _intermediate_budget(self) -> int:
        if self._decoded_size is None:
            return 0
        width, height = self._decoded_size
        return self._cache.max_bytes // _INTERMEDIATE_CACHE_SHARE // (width * height * 3)

    def _release(self) -> None:
        self._held.clear()
        self._packets = iter(())
        self._frames = iter(())
        self._container.close()


def _open_container(path: Path) -> InputContainer:
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path}: not a video FFmpeg can read, or truncated ({exc.strerror or exc})"
        ) from exc
    except OSError as exc:
        raise MediaError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    assert isinstance(container, InputContainer)
    return container


def _video_stream(container: InputContainer, path: Path) -> VideoStream:
    streams = [s for s in container.streams.video if s.codec_context is not None]
    if not streams:
        kinds = ", ".join(sorted({str(s.type) for s in container.streams})) or "no"
        raise MediaError(f"{path}: holds {kinds} streams but no video to rotoscope")
    stream = streams[0]
    for other in container.streams:
        if other is not stream:
            other.discard = Discard.all  # demuxing and seeking then skip audio and data packets
    return stream


def _find_timecode(container: InputContainer) -> str | None:
    for metadata in [container.metadata, *(s.metadata for s in container.streams)]:
        if timecode := metadata.get("timecode"):
            return str(timecode)
    return None


def _describe(indices: set[int]) -> str:
    shown = sorted(indices)[:_MAX_REPORTED_DAMAGE]
    more = len(indices) - len(shown)
    return ", ".join(map(str, shown)) + (f" and {more} more" if more > 0 else "")
