"""A byte-bounded LRU of decoded frames, so scrubbing stays fast and memory does not grow with clip length."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from roto.lru import ByteLRU, nbytes

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
"""About 85 frames of 1080p RGB: a few seconds of scrubbing, small next to model memory."""


class FrameCache:
    """Least-recently-used arrays, evicted once their total size passes `max_bytes`.

    Bounded by bytes rather than frame count because a 4K frame weighs 4x a 1080p one. Arrays are stored
    read-only so a caller cannot corrupt what the next caller gets. Safe to share between threads and sources
    (keys must then tell sources apart, e.g. start with the source's `media_id`).
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._items: ByteLRU[Hashable, np.ndarray] = ByteLRU(max_bytes, nbytes)

    @property
    def max_bytes(self) -> int:
        return self._items.max_bytes

    @property
    def current_bytes(self) -> int:
        return self._items.nbytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> np.ndarray | None:
        return self._items.get(key)

    def put(self, key: Hashable, array: np.ndarray) -> np.ndarray:
        """Store `array` (made read-only) and return it; an array larger than the whole cache is not kept."""
        array.setflags(write=False)
        self._items.put(key, array)
        return array

    def clear(self) -> None:
        self._items.clear()
