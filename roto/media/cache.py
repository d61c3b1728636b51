"""A byte-bounded LRU of decoded frames, so scrubbing stays fast and memory does not grow with clip length."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
"""About 85 frames of 1080p RGB: a few seconds of scrubbing, small next to model memory."""


class FrameCache:
    """Least-recently-used arrays, evicted once their total size passes `max_bytes`.

    Bounded by bytes rather than frame count because a 4K frame weighs 4x a 1080p one. Arrays are stored
    read-only so a caller cannot corrupt what the next caller gets. Safe to share between threads and sources
    (keys must then tell sources apart, e.g. start with the source's `media_id`).
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"cache size must be >= 0 bytes, got {max_bytes}")
        self._max_bytes = max_bytes
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def current_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            array = self._items.get(key)
            if array is not None:
                self._items.move_to_end(key)
            return array

    def put(self, key: Hashable, array: np.ndarray) -> np.ndarray:
        """Store `array` (made read-only) and return it; an array larger than the whole cache is not kept."""
        array.setflags(write=False)
        size = array.nbytes
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._bytes -= previous.nbytes
            if size > self._max_bytes:
                return array
            self._items[key] = array
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes
        return array

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
