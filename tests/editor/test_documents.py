"""Documents hold their project's lock while open: another writer is refused, and so is a second opening."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from roto.editor.documents import Document, open_document
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
