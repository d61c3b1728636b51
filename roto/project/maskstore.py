"""Content-addressed, lazily decoded mask storage with a bounded cache of decoded masks.

A blob lives either in the project's ``masks/`` folder (read only when a mask is asked for) or, until the
next save, in memory, compressed. Decoded masks are kept in an LRU bounded in bytes, so memory stays flat
however long the shot: the document and the undo history only ever hold digests.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from roto.errors import ProjectError
from roto.files import read_regular
from roto.lru import ByteLRU, nbytes
from roto.project.maskcodec import MAX_BLOB_BYTES, EncodedMask, blob_digest, decode_mask

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
    """Blobs by digest, from disk or memory, and a byte-bounded LRU of decoded masks.

    Safe to share between threads (the GUI thread edits while an export thread reads): one lock guards the
    blob tables, the LRU and its byte count. Files are read and masks decoded outside the lock, so a slow read
    on one thread never stalls a cached read on another. Blobs never change once stored (they are addressed by
    their content), so a reader holding a digest always gets the same pixels.
    """

    def __init__(self, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._folder: Path | None = None
        self._on_disk: set[str] = set()
        self._pending: dict[str, bytes] = {}
        self._cache: ByteLRU[str, np.ndarray] = ByteLRU(cache_bytes, nbytes)
        self._lock = threading.RLock()

    @property
    def folder(self) -> Path | None:
        """The ``masks/`` folder blobs are read from, or None for a project never saved."""
        return self._folder

    @property
    def cache_bytes(self) -> int:
        """The bound on `cached_bytes`; a smaller one takes effect at the next mask cached."""
        return self._cache.max_bytes

    @cache_bytes.setter
    def cache_bytes(self, value: int) -> None:
        self._cache.max_bytes = value

    @property
    def cached_bytes(self) -> int:
        """Memory held by decoded masks kept for reading again (bounded by ``cache_bytes``)."""
        return self._cache.nbytes

    @property
    def pending_bytes(self) -> int:
        """Memory held by compressed masks not yet saved."""
        with self._lock:
            return sum(len(blob) for blob in self._pending.values())

    def attach(self, folder: Path, on_disk: set[str]) -> None:
        """Read blobs from ``folder`` from now on; blobs now saved there leave memory."""
        with self._lock:
            self._folder = folder
            self._on_disk = set(on_disk)
            for digest in self._on_disk.intersection(self._pending):
                del self._pending[digest]

    def known(self) -> set[str]:
        """Every digest this store can produce (the document and undo history may reference any of them)."""
        with self._lock:
            return self._on_disk | set(self._pending)

    def retain(self, digest: str) -> None:
        """Copy a saved blob into memory before its file is deleted: undo history may still need it."""
        with self._lock:
            needed = digest in self._on_disk and digest not in self._pending
        blob = self.blob(digest) if needed else None
        with self._lock:
            if blob is not None:
                self._pending.setdefault(digest, blob)
            self._on_disk.discard(digest)

    def put(self, mask: np.ndarray) -> str:
        """Store a bool HxW mask, returning its digest (identical masks share one blob).

        Encodes and hashes on the calling thread; a worker can do that part with ``EncodedMask.from_mask``
        and hand the result to ``put_encoded``.
        """
        return self.put_encoded(EncodedMask.from_mask(mask))

    def put_encoded(self, encoded: EncodedMask) -> str:
        """Store a mask encoded elsewhere (``EncodedMask.from_mask``), returning its digest.

        The blob is checked against its digest (BLAKE2b of a few kilobytes: microseconds), so a hand-made
        EncodedMask cannot file bytes under another mask's name.
        """
        if not DIGEST_PATTERN.fullmatch(encoded.digest) or blob_digest(encoded.blob) != encoded.digest:
            raise ProjectError(f"encoded mask {encoded.digest!r} does not match its data")
        with self._lock:
            if encoded.digest not in self._on_disk:
                self._pending.setdefault(encoded.digest, encoded.blob)
            if encoded.mask is not None:
                self._remember(encoded.digest, encoded.mask)
        return encoded.digest

    def blob(self, digest: str) -> bytes:
        """The encoded bytes of a mask, checked against their digest."""
        with self._lock:
            pending = self._pending.get(digest)
            folder = self._folder if digest in self._on_disk else None
        if pending is not None:
            return pending
        if folder is None:
            raise ProjectError(f"mask {digest} is not in this project")
        path = folder / mask_file_name(digest)
        try:
            size = path.stat().st_size
            if size > MAX_BLOB_BYTES:
                raise ProjectError(
                    f"{path}: mask file is {size} bytes, more than the {MAX_BLOB_BYTES} allowed"
                )
            blob = read_regular(path, MAX_BLOB_BYTES, ProjectError)
        except OSError as exc:
            with self._lock:
                pending = self._pending.get(digest)
            if pending is not None:  # a save on another thread moved it into memory, then deleted its file
                return pending
            raise ProjectError(f"{path}: cannot read mask file ({exc.strerror or exc})") from exc
        if blob_digest(blob) != digest:
            raise ProjectError(f"{path}: mask file is damaged (its content does not match its name)")
        return blob

    def get(self, digest: str, shape: tuple[int, int]) -> np.ndarray:
        """The decoded mask (read-only: copy it to edit), from the cache or decoded now."""
        with self._lock:
            mask = self._cache.get(digest)
            folder = self._folder if digest in self._on_disk else None
        if mask is None:
            source = str(folder / mask_file_name(digest)) if folder is not None else f"mask {digest}"
            mask = decode_mask(self.blob(digest), shape, source)
            with self._lock:
                self._remember(digest, mask)
        if mask.shape != tuple(shape):
            raise ProjectError(
                f"mask {digest} is {mask.shape[0]}x{mask.shape[1]}, expected {shape[0]}x{shape[1]}"
            )
        return mask

    def _remember(self, digest: str, mask: np.ndarray) -> None:
        """Cache a decoded mask."""
        mask.flags.writeable = False
        self._cache.put(digest, mask)
