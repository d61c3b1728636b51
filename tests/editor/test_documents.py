"""Documents hold their project's lock while open: another writer is refused, and so is a second opening."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from roto.editor.documents import Document, MediaNotFound, open_document
from roto.errors import RotoError
from roto.media import open_media
from roto.project import ProjectLocked, UpdateObject, load_project, save_project

ROOT = Path(__file__).parents[2]

OTHER_WRITER = textwrap.dedent(
    """
    import sys
    from roto.errors import RotoError
    from roto.project import load_project, save_project
    project = load_project(sys.argv[1])
    project.shots[0].objects[0].name = "overwritten"
    try:
        save_project(project, sys.argv[1])
    except RotoError as exc:
        print(exc)
        sys.exit(1)
    """
)


def _never_restore(_recovery: object) -> bool:
    return False


def test_an_open_document_refuses_other_writers_until_it_closes(small_clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shot.roto"
    doc = Document.from_media(open_media(small_clip))
    doc.save(folder)
    doc.stack.push(UpdateObject(doc.shot.id, doc.shot.objects[0].id, name="mine"))
    other = subprocess.run(
        [sys.executable, "-c", OTHER_WRITER, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 1 and "open for writing in the Roto editor (pid " in other.stdout
    with pytest.raises(ProjectLocked, match="the Roto editor"):
        open_document(folder, _never_restore)  # a second window on the same project
    doc.save(folder)
    assert load_project(folder).shots[0].objects[0].name == "mine"
    doc.close()
    reopened = open_document(folder, _never_restore)  # closing released it
    reopened.close()
    save_project(load_project(folder), folder)


def test_save_as_moves_the_lock_and_a_missing_project_is_not_created(
    small_clip: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.roto", tmp_path / "b.roto"
    doc = open_document(small_clip, _never_restore)
    doc.save(first)
    doc.save(second)
    save_project(load_project(first), first)  # no longer held by the document
    with pytest.raises(ProjectLocked):
        save_project(load_project(second), second)
    doc.close()
    with pytest.raises(Exception, match="no such project file"):
        open_document(tmp_path / "missing.roto", _never_restore)
    assert not (tmp_path / "missing.roto").exists()


def test_reopening_the_open_project_takes_over_its_lock(small_clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shot.roto"
    first = Document.from_media(open_media(small_clip))
    first.save(folder)
    with pytest.raises(ProjectLocked):
        open_document(folder, _never_restore)  # not this document: refused
    second = open_document(folder, _never_restore, replacing=first)
    assert first.lock is None and second.lock is not None and second.lock.held
    first.close()  # closing the replaced document leaves the lock with the new one
    assert second.lock.held
    second.close()


def test_moved_media_is_reported_and_relinked_as_an_undoable_edit(small_clip: Path, tmp_path: Path) -> None:
    media = tmp_path / "clip.mp4"
    media.write_bytes(small_clip.read_bytes())
    folder = tmp_path / "shot.roto"
    doc = Document.from_media(open_media(media))
    doc.save(folder)
    doc.close()
    moved = tmp_path / "moved" / "clip.mp4"
    moved.parent.mkdir()
    media.rename(moved)
    with pytest.raises(MediaNotFound) as missing:
        open_document(folder, _never_restore)
    assert missing.value.media == media and str(media) in str(missing.value)
    relinked = open_document(folder, _never_restore, relink=moved)
    assert relinked.shot.media == moved and not relinked.stack.is_clean
    assert relinked.stack.undo_label == "Relink media"
    relinked.save(folder)
    relinked.close()
    assert load_project(folder).shots[0].media == moved
    relinked_to_other = tmp_path / "other.mp4"
    relinked_to_other.write_bytes(b"not a video")
    with pytest.raises(RotoError):  # a file that is not the media is refused, and the project stays as saved
        open_document(folder, _never_restore, relink=relinked_to_other)
    assert load_project(folder).shots[0].media == moved
