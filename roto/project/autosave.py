"""Crash recovery: a recovery file written after some seconds of unsaved changes, and found again on open.

The Autosaver owns no thread or timer: the UI's timer (or a CLI loop) calls ``tick(now)``, which keeps it
testable and free of Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from roto.project.commands import UndoStack
from roto.project.lock import ProjectLock
from roto.project.store import MANIFEST_NAME, RECOVERY_NAME, manifest_saved_at, write_recovery

DEFAULT_DELAY_S = 60.0


@dataclass(frozen=True)
class Recovery:
    """A recovery file newer than the saved project: open it with ``load_project(folder, recovery=True)``."""

    path: Path
    saved_at: datetime
    project_saved_at: datetime | None


def find_recovery(folder: Path) -> Recovery | None:
    """The project's recovery file when it is newer than its last save (the UI then offers to restore it)."""
    folder = Path(folder)
    recovered = manifest_saved_at(folder / RECOVERY_NAME)
    if recovered is None:
        return None
    saved = manifest_saved_at(folder / MANIFEST_NAME)
    if saved is not None and saved >= recovered:
        return None
    return Recovery(folder / RECOVERY_NAME, recovered, saved)


class Autosaver:
    """Writes ``recovery.json`` once changes have stayed unsaved for ``delay_s`` seconds of ``tick`` time."""

    def __init__(
        self,
        stack: UndoStack,
        folder: Path,
        delay_s: float = DEFAULT_DELAY_S,
        lock: ProjectLock | None = None,
    ) -> None:
        self.stack = stack
        self.folder = Path(folder)
        self.delay_s = delay_s
        self.lock = lock  # the document's held lock on folder, else each write takes it
        self._written_revision: int | None = None
        self._dirty_since: float | None = None

    def tick(self, now: float) -> Path | None:
        """Call regularly with a monotonic time in seconds; returns the recovery file when it wrote one."""
        if self.stack.is_clean or self.stack.revision == self._written_revision:
            self._dirty_since = None
            return None
        if self._dirty_since is None:
            self._dirty_since = now
        if now - self._dirty_since < self.delay_s:
            return None
        path = write_recovery(self.stack.project, self.folder, lock=self.lock)
        self._written_revision = self.stack.revision
        self._dirty_since = None
        return path
