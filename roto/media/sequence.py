"""Numbered image sequences (and single stills) as a MediaSource."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from roto.errors import MediaError
from roto.media.cache import DEFAULT_CACHE_BYTES, FrameCache
from roto.media.image_io import read_image_rgb
from roto.media.sequence_files import SequenceFiles, find_sequence
from roto.media.source import MediaSource, media_id_for

DEFAULT_SEQUENCE_FPS = 24.0
"""Image files carry no rate; film's 24 is the usual assumption and the caller can pass the real one."""


class ImageSequenceSource(MediaSource):
    """Frame i is the i-th file present in number order: gaps in the numbering are skipped, not filled.

    Skipping keeps every frame a real picture (no held duplicates for the model to segment twice); gaps
    are listed in `missing_numbers` and each frame keeps its file number in `frame_numbers` and its time in
    `frame_times` (from the numbers, so a gap shows as a jump in time).
    All files must share the first one's size.
    """

    def __init__(
        self,
        path: Path,
        *,
        fps: float = DEFAULT_SEQUENCE_FPS,
        cache: FrameCache | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"a sequence's fps must be > 0, got {fps}")
        self._files: SequenceFiles = find_sequence(path)
        super().__init__(self._files.paths[0], cache, cache_bytes)
        self._fps = fps
        self._media_id = media_id_for(self._files.paths[0], self._files.pattern, *self._files.numbers)
        first = self.read(0)
        self._size = (first.shape[1], first.shape[0])

    @property
    def media_id(self) -> str:
        return self._media_id

    @property
    def pattern(self) -> str:
        return self._files.pattern

    @property
    def missing_numbers(self) -> tuple[int, ...]:
        """Frame numbers absent between the first and last file."""
        return self._files.missing

    @property
    def frame_count(self) -> int:
        return len(self._files.paths)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @cached_property
    def frame_times(self) -> np.ndarray:
        """Computed once (read-only): export asks for one frame's time at a time."""
        numbers = np.asarray(self._files.numbers, dtype=np.float64)
        times = (numbers - numbers[0]) / self._fps
        times.flags.writeable = False
        return times

    @property
    def frame_numbers(self) -> tuple[int, ...]:
        return self._files.numbers

    @property
    def duration(self) -> float:
        return (self._files.numbers[-1] - self._files.numbers[0] + 1) / self._fps

    def _decode(self, index: int) -> np.ndarray:
        path = self._files.paths[index]
        image = read_image_rgb(path)
        if index and (image.shape[1], image.shape[0]) != self._size:
            raise MediaError(
                f"{path}: is {image.shape[1]}x{image.shape[0]} but the sequence {self.pattern} is "
                f"{self._size[0]}x{self._size[1]}; every frame must have the same size"
            )
        return image

    def _release(self) -> None:
        """Nothing stays open between reads."""
