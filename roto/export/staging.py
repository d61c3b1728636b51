"""All-or-nothing file output: everything is written under hidden temporary names and renamed at the end.

A cancelled or failed export therefore never leaves a half-written file (or half a sequence) under a
final name, and files it was asked to overwrite stay intact until the export has fully succeeded.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from roto.errors import ExportError


class Staging:
    """Hands out temporary paths next to their final paths; ``commit`` renames, ``abort`` deletes."""

    def __init__(self) -> None:
        self._token = uuid.uuid4().hex[:8]
        self._staged: dict[Path, Path] = {}
        self._created_dirs: list[Path] = []

    def temp_path(self, final: Path) -> Path:
        """A hidden path in the same folder as ``final`` (same file system, so the rename is atomic)."""
        self._make_parents(final.parent)
        temp = final.with_name(f".{final.name}.{self._token}.part")
        self._staged[final] = temp
        return temp

    def _make_parents(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"Cannot create the output folder {folder}: {exc.strerror or exc}") from None
        self._created_dirs.extend(reversed(missing))

    def commit(self) -> list[Path]:
        """Move every staged file to its final name; returns the final paths in staging order."""
        for final, temp in self._staged.items():
            try:
                os.replace(temp, final)
            except OSError as exc:
                raise ExportError(f"Cannot write {final}: {exc.strerror or exc}") from None
        finals = list(self._staged)
        self._staged.clear()
        return finals

    def abort(self) -> None:
        """Delete every temporary file and any folder this export created (if left empty)."""
        for temp in self._staged.values():
            temp.unlink(missing_ok=True)
        self._staged.clear()
        for folder in reversed(self._created_dirs):
            try:
                folder.rmdir()
            except OSError:
                continue  # not empty or already gone: someone else's files live there
        self._created_dirs.clear()
