"""Open, save and recover the editor's document: one shot, its media, its undo history and where it lives.

The rules a document must keep when it is opened (the media still matches the project, the project has a shot to
edit) are checked here, once, whatever window or test opens it. Questions for the user (restore a crash backup?)
come in as a callable, so this module never shows anything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from roto.errors import ProjectError, RotoError
from roto.media import MediaSource, open_media
from roto.project import (
    Project,
    RelinkMedia,
    RotoObject,
    Shot,
    UndoStack,
    find_recovery,
    load_project,
    object_colour,
    save_project,
)
from roto.project.autosave import DEFAULT_DELAY_S, Autosaver, Recovery
from roto.project.lock import ProjectLock, ProjectLocked
from roto.project.model import check_media_match
from roto.project.store import PROJECT_SUFFIX

AskRestore = Callable[[Recovery], bool]
EDITOR_PROGRAM = "the Roto editor"


class Document:
    """An open shot: the project, its undo history, the media it reads and the folder it is saved in."""

    def __init__(
        self,
        project: Project,
        media: MediaSource,
        folder: Path | None,
        clean: bool = True,
        autosave_s: float = DEFAULT_DELAY_S,
        lock: ProjectLock | None = None,
    ) -> None:
        self.project = project
        self.shot: Shot = project.shots[0]
        self.media = media
        self.folder: Path | None = None
        self.stack = UndoStack(project, clean=clean)
        self.autosaver: Autosaver | None = None
        self.lock = lock
        self._autosave_s = autosave_s
        if folder is not None:
            self.move_to(folder)

    @property
    def name(self) -> str:
        """What the title bar calls the document: its folder once saved, else the project's name."""
        return self.folder.name if self.folder is not None else self.project.name

    @property
    def autosave_s(self) -> float:
        return self._autosave_s

    @autosave_s.setter
    def autosave_s(self, seconds: float) -> None:
        self._autosave_s = seconds
        if self.autosaver is not None:
            self.autosaver.delay_s = seconds

    def move_to(self, folder: Path) -> None:
        """Where the project lives from now on (and where its unsaved changes are backed up); writes nothing."""
        self.folder = folder
        self.autosaver = Autosaver(self.stack, folder, self._autosave_s, self.lock)

    def save(self, folder: Path) -> None:
        """Save atomically into `folder` (which becomes the document's home) and mark the history clean.

        The document keeps the folder's lock from its first save there until it closes or moves, so another
        program (a second editor, `roto track --save-project`) is refused instead of overwriting these edits.
        """
        held = self.lock is not None and self.lock.covers(folder)
        lock = self.lock if self.lock is not None and held else ProjectLock.acquire(folder, EDITOR_PROGRAM)
        try:
            save_project(self.project, folder, lock=lock)
        except BaseException:
            if not held:
                lock.release()
            raise
        if not held:
            if self.lock is not None:
                self.lock.release()
            self.lock = lock
        if self.folder != folder or not held:
            self.move_to(folder)
        self.stack.set_clean()

    def suggested_folder(self) -> Path:
        """Where Save As proposes to put a project that has no folder yet: beside its media."""
        return self.shot.media.with_name(self.project.name + PROJECT_SUFFIX)

    def close(self) -> None:
        self.media.close()
        if self.lock is not None:
            self.lock.release()

    @classmethod
    def from_media(cls, media: MediaSource, autosave_s: float = DEFAULT_DELAY_S) -> Document:
        """A new, unsaved project over a whole clip, with one object ready to be clicked."""
        shot = Shot.for_media(media)
        shot.objects.append(RotoObject(1, "Object 1", object_colour(0)))
        return cls(Project(name=media.path.stem, shots=[shot]), media, None, autosave_s=autosave_s)


def is_project_path(path: Path) -> bool:
    return path.suffix == PROJECT_SUFFIX or (path.is_dir() and (path / "project.json").is_file())


class MediaNotFound(ProjectError):
    """The project's media is not where the project says: the editor offers to locate it (relink)."""

    def __init__(self, project: Path, media: Path) -> None:
        super().__init__(f"{project}: the shot's media {media} cannot be found (moved or deleted?)")
        self.project, self.media = project, media


def open_document(
    path: Path,
    ask_restore: AskRestore,
    autosave_s: float = DEFAULT_DELAY_S,
    *,
    relink: Path | None = None,
    replacing: Document | None = None,
) -> Document:
    """A project folder (offering its crash backup through `ask_restore`) or a clip; RotoError says why not.

    `relink`: where the project's missing media is now (MediaNotFound says it is missing); the move is the new
    document's first undoable edit. `replacing`: the document open now; when it is this same project, its lock
    passes to the new one instead of refusing to open a project this editor holds.
    """
    if not is_project_path(path):
        return Document.from_media(open_media(path), autosave_s)
    recovery = find_recovery(path) if path.is_dir() else None
    restore = recovery is not None and ask_restore(recovery)
    held = replacing.lock if replacing is not None else None
    reused = held is not None and held.covers(path)
    lock = held if reused else _lock_for_editing(path)
    try:
        project = load_project(path, recovery=restore)
        if not project.shots:
            raise RotoError(f"{path}: the project has no shot to edit")
        shot = project.shots[0]
        if project.missing_media() and relink is None:
            raise MediaNotFound(path, shot.media)
        media = open_media(relink if relink is not None else shot.media)
        try:
            check_media_match(shot, media)
        except RotoError:
            media.close()
            raise
    except BaseException:
        if lock is not None and not reused:
            lock.release()
        raise
    if reused and replacing is not None:
        replacing.lock = None  # the new document holds it now: closing the old one must not release it
    doc = Document(project, media, path, clean=not restore, autosave_s=autosave_s, lock=lock)
    if relink is not None:
        doc.stack.push(RelinkMedia(shot.id, relink))
    return doc


def _lock_for_editing(path: Path) -> ProjectLock | None:
    """The project's lock for as long as it is open; refused (ProjectLocked, naming the holder) when another
    program writes it. None for a project this user cannot write (read-only media): its saves fail and say why."""
    if not path.is_dir():
        return None  # nothing to lock: loading it fails and says why
    try:
        return ProjectLock.acquire(path, EDITOR_PROGRAM)
    except ProjectLocked:
        raise
    except RotoError:
        return None
