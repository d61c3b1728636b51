"""A save interrupted at any step leaves the old or the new project loadable, and the next save tidies up."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from roto.errors import ProjectError
from roto.project import DeleteObject, Project, Propagate, UndoStack, load_project, save_project
from tests.project.project_helpers import disc


class Interrupted(Exception):
    pass


def _every_mask_decodes(project: Project) -> None:
    for shot in project.shots:
        for obj in shot.objects:
            for frame in obj.masks:
                assert project.get_mask(shot.id, obj.id, frame) is not None


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_save_interrupted_at_each_step(
    stack: UndoStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "base.roto"
    project = stack.project
    save_project(project, base)
    old = load_project(base)
    stack.push(Propagate("shot1", ((1, f, disc(f, 3, 5)) for f in range(3, 6))))
    stack.push(DeleteObject("shot1", 2))
    real_replace, real_fsync = os.replace, os.fsync
    step = 0
    while True:
        folder = tmp_path / f"step{step}.roto"
        shutil.copytree(base, folder)  # every attempt starts from the old project, as after a real crash
        calls = 0

        def failing(real, *args, stop_after=step):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls > stop_after:
                raise Interrupted(f"step {stop_after}")
            return real(*args)

        monkeypatch.setattr(os, "replace", lambda *a: failing(real_replace, *a))
        monkeypatch.setattr(os, "fsync", lambda *a: failing(real_fsync, *a))
        try:
            save_project(project, folder)
            finished = True
        except Interrupted:
            finished = False
        monkeypatch.setattr(os, "replace", real_replace)
        monkeypatch.setattr(os, "fsync", real_fsync)
        loaded = load_project(folder)
        assert loaded in (old, project), f"neither old nor new project after interrupting step {step}"
        _every_mask_decodes(loaded)
        if finished:
            break
        step += 1
    assert step == 10  # 3 mask files and the manifest, each fsynced and renamed, plus two folder fsyncs
    assert load_project(folder) == project and _no_temp_files(folder)


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from fractions import Fraction
    from pathlib import Path
    import numpy as np
    from roto.project import AddObject, DeleteObject, Project, Propagate, SetMask, Shot, UndoStack
    from roto.project import save_project

    folder, kill_at = Path(sys.argv[1]), int(sys.argv[2])
    yy, xx = np.mgrid[:24, :32]
    project = Project("demo", [Shot("s", Path("clip.mp4"), 0, 12, Fraction(24), 32, 24)])
    stack = UndoStack(project)
    stack.push(AddObject("s", "person", (255, 0, 0)))
    stack.push(AddObject("s", "ball", (0, 0, 255)))
    stack.push(SetMask("s", 1, 0, (xx - 9) ** 2 + (yy - 9) ** 2 < 30))
    save_project(project, folder)
    stack.push(Propagate("s", [(1, f, (xx - f) ** 2 + (yy - 5) ** 2 < 40) for f in range(1, 4)]))
    stack.push(DeleteObject("s", 2))
    calls = 0
    def dying(real):
        def step(*args):
            global calls
            calls += 1
            if calls > kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args)
        return step
    os.replace, os.fsync = dying(os.replace), dying(os.fsync)
    save_project(project, folder)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_process_killed_at_each_step_of_a_save(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    kill_at, outcomes = 0, set()
    while True:
        folder = tmp_path / f"kill{kill_at}.roto"
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder), str(kill_at)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert child.returncode in (0, -9), child.stderr
        loaded = load_project(folder)
        names = [o.name for o in loaded.shots[0].objects]
        assert names in (["person", "ball"], ["person"])
        _every_mask_decodes(loaded)
        outcomes.add(len(names))
        if child.returncode == 0:
            break
        save_project(loaded, folder)  # the next save cleans up what the killed one left
        assert _no_temp_files(folder)
        assert {p.stem for p in (folder / "masks").iterdir()} == {
            e.digest for o in loaded.shots[0].objects for e in o.masks.values()
        }
        kill_at += 1
    assert outcomes == {1, 2} and kill_at >= 8


def test_crash_garbage_is_collected_on_next_save(stack: UndoStack, tmp_path: Path) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    (folder / ".project.json.1234.tmp").write_text("{half")
    orphan = folder / "masks" / ("0" * 32 + ".rle")
    orphan.write_text("{}")
    save_project(load_project(folder), folder)
    assert _no_temp_files(folder) and not orphan.exists()


def test_failed_save_reports_a_project_error_and_keeps_the_old_project(
    stack: UndoStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    stack.push(DeleteObject("shot1", 2))

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ProjectError, match=r"demo\.roto: cannot save the project \(No space left on device"):
        save_project(stack.project, folder)
    monkeypatch.undo()
    assert len(load_project(folder).shots[0].objects) == 2 and _no_temp_files(folder)
    np.testing.assert_array_equal(load_project(folder).get_mask("shot1", 1, 0), disc(10, 12, 6))
