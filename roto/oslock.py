"""Non-blocking exclusive OS locks on open files: released by the OS when the holder dies, so a crash never
leaves a lock behind (``flock`` on POSIX, ``msvcrt.locking`` of one byte far past the text on Windows)."""

from __future__ import annotations

import os
import sys

_WINDOWS_LOCK_OFFSET = 1 << 20  # Windows locks are mandatory: lock a byte past any text, which stays readable

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(fd: int) -> bool:
        """Lock the open file ``fd`` for this process; False when another holder has it."""
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Lock the open file ``fd`` for this process; False when another holder has it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
