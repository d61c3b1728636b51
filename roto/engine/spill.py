"""Arrays kept per (object, frame) with a small in-memory LRU and the rest spilled to a private temp folder.

Video propagation must keep every tracked frame's memory and logits reachable (SAM2 may read any of them when
the animator corrects a frame and propagates again), yet its RAM must stay flat however long the shot. Disk is
the right place for the long tail: each entry is written once, read rarely.
"""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from roto.engine.device import Tensor, to_host

Key = tuple[int, int]


class SpillStore:
    """A dict of arrays whose memory holds only the `max_in_memory` most recently used entries.

    Entries may be device tensors (`roto.engine.device`): the in-memory window is then the GPU-side window of
    recent memories, and only an entry leaving it is copied to the host and written out; one read back from disk
    comes back as numpy (the next graph run uploads it)."""

    def __init__(self, max_in_memory: int, bfloat16: bool = False) -> None:
        self.max_in_memory = max(1, max_in_memory)
        self.bfloat16 = bfloat16  # store the upper 16 bits only: exact for bf16-rounded float32 values
        self._memory: OrderedDict[Key, Tensor] = OrderedDict()
        self._on_disk: set[Key] = set()
        self._folder = tempfile.TemporaryDirectory(prefix="roto-spill-")

    def _path(self, key: Key) -> Path:
        return Path(self._folder.name) / f"{key[0]}_{key[1]}.npy"

    def __contains__(self, key: Key) -> bool:
        return key in self._memory or key in self._on_disk

    def __len__(self) -> int:
        return len(self._memory.keys() | self._on_disk)

    @property
    def in_memory(self) -> int:
        return len(self._memory)

    def put(self, key: Key, array: Tensor) -> None:
        self._memory[key] = array
        self._memory.move_to_end(key)
        self._on_disk.discard(key)
        while len(self._memory) > self.max_in_memory:
            old_key, device_old = self._memory.popitem(last=False)
            old = to_host(device_old)
            stored = (old.view(np.uint32) >> np.uint32(16)).astype(np.uint16) if self.bfloat16 else old
            np.save(self._path(old_key), stored, allow_pickle=False)
            self._on_disk.add(old_key)

    def get(self, key: Key) -> Tensor | None:
        found = self._memory.get(key)
        if found is not None:
            self._memory.move_to_end(key)
            return found
        if key not in self._on_disk:
            return None
        stored = np.load(self._path(key), allow_pickle=False)
        if self.bfloat16:
            stored = (stored.astype(np.uint32) << np.uint32(16)).view(np.float32)
        return stored

    def pop(self, key: Key) -> None:
        self._memory.pop(key, None)
        if key in self._on_disk:
            self._on_disk.discard(key)
            self._path(key).unlink(missing_ok=True)

    def close(self) -> None:
        self._memory.clear()
        self._on_disk.clear()
        self._folder.cleanup()
