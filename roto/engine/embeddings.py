"""Per-frame image embeddings, cached so each click runs only the prompt decoder.

The encoder is the expensive step (seconds per frame on a CPU). Its outputs are kept in a memory LRU bounded in
bytes and, optionally, in a disk cache bounded in bytes (`EmbeddingCache.user`: the user cache directory, which
the editor and `roto track` use) so reopening a project needs no re-encode. Keys name the media (path, size and
modification time), the frame and the model (encoder checksum and pre-processing settings), so a different model
or a changed file never reuses a stale embedding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from roto.engine.device import Tensor, tensor_nbytes, to_host
from roto.lru import ByteLRU, nbytes

log = logging.getLogger(__name__)

_ARRAYS = ("image_embed", "high_res_feats_0", "high_res_feats_1")
DISK_FORMAT = 1  # part of every disk key: raise it when what an embedding holds or how it is computed changes
DEFAULT_DISK_BYTES = 2 << 30
CACHE_DIR_ENV = "ROTO_CACHE_DIR"  # overrides the user cache directory (tests point it at a temporary folder)
_STALE_TMP_SECONDS = 3600.0  # a temp file this old was left by a crashed writer
_RESCAN_WRITES = 64  # the disk tier is scanned at least this often: other processes write to the folder too


@dataclass(frozen=True)
class EmbeddingKey:
    """Identifies one encoded frame: media identity, frame index and model weights."""

    media_id: str
    frame: int
    model: str

    def digest(self) -> str:
        text = f"{self.media_id}\0{self.frame}\0{self.model}\0{DISK_FORMAT}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


@dataclass(frozen=True)
class FrameEmbedding:
    """The image encoder's outputs for one frame, plus the frame's size (prompts are given in its pixels)."""

    image_embed: Tensor  # numpy, or an OrtValue in GPU memory (see roto.engine.device)
    high_res_feats_0: Tensor
    high_res_feats_1: Tensor
    frame_hw: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return sum(tensor_nbytes(getattr(self, name)) for name in _ARRAYS)


@dataclass
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    evictions: int = 0


def user_cache_root() -> Path:
    """The user cache directory (`~/.cache/roto` on Linux), or $ROTO_CACHE_DIR when set."""
    return Path(os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir("roto", appauthor=False))


def default_disk_dir() -> Path:
    """`embeddings` in the user cache directory."""
    return user_cache_root() / "embeddings"


class EmbeddingCache:
    """Thread-safe LRU of embeddings bounded in bytes, with an optional bounded disk tier."""

    def __init__(
        self,
        max_bytes: int = 1 << 30,
        disk_dir: Path | None = None,
        max_disk_bytes: int = 4 << 30,
    ) -> None:
        if max_bytes < 0 or max_disk_bytes < 0:
            raise ValueError("cache sizes must be >= 0 bytes")
        self.max_disk_bytes = max_disk_bytes
        self.stats = CacheStats()
        self._items: ByteLRU[EmbeddingKey, FrameEmbedding] = ByteLRU(max_bytes, nbytes)
        self._lock = threading.Lock()  # guards the stats and the disk tier's bookkeeping
        # The disk tier's bytes as of its last scan plus this cache's writes since, and those writes' count.
        self._disk_bytes: int | None = None
        self._disk_writes = 0
        if disk_dir is not None:
            try:
                disk_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # an unwritable cache folder costs re-encodes, never segmentation
                log.warning("embedding disk cache off: cannot create %s: %s", disk_dir, exc)
                disk_dir = None
        self.disk_dir = disk_dir

    @classmethod
    def user(cls, max_bytes: int = 1 << 30, max_disk_bytes: int = DEFAULT_DISK_BYTES) -> EmbeddingCache:
        """The cache the editor and `roto track` use: `max_bytes` in RAM over a disk tier in `default_disk_dir()`
        bounded to `max_disk_bytes` (least recently used files go first)."""
        return cls(max_bytes, default_disk_dir(), max_disk_bytes)

    @property
    def max_bytes(self) -> int:
        return self._items.max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        """A smaller bound takes effect at the next encode."""
        self._items.max_bytes = value

    @property
    def memory_bytes(self) -> int:
        return self._items.nbytes

    def __contains__(self, key: EmbeddingKey) -> bool:
        return key in self._items

    def get(self, key: EmbeddingKey) -> FrameEmbedding | None:
        found = self._items.get(key)
        if found is not None:
            with self._lock:
                self.stats.memory_hits += 1
            return found
        found = self._read_disk(key)
        with self._lock:
            if found is None:
                self.stats.misses += 1
                return None
            self.stats.disk_hits += 1
        self._remember(key, found)
        return found

    def put(self, key: EmbeddingKey, embedding: FrameEmbedding) -> None:
        self._remember(key, embedding)
        self._write_disk(key, embedding)

    def _remember(self, key: EmbeddingKey, embedding: FrameEmbedding) -> None:
        self._items.put(key, embedding)
        self.stats.evictions = self._items.evictions

    # --- disk tier -----------------------------------------------------------------------------------------

    def _path(self, key: EmbeddingKey) -> Path | None:
        return None if self.disk_dir is None else self.disk_dir / f"{key.digest()}.npz"

    def _read_disk(self, key: EmbeddingKey) -> FrameEmbedding | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                embedding = FrameEmbedding(
                    image_embed=np.array(data["image_embed"]),
                    high_res_feats_0=np.array(data["high_res_feats_0"]),
                    high_res_feats_1=np.array(data["high_res_feats_1"]),
                    frame_hw=(int(data["frame_hw"][0]), int(data["frame_hw"][1])),
                )
            os.utime(path)  # recency for the disk LRU
            return embedding
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # truncated or foreign
            log.warning("discarding unreadable cached embedding %s: %s", path, exc)
            path.unlink(missing_ok=True)
            return None

    def _write_disk(self, key: EmbeddingKey, embedding: FrameEmbedding) -> None:
        """Write to a temp file in the same folder, then rename: a reader never sees a half-written file."""
        path = self._path(key)
        if path is None or self.max_disk_bytes == 0:
            return
        assert self.disk_dir is not None
        tmp: str | None = None
        try:
            arrays: dict[str, Any] = {name: to_host(getattr(embedding, name)) for name in _ARRAYS}
            fd, tmp = tempfile.mkstemp(dir=self.disk_dir, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, frame_hw=np.array(embedding.frame_hw), **arrays)
            size = os.path.getsize(tmp)
            os.replace(tmp, path)
            tmp = None
            self._note_written(size)
        except OSError as exc:  # a full or read-only cache disk must never break segmentation
            log.warning("cannot write embedding cache in %s: %s", self.disk_dir, exc)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _note_written(self, size: int) -> None:
        """Scan the disk tier (and trim it) only when this write may take it past its bound, and every
        `_RESCAN_WRITES` writes: a scan stats every file, about 20 ms of Python for a thousand files, which the
        editor's engine thread paid for each frame it tracked, holding the interpreter lock the window needs."""
        with self._lock:
            self._disk_writes += 1
            known = self._disk_bytes
            if (
                known is not None
                and known + size <= self.max_disk_bytes
                and self._disk_writes < _RESCAN_WRITES
            ):
                self._disk_bytes = known + size
                return
            self._disk_writes = 0
        total = self._trim_disk()
        with self._lock:
            self._disk_bytes = total

    def _trim_disk(self) -> int:
        """Drop the least recently used files until the folder fits its bound; the bytes left."""
        assert self.disk_dir is not None
        entries = []
        now = time.time()
        for path in self.disk_dir.glob("*.npz"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        for path in self.disk_dir.glob(".*.tmp"):  # left by a writer that crashed between write and rename
            try:
                if now - path.stat().st_mtime > _STALE_TMP_SECONDS:
                    path.unlink(missing_ok=True)
            except OSError:
                continue
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_disk_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
        return total
