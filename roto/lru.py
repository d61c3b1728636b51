"""One least-recently-used store bounded by bytes, for every cache of pictures, masks, embeddings and mattes.

Bounded by bytes rather than items because a 4K item weighs four 1080p ones: a count that suits one clip would
exhaust memory on another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """Items by key, least recently used out once their sizes add up to more than `max_bytes`; thread-safe.

    An item larger than the whole bound is not kept: it would push out everything, then itself. Lowering
    `max_bytes` takes effect at the next `put` (or `shrink`).
    """

    def __init__(self, max_bytes: int, size: Callable[[V], int]) -> None:
        if max_bytes < 0:
            raise ValueError(f"cache size must be >= 0 bytes, got {max_bytes}")
        self.max_bytes = max_bytes
        self.evictions = 0
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The item, now the most recently used; None when not held."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: K, item: V, keep: Callable[[K], bool] | None = None) -> bool:
        """Hold `item` under `key` (replacing what was there) as the most recently used; False when it is larger
        than the whole bound and so not held. Eviction passes over the keys `keep` names."""
        size = self._size(item)
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._bytes -= self._size(previous)
            if size > self.max_bytes:
                return False
            self._items[key] = item
            self._bytes += size
            self._evict(keep)
        return True

    def shrink(self) -> None:
        """Evict down to `max_bytes` now (after it was lowered)."""
        with self._lock:
            self._evict(None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _evict(self, keep: Callable[[K], bool] | None) -> None:
        while self._bytes > self.max_bytes:
            victim = next((key for key in self._items if keep is None or not keep(key)), None)
            if victim is None:
                return
            self._bytes -= self._size(self._items.pop(victim))
            self.evictions += 1


def nbytes(item: Any) -> int:
    """The size of an array, or of anything that states its own as `nbytes` (embeddings, mattes)."""
    return int(item.nbytes)
