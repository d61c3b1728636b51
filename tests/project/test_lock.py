"""One writer per project: a second writer is refused and told who holds the project; a dead holder's lock is
taken over; two processes saving one project at once never leave it broken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from roto.errors import ProjectError
from roto.project import (
    DeleteObject,
    ProjectLock,
    ProjectLocked,
    UndoStack,
    load_project,
    save_project,
    write_recovery,
)
from roto.project.lock import LOCK_NAME

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

HOLDER = textwrap.dedent(
    """
    import sys, time
    from roto.project import ProjectLock
    lock = ProjectLock.acquire(sys.argv[1], "roto render")
    print("held", flush=True)
    time.sleep(600)
    """
)


def _hold_in_child(folder: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_second_holder_in_this_process_is_refused_and_told_who_holds_it(
    stack: UndoStack, tmp_path: Path
) -> None:
    folder = tmp_path / "demo.roto"
    with ProjectLock.acquire(folder, "the Roto editor"):
        with pytest.raises(ProjectLocked) as refused:
            save_project(stack.project, folder)
        message = str(refused.value)
        assert f"the Roto editor (pid {os.getpid()} on {socket.gethostname()}) since " in message
        assert refused.value.owner is not None and refused.value.owner.program == "the Roto editor"
        assert not (folder / "project.json").exists()
    save_project(stack.project, folder)  # released: saves go ahead
    assert load_project(folder) == stack.project


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_another_process_holding_the_project_refuses_saves_until_it_dies(
    stack: UndoStack, tmp_path: Path
) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    child = _hold_in_child(folder)
    try:
        stack.push(DeleteObject("shot1", 2))
        for write in (save_project, write_recovery):
            with pytest.raises(ProjectLocked, match=rf"roto render \(pid {child.pid} on .*\) since \d{{4}}-"):
                write(stack.project, folder)
        assert len(load_project(folder).shots[0].objects) == 2  # untouched
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert str(child.pid) in (folder / LOCK_NAME).read_text()  # the crash left its text behind: a stale lock
    save_project(stack.project, folder)  # ...which the OS released, so it is taken over
    assert len(load_project(folder).shots[0].objects) == 1
    assert not (folder / LOCK_NAME).exists()  # released after the save: a saved project keeps no lock file


def test_a_lock_is_for_one_folder_and_a_special_lock_file_is_refused(
    stack: UndoStack, tmp_path: Path
) -> None:
    with ProjectLock.acquire(tmp_path / "a.roto") as lock:
        with pytest.raises(ProjectError, match=r"the lock given is for .*a\.roto, not for this project"):
            save_project(stack.project, tmp_path / "b.roto", lock=lock)
        save_project(stack.project, tmp_path / "a.roto", lock=lock)
    fifo_project = tmp_path / "fifo.roto"
    fifo_project.mkdir()
    os.mkfifo(fifo_project / LOCK_NAME)
    with pytest.raises(ProjectError, match="lock file is not a regular file"):
        save_project(stack.project, fifo_project)


RACER = textwrap.dedent(
    """
    import sys
    from fractions import Fraction
    from pathlib import Path
    import numpy as np
    from roto.project import AddObject, Project, ProjectLocked, SetMask, Shot, UndoStack, load_project
    from roto.project import save_project

    folder, seed, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    yy, xx = np.mgrid[:24, :32]
    (folder.parent / f"ready{seed}").touch()  # start together, so the saves really overlap
    while len(list(folder.parent.glob("ready*"))) < 2:
        pass
    saved = refused = 0
    for round in range(rounds):
        project = Project(f"writer{seed}", [Shot("s", Path("clip.mp4"), 0, 12, Fraction(24), 32, 24)])
        stack = UndoStack(project)
        stack.push(AddObject("s", f"writer{seed}", (255, 0, 0)))
        for frame in range(6):
            r = 3 + (seed * 7 + round * 3 + frame) % 9
            stack.push(SetMask("s", 1, frame, (xx - 12 - frame) ** 2 + (yy - 12) ** 2 < r * r))
        try:
            save_project(project, folder)
            saved += 1
        except ProjectLocked:
            refused += 1
    print(saved, refused)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="the race test forks real processes")
def test_two_processes_saving_one_project_at_once_never_break_it(tmp_path: Path) -> None:
    folder = tmp_path / "raced.roto"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(folder), str(seed), "40"],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    results = [racer.communicate(timeout=300) for racer in racers]
    for racer, (out, err) in zip(racers, results, strict=True):
        assert racer.returncode == 0, err  # every save either completed or was refused: nothing else
        saved, refused = map(int, out.split())
        assert saved + refused == 40
    assert sum(int(out.split()[0]) for out, _ in results) >= 1
    project = load_project(folder)  # whoever saved last, the project opens with all its masks
    obj = project.shots[0].objects[0]
    assert obj.name in ("writer1", "writer2") and sorted(obj.masks) == list(range(6))
    for frame in obj.masks:
        assert project.get_mask("s", obj.id, frame) is not None
    on_disk = {p.stem for p in (folder / "masks").iterdir()}
    assert {e.digest for e in obj.masks.values()} <= on_disk


def test_a_writer_that_opened_the_lock_file_as_its_holder_released_it_locks_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo.roto"
    first = ProjectLock.acquire(folder, "first")
    real_open = os.open

    def open_then_release(path: object, *args: object) -> int:
        fd = real_open(path, *args)  # type: ignore[arg-type]
        first.release()  # the holder lets go (and deletes the file) between this open and the lock
        return fd

    monkeypatch.setattr(os, "open", open_then_release)
    second = ProjectLock.acquire(folder, "second")
    monkeypatch.undo()
    with pytest.raises(ProjectLocked, match="second"):  # the file under the name is the one second holds
        ProjectLock.acquire(folder, "third")
    second.release()
