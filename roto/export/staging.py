"""All-or-nothing file output: everything is written under hidden temporary names and renamed at the end.

A cancelled or failed export therefore never leaves a half-written file (or half a sequence) under a
final name, and files it was asked to overwrite stay intact until the export has fully succeeded.

A killed export cannot clean up, so each folder it writes into holds its marker, ``.roto-export.TOKEN.lock``,
OS-locked while it runs, and its renames are listed first in a journal, ``.roto-export.TOKEN.commit``. The next
export into that folder finds markers nobody holds: a journal means the files were all written and the renames
had begun, so they are finished (the sequence is whole, never part old and part new); without one, the
export's ``.part`` files are deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from pathlib import Path

from roto.errors import ExportError
from roto.files import read_regular
from roto.oslock import try_lock

MARK_PREFIX = ".roto-export."
PART_SUFFIX = ".part"
MAX_JOURNAL_BYTES = 64 * 1024 * 1024
_STAGED_NAME = re.compile(r"\.(?:.+\.)?([0-9a-f]{8})(?:\.part|\.lock|\.commit)")  # what an export leaves


class Staging:
    """Hands out temporary paths next to their final paths; ``commit`` renames, ``abort`` deletes."""

    def __init__(self) -> None:
        self._token = uuid.uuid4().hex[:8]
        self._staged: dict[Path, Path] = {}
        self._created_dirs: list[Path] = []
        self._markers: dict[Path, int] = {}  # folder -> open, locked marker: this export is alive there

    def temp_path(self, final: Path) -> Path:
        """A hidden path in the same folder as ``final`` (same file system, so the rename is atomic)."""
        self._make_parents(final.parent)
        self._mark(final.parent)
        temp = final.with_name(f".{final.name}.{self._token}{PART_SUFFIX}")
        self._staged[final] = temp
        return temp

    def _make_parents(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"Cannot create the output folder {folder}: {exc.strerror or exc}") from None
        self._created_dirs.extend(reversed(missing))

    def _mark(self, folder: Path) -> None:
        """Before the first temporary file in ``folder``: tidy what dead exports left, then hold a marker."""
        if folder in self._markers:
            return
        recover_dead_exports(folder)
        marker = folder / f"{MARK_PREFIX}{self._token}.lock"
        fresh = marker.with_name(marker.name + ".new")  # locked before it gets a name recovery looks at
        try:
            fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try_lock(fd)
            os.replace(fresh, marker)
        except OSError as exc:
            raise ExportError(f"Cannot write in {folder}: {exc.strerror or exc}") from None
        self._markers[folder] = fd

    def commit(self) -> list[Path]:
        """Move every staged file to its final name; returns the final paths in staging order."""
        journals = self._write_journals()
        for final, temp in self._staged.items():
            try:
                os.replace(temp, final)
            except OSError as exc:
                raise ExportError(f"Cannot write {final}: {exc.strerror or exc}") from None
        for journal in journals:
            _fsync_dir(journal.parent)
            _unlink_quietly(journal)
        finals = list(self._staged)
        self._staged.clear()
        self._release()
        return finals

    def _write_journals(self) -> list[Path]:
        """Per folder, the renames about to happen, durably: a kill among them is finished by the next export."""
        pairs: dict[Path, list[tuple[str, str]]] = {}
        for final, temp in self._staged.items():
            pairs.setdefault(temp.parent, []).append((temp.name, final.name))
        journals = []
        for folder, renames in pairs.items():
            journal = folder / f"{MARK_PREFIX}{self._token}.commit"
            try:
                with open(journal, "w", encoding="utf-8") as handle:
                    json.dump(renames, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                _fsync_dir(folder)
            except OSError as exc:
                raise ExportError(f"Cannot write in {folder}: {exc.strerror or exc}") from None
            journals.append(journal)
        return journals

    def abort(self) -> None:
        """Delete every temporary file and any folder this export created (if left empty).

        Never raises: it runs while another error is on its way to the user, which must not be replaced.
        """
        for temp in self._staged.values():
            _unlink_quietly(temp)
        self._staged.clear()
        for folder in self._markers:
            _unlink_quietly(folder / f"{MARK_PREFIX}{self._token}.commit")
        self._release()
        for folder in reversed(self._created_dirs):
            try:
                folder.rmdir()
            except OSError:
                continue  # not empty or already gone: someone else's files live there
        self._created_dirs.clear()

    def _release(self) -> None:
        for folder, fd in self._markers.items():
            _unlink_quietly(folder / f"{MARK_PREFIX}{self._token}.lock")
            os.close(fd)
        self._markers.clear()


def recover_dead_exports(folder: Path) -> None:
    """Finish or undo what exports killed in ``folder`` left behind; exports still running are left alone."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    tokens = {match.group(1) for match in map(_STAGED_NAME.fullmatch, names) if match is not None}
    for token in tokens:
        if _running(folder / f"{MARK_PREFIX}{token}.lock"):
            continue
        journal = folder / f"{MARK_PREFIX}{token}.commit"
        for temp, final in _journal(journal):
            with contextlib.suppress(OSError):  # already renamed before the kill
                os.replace(folder / temp, folder / final)
        _unlink_quietly(journal)
        for name in names:
            if name.endswith(f".{token}{PART_SUFFIX}"):
                _unlink_quietly(folder / name)
        _unlink_quietly(folder / f"{MARK_PREFIX}{token}.lock")


def _running(marker: Path) -> bool:
    """Whether the export that made ``marker`` still holds it (a dead one's lock went with its process)."""
    try:
        fd = os.open(marker, os.O_RDWR | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return not try_lock(fd)
    finally:
        os.close(fd)


def _journal(path: Path) -> list[tuple[str, str]]:
    """The renames a journal lists, each a plain name in its folder; none for a missing or damaged one."""
    try:
        pairs = json.loads(read_regular(path, MAX_JOURNAL_BYTES, ExportError))
    except (OSError, ValueError, ExportError):
        return []
    plain = [
        (temp, final)
        for temp, final in (pair for pair in pairs if isinstance(pair, list) and len(pair) == 2)
        if all(isinstance(n, str) and n == Path(n).name and n not in ("", ".", "..") for n in (temp, final))
    ]
    return plain if len(plain) == len(pairs) else []


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot fsync a folder, and needs not
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
