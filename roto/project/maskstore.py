"""Content-addressed, lazily decoded mask storage with a bounded cache of decoded masks.

A blob lives either in the project's ``masks/`` folder (read only when a mask is asked for) or, until the
next save, in memory, compressed. Decoded masks are kept in an LRU bounded in bytes, so memory stays flat
however long the shot: the document and the undo history only ever hold digests.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np

from roto.errors import ProjectError
from roto.project.maskcodec import MAX_BLOB_BYTES, blob_digest, decode_mask, encode_mask

MASK_SUFFIX = ".rle"
DIGEST_PATTERN = re.compile(r"[0-9a-f]{32}")
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
"""About thirty decoded 4K masks: enough to scrub around the current frame for every object."""


def mask_file_name(digest: str) -> str:
    """File name of a blob in ``masks/``; only well-formed digests get one, so none can leave that folder."""
    if not DIGEST_PATTERN.fullmatch(digest):
        raise ProjectError(f"{digest!r} is not a mask digest (32 lowercase hex digits)")
    return digest + MASK_SUFFIX


class MaskStore:
    """Blobs by digest, from disk or memory, and a byte-bounded LRU of decoded masks."""

    def __init__(self, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.cache_bytes = cache_bytes
        self._folder: Path | None = None
        self._on_disk: set[str] = set()
        self._pending: dict[str, bytes] = {}
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cached_bytes = 0

    @property
    def folder(self) -> Path | None:
        """The ``masks/`` folder blobs are read from, or None for a project never saved."""
        return self._folder

    @property
    def pending_bytes(self) -> int:
        """Memory held by compressed masks not yet saved."""
        return sum(len(blob) for blob in self._pending.values())

    def attach(self, folder: Path, on_disk: set[str]) -> None:
        """Read blobs from ``folder`` from now on; blobs now saved there leave memory."""
        self._folder = folder
        self._on_disk = set(on_disk)
        for digest in self._on_disk.intersection(self._pending):
            del self._pending[digest]

    def known(self) -> set[str]:
        """Every digest this store can produce (the document and undo history may reference any of them)."""
        return self._on_disk | set(self._pending)

    def retain(self, digest: str) -> None:
        """Copy a saved blob into memory before its file is deleted: undo history may still need it."""
        if digest in self._on_disk and digest not in self._pending:
            self._pending[digest] = self.blob(digest)
        self._on_disk.discard(digest)

    def put(self, mask: np.ndarray) -> str:
        """Store a bool HxW mask, returning its digest (identical masks share one blob)."""
        blob = encode_mask(mask)
        digest = blob_digest(blob)
        if digest not in self._on_disk:
            self._pending.setdefault(digest, blob)
        self._remember(digest, np.array(mask, dtype=np.bool_, order="C"))
        return digest

    def blob(self, digest: str) -> bytes:
        """The encoded bytes of a mask, checked against their digest."""
        pending = self._pending.get(digest)
        if pending is not None:
            return pending
        if self._folder is None or digest not in self._on_disk:
            raise ProjectError(f"mask {digest} is not in this project")
        path = self._folder / mask_file_name(digest)
        try:
            size = path.stat().st_size
            if size > MAX_BLOB_BYTES:
                raise ProjectError(
                    f"{path}: mask file is {size} bytes, more than the {MAX_BLOB_BYTES} allowed"
                )
            blob = path.read_bytes()
        except OSError as exc:
            raise ProjectError(f"{path}: cannot read mask file ({exc.strerror or exc})") from exc
        if blob_digest(blob) != digest:
            raise ProjectError(f"{path}: mask file is damaged (its content does not match its name)")
        return blob

    def get(self, digest: str, shape: tuple[int, int]) -> np.ndarray:
        """The decoded mask (read-only: copy it to edit), from the cache or decoded now."""
        mask = self._cache.get(digest)
        if mask is not None:
            self._cache.move_to_end(digest)
        else:
            folder = self._folder if digest in self._on_disk else None
            source = str(folder / mask_file_name(digest)) if folder is not None else f"mask {digest}"
            mask = decode_mask(self.blob(digest), shape, source)
            self._remember(digest, mask)
        if mask.shape != tuple(shape):
            raise ProjectError(
                f"mask {digest} is {mask.shape[0]}x{mask.shape[1]}, expected {shape[0]}x{shape[1]}"
            )
        return mask

    def _remember(self, digest: str, mask: np.ndarray) -> None:
        mask.flags.writeable = False
        if digest in self._cache:
            self._cache.move_to_end(digest)
            return
        self._cache[digest] = mask
        self._cached_bytes += mask.nbytes
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, evicted = self._cache.popitem(last=False)
            self._cached_bytes -= evicted.nbytes
