"""One writer per project folder: a lock a process holds while it may write ``NAME.roto/``.

Without it two writers (the editor and ``roto track --save-project --overwrite``, or two editors) interleave
their saves: one's clean-up deletes the other's masks, or one's edits are silently replaced. The editor holds the
lock for as long as the document is open, ``roto track`` for its save, and a long job (a render, a batch) can
hold it for its whole run with ``with ProjectLock.acquire(folder, "roto render"):``.

The lock is an OS lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on ``NAME.roto/.roto-lock``, whose
text says who holds it; the file exists only while the lock is held. The OS drops the lock when its process dies,
so a crash never leaves a stale lock: its file stays, the next writer finds it unlocked, takes it over and logs
whose it was.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from roto.errors import ProjectError
from roto.oslock import try_lock

LOCK_NAME = ".roto-lock"
MAX_OWNER_BYTES = 4096
_ATTEMPTS = 100
_WINDOWS_LOCK_OFFSET = (
    1 << 20
)  # Windows locks are mandatory: lock a byte past the owner text, which stays readable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockOwner:
    """Who holds (or last held) a project: enough for a user to find that program and close it."""

    host: str
    pid: int
    program: str
    since: datetime

    def describe(self) -> str:
        since = self.since.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return f"{self.program} (pid {self.pid} on {self.host}) since {since}"

    def to_json(self) -> bytes:
        data = {"host": self.host, "pid": self.pid, "program": self.program, "since": self.since.isoformat()}
        return json.dumps(data).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> LockOwner | None:
        """None for an empty or unreadable text (a holder that has not written it yet, or a damaged file)."""
        try:
            value: Any = json.loads(data.decode("utf-8"))
            return cls(
                str(value["host"]),
                int(value["pid"]),
                str(value["program"]),
                datetime.fromisoformat(value["since"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    @classmethod
    def this_process(cls, program: str) -> LockOwner:
        return cls(socket.gethostname(), os.getpid(), program, datetime.now(UTC))


class ProjectLocked(ProjectError):
    """Another process holds the project; ``owner`` says which (None when it has not said yet)."""

    def __init__(self, message: str, owner: LockOwner | None) -> None:
        super().__init__(message)
        self.owner = owner


def default_program() -> str:
    """What this process is, for the lock's text: ``roto track``, ``pytest``..."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return f"{name} {sys.argv[1]}" if name == "roto" and len(sys.argv) > 1 else name


class ProjectLock:
    """The lock on one project folder, held from ``acquire`` until ``release`` (or the process ends)."""

    def __init__(self, folder: Path, fd: int, owner: LockOwner) -> None:
        self.folder = folder
        self.owner = owner
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, folder: Path, program: str | None = None) -> ProjectLock:
        """Lock ``folder`` (created if missing); ProjectLocked names the holder when another process has it."""
        folder = Path(folder)
        fd = _open_locked(folder)
        try:
            previous = LockOwner.from_json(_read_owner(fd))
            if previous is not None:
                log.info(
                    "%s: taking over the lock last held by %s (it has ended)", folder, previous.describe()
                )
            owner = LockOwner.this_process(program or default_program())
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, owner.to_json())  # informative only, so not fsynced
        except OSError as exc:
            os.close(fd)
            raise ProjectError(
                f"{folder / LOCK_NAME}: cannot lock the project ({exc.strerror or exc})"
            ) from exc
        return cls(folder, fd, owner)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def covers(self, folder: Path) -> bool:
        """Whether this held lock is the one for ``folder`` (so a save there may go ahead under it)."""
        return self.held and os.path.realpath(self.folder) == os.path.realpath(folder)

    def release(self) -> None:
        """Let other writers in. The lock file is deleted while still locked, so a saved project keeps no trace;
        a writer that opened it meanwhile sees, once it gets the lock, that the name is gone, and starts again."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):  # the OS lock is what counts; the file is only informative
            os.ftruncate(fd, 0)
            (self.folder / LOCK_NAME).unlink()
        os.close(fd)  # closing drops the OS lock

    def __enter__(self) -> ProjectLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


def _open_locked(folder: Path) -> int:
    """An open descriptor of ``folder``'s lock file, OS-locked by this process, still under that name."""
    path = folder / LOCK_NAME
    for _attempt in range(_ATTEMPTS):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise ProjectError(
                f"{folder}: cannot save the project: no lock file {LOCK_NAME} there ({exc.strerror or exc})"
            ) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ProjectError(f"{path}: the project's lock file is not a regular file")
            if not try_lock(fd):
                owner = LockOwner.from_json(_read_owner(fd))
                holder = (
                    owner.describe() if owner is not None else "another program (it has not said which yet)"
                )
                raise ProjectLocked(
                    f"{folder}: the project is open for writing in {holder}; close it there, or save elsewhere",
                    owner,
                )
            if _names(path, fd):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # its holder deleted it while releasing: lock the file now under that name
    raise ProjectError(f"{path}: cannot lock the project (its lock file keeps being replaced)")


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the open file ``fd``."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _read_owner(fd: int) -> bytes:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, MAX_OWNER_BYTES)
    except OSError:
        return b""
