import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from roto.project import (
    AddPrompt,
    Autosaver,
    DeleteObject,
    Point,
    UndoStack,
    discard_recovery,
    find_recovery,
    load_project,
    save_project,
)


@pytest.fixture
def saved_stack(stack: UndoStack, tmp_path: Path) -> tuple[UndoStack, Path]:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    stack.set_clean()
    return stack, folder


def test_recovery_written_after_the_delay_of_unsaved_changes(saved_stack: tuple[UndoStack, Path]) -> None:
    stack, folder = saved_stack
    autosaver = Autosaver(stack, folder, delay_s=30)
    assert autosaver.tick(0.0) is None  # clean: nothing to do
    stack.push(AddPrompt("shot1", 1, 0, Point(1, 1)))
    assert autosaver.tick(100.0) is None  # first sight of the change starts the clock
    assert autosaver.tick(129.0) is None
    written = autosaver.tick(130.0)
    assert written == folder / "recovery.json" and written.exists()
    assert autosaver.tick(500.0) is None  # nothing new since
    assert json.loads((folder / "project.json").read_text())["shots"][0]["objects"][0]["prompts"] == {}


def test_crash_then_reopen_offers_the_recovery(saved_stack: tuple[UndoStack, Path], tmp_path: Path) -> None:
    stack, folder = saved_stack
    assert find_recovery(folder) is None
    stack.push(DeleteObject("shot1", 2))
    stack.push(AddPrompt("shot1", 1, 5, Point(7, 7)))
    autosaver = Autosaver(stack, folder, delay_s=0)
    autosaver.tick(0.0)
    crashed = tmp_path / "after-crash.roto"
    shutil.copytree(folder, crashed)  # what the disk holds when the process dies now
    recovery = find_recovery(crashed)
    assert recovery is not None and recovery.project_saved_at is not None
    assert recovery.saved_at > recovery.project_saved_at
    restored = load_project(crashed, recovery=True)
    assert restored == stack.project
    assert not UndoStack(restored, clean=False).is_clean
    np.testing.assert_array_equal(restored.get_mask("shot1", 1, 2), stack.project.get_mask("shot1", 1, 2))
    assert len(load_project(crashed).shots[0].objects) == 2  # the saved project is untouched


def test_saving_removes_the_recovery_and_declining_discards_it(saved_stack: tuple[UndoStack, Path]) -> None:
    stack, folder = saved_stack
    stack.push(AddPrompt("shot1", 1, 0, Point(1, 1)))
    Autosaver(stack, folder, delay_s=0).tick(0.0)
    assert find_recovery(folder) is not None
    save_project(stack.project, folder)
    assert find_recovery(folder) is None and not (folder / "recovery.json").exists()
    stack.push(AddPrompt("shot1", 1, 0, Point(2, 2)))
    Autosaver(stack, folder, delay_s=0).tick(0.0)
    discard_recovery(folder)
    assert find_recovery(folder) is None


def test_an_older_recovery_is_not_offered(saved_stack: tuple[UndoStack, Path]) -> None:
    stack, folder = saved_stack
    stack.push(AddPrompt("shot1", 1, 0, Point(1, 1)))
    Autosaver(stack, folder, delay_s=0).tick(0.0)
    stale = (folder / "recovery.json").read_bytes()
    save_project(stack.project, folder)
    (folder / "recovery.json").write_bytes(stale)  # e.g. left by a crash of an older session
    assert find_recovery(folder) is None


def test_a_damaged_recovery_is_not_offered(saved_stack: tuple[UndoStack, Path]) -> None:
    _, folder = saved_stack
    (folder / "recovery.json").write_text("{")
    assert find_recovery(folder) is None


def test_autosave_stops_when_the_document_is_saved_again(saved_stack: tuple[UndoStack, Path]) -> None:
    stack, folder = saved_stack
    autosaver = Autosaver(stack, folder, delay_s=10)
    stack.push(AddPrompt("shot1", 1, 0, Point(1, 1)))
    autosaver.tick(0.0)
    stack.undo()  # back to the saved state
    assert autosaver.tick(20.0) is None and not (folder / "recovery.json").exists()
