"""What every opened shot offers the engine and the UI, whatever it was decoded from."""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from roto.errors import MediaError
from roto.media.cache import FrameCache


def media_id_for(path: Path, *parts: object) -> str:
    """Changes when the file is replaced or edited, so cached embeddings never outlive their pixels."""
    stat = path.stat()
    text = "|".join(str(p) for p in (path.resolve(), stat.st_size, stat.st_mtime_ns, *parts))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class MediaSource(ABC):
    """A shot as frames 0..frame_count-1 in presentation order, decoded to RGB uint8 (H, W, 3).

    Reads go through a byte-bounded `FrameCache`. Every public read holds a per-source lock, so a worker
    thread and the UI thread may both use one source: calls are serialised, never interleaved (a decoder
    cannot be shared concurrently). For parallel decoding open one source per thread.
    """

    def __init__(self, path: Path, cache: FrameCache | None, cache_bytes: int) -> None:
        self._path = path
        self._owns_cache = cache is None
        self._cache = cache if cache is not None else FrameCache(cache_bytes)
        self._lock = threading.RLock()
        self._closed = False

    # -- description -------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The file, or for an image sequence its first file."""
        return self._path

    @property
    @abstractmethod
    def media_id(self) -> str:
        """Stable across sessions while the media is unchanged: the engine keys its embedding cache on it."""

    @property
    @abstractmethod
    def frame_count(self) -> int: ...

    @property
    @abstractmethod
    def fps(self) -> float:
        """Nominal rate; per-frame truth for variable-rate clips is `frame_times`."""

    @property
    @abstractmethod
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames `read` returns, i.e. after rotation metadata is applied."""

    @property
    @abstractmethod
    def frame_times(self) -> np.ndarray:
        """Seconds of each frame from the first one (float64, one per frame, increasing).

        Read-only and computed once per source, so asking per frame costs nothing.
        """

    @property
    @abstractmethod
    def frame_numbers(self) -> tuple[int, ...]:
        """The number each frame carries outside Roto (a sequence's file numbers, 0.. for a video).

        Computed once per source, so asking per frame costs nothing.
        """

    @property
    @abstractmethod
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end."""

    @property
    def timecode(self) -> str | None:
        """Start timecode (SMPTE "HH:MM:SS:FF") when the container records one."""
        return None

    @property
    def cache(self) -> FrameCache:
        return self._cache

    # -- reading -----------------------------------------------------------------------------------

    def read(self, index: int) -> np.ndarray:
        """Frame `index` as a read-only RGB uint8 array of shape (height, width, 3)."""
        with self._lock:
            self._check_open()
            index = self._check_index(index)
            key = (self.media_id, index)
            frame = self._cache.get(key)
            if frame is None:
                frame = self._cache.put(key, self._decode(index))
            return frame

    def thumbnail(self, index: int, max_side: int) -> np.ndarray:
        """Frame `index` shrunk so its longer side is at most `max_side`, cached apart from full frames.

        From the full frame when it is cached; otherwise decoded straight to the small size where the source can
        (a video converts only the small picture: a fraction of a 4K frame's conversion), and not cached at full
        size. Bilinear: a preview while scrubbing, where area averaging cost as much as the decoding.
        """
        if max_side < 1:
            raise ValueError(f"thumbnail max_side must be >= 1, got {max_side}")
        with self._lock:
            self._check_open()
            index = self._check_index(index)
            key = (self.media_id, "thumbnail", max_side, index)
            thumb = self._cache.get(key)
            if thumb is None:
                width, height = self.size
                scale = min(1.0, max_side / max(height, width))
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                full = self._cache.get((self.media_id, index))
                if full is not None:
                    small = cv2.resize(full, size, interpolation=cv2.INTER_LINEAR)
                else:
                    small = self._decode_small(index, size)
                thumb = self._cache.put(key, small)
            return thumb

    def _decode_small(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Frame `index` (already validated) at `size` (width, height); by default the full frame, resized."""
        return cv2.resize(self.read(index), size, interpolation=cv2.INTER_LINEAR)

    @abstractmethod
    def _decode(self, index: int) -> np.ndarray:
        """Decode frame `index` (already validated) without consulting the cache."""

    # -- lifetime ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the decoder and (unless shared) the cache; later reads raise MediaError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._release()
            if self._owns_cache:
                self._cache.clear()

    @abstractmethod
    def _release(self) -> None: ...

    def __len__(self) -> int:
        return self.frame_count

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError(f"{self._path}: the media was closed; open it again to read frames")

    def _check_index(self, index: int) -> int:
        if not isinstance(index, int | np.integer) or not 0 <= index < self.frame_count:
            raise MediaError(
                f"{self._path}: frame {index} does not exist (valid frames are 0..{self.frame_count - 1})"
            )
        return int(index)
