"""Reading files a user (or an attacker) named, without hanging and without running out of memory.

Checking a path's size is not enough: ``stat()`` says 0 bytes for ``/dev/zero``, whose reads never end, and
opening a FIFO blocks until some writer comes. So Roto reads only regular files, opens them non-blocking and
never reads more than a limit, whatever ``stat()`` said. Files a library opens itself (FFmpeg, OpenEXR, ONNX
Runtime) are checked with ``check_regular`` first. Files Roto rewrites for itself (seals, records, caches) are
replaced whole (``replace_file``), so no reader ever sees half of one.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from roto.errors import RotoError


def check_regular(path: Path, error: type[RotoError]) -> None:
    """Raise ``error`` unless ``path`` (after symlinks) is a regular file; OSError (missing...) passes through."""
    _refuse_special(path, os.stat(path).st_mode, error)


def read_regular(path: Path, limit: int, error: type[RotoError]) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``error`` for anything else.

    OSError (missing, unreadable) passes through for the caller to word.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        _refuse_special(path, os.fstat(fd).st_mode, error)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: larger than the {limit} bytes allowed for this file")
    return data


def _refuse_special(path: Path, mode: int, error: type[RotoError]) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISFIFO(mode):
        kind = "a FIFO"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISDIR(mode):
        kind = "a folder"
    else:
        kind = "a socket or other special file"
    raise error(f"{path}: is {kind}, not a regular file; Roto reads only regular files")


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, renamed over it: a reader (another process
    too) sees the old file or the new one. On failure the temporary is removed and the OSError raised."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise
