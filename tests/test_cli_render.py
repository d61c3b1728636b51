"""`roto render`: a saved project's prompts tracked by the editor's rule, masks saved into it, then exported;
idempotent and resumable after a kill. Small generated clip, test bundle."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.project import (
    AddObject,
    MaskOrigin,
    ProjectLock,
    SetMask,
    UpdateObject,
    load_project,
    save_project,
)
from tests.conftest import ROOT, TEST_BUNDLE
from tests.test_cli_track import FRAMES, assert_one_line_error, clip, run, track  # noqa: F401 - clip is a fixture

PROMPTS = ("--object", "square", "--point", "4:120,120", "--object", "corner", "--box", "2:0,0,50,50")


def mattes(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.iterdir())}


def render(capsys: pytest.CaptureFixture[str], project: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "render",
        str(project),
        "--out",
        str(out),
        "--format",
        "png8",
        "--model",
        str(TEST_BUNDLE),
        *extra,
    )


@pytest.fixture
def project(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    """A project saved by `roto track` (its masks are what the editor's rule gives), its mattes in tracked/."""
    path = tmp_path / "shot.roto"
    code, _, err = track(
        capsys, clip, tmp_path / "tracked", *PROMPTS, "--format", "png8", "--save-project", str(path)
    )
    assert code == 0, err
    return path


def test_render_gives_the_masks_of_track_and_a_rerun_does_nothing(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = render(capsys, project, tmp_path / "out", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["tracked"] == ["square", "corner"] and summary["exported"]
    expected = mattes(tmp_path / "tracked")
    got = mattes(tmp_path / "out")
    assert got.keys() == expected.keys()
    assert all(np.array_equal(got[name], expected[name]) for name in expected)
    assert load_project(project).shots[0].objects[0].masks  # the masks are in the project

    code, out, err = render(capsys, project, tmp_path / "out")
    assert code == 0, err
    assert "nothing to do" in out

    code, out, err = render(
        capsys, project, tmp_path / "out", "--range", "0-5", "--objects", "corner", "--overwrite", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["tracked"] == ["corner"]  # a new range is a new render, of the chosen object only


def test_a_painted_frame_is_a_prompt(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An object whose only prompt is a mask painted in the editor is tracked from it (SAM2's add_new_mask)."""
    loaded = load_project(project)
    shot = loaded.shots[0]
    add = AddObject(shot.id, "painted", (0, 200, 0))
    add.do(loaded)
    assert add.object_id is not None
    painted = np.zeros(shot.frame_shape, bool)
    painted[90:150, 100:160] = True
    SetMask(shot.id, add.object_id, 4, painted, MaskOrigin.EDITED, "Brush").do(loaded)
    save_project(loaded, project)
    code, out, err = render(capsys, project, tmp_path / "out", "--objects", "painted", "--json")
    assert code == 0, err
    assert json.loads(out)["tracked"] == ["painted"]
    masks = load_project(project).shots[0].objects[-1].masks
    assert len(masks) == FRAMES and masks[4].origin == MaskOrigin.EDITED  # the painted mask is kept


def test_masks_or_matte_settings_changed_since_are_exported_again(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The editor can change what the files show without changing any prompt: the export must follow."""
    out = tmp_path / "out"
    assert render(capsys, project, out)[0] == 0
    before = mattes(out)

    loaded = load_project(project)
    shot = loaded.shots[0]
    square = shot.objects[0]
    UpdateObject(shot.id, square.id, matte=replace(square.matte, grow_px=6)).do(loaded)
    save_project(loaded, project)
    code, text, err = render(capsys, project, out, "--overwrite", "--json")
    assert code == 0, err
    summary = json.loads(text)
    assert summary["tracked"] == [] and summary["exported"]  # no model work, new files
    grown = mattes(out)
    squares = [name for name in grown if "_square." in name]  # files are named project_object.frame
    assert squares and all(np.all(grown[n] >= before[n]) for n in squares)
    assert any(np.count_nonzero(grown[n]) > np.count_nonzero(before[n]) for n in squares)

    loaded = load_project(project)
    shot = loaded.shots[0]
    tracked = np.zeros(shot.frame_shape, bool)
    tracked[:40, :40] = True  # as a propagation run in the editor would write it, prompts unchanged
    SetMask(shot.id, shot.objects[1].id, 7, tracked, MaskOrigin.PROPAGATED, "Propagate").do(loaded)
    save_project(loaded, project)
    code, text, err = render(capsys, project, out, "--overwrite", "--json")
    assert code == 0, err
    assert json.loads(text)["exported"]
    assert "nothing to do" in render(capsys, project, out, "--overwrite")[1]


KILLED_AFTER_FIRST_SAVE = """
import os, signal, sys
from roto.cli import main
from roto.cli.render_record import RenderRecord

real_save = RenderRecord.save

def save(self, folder):
    real_save(self, folder)
    os.kill(os.getpid(), signal.SIGKILL)  # as a farm killing the machine, once the first object is saved

RenderRecord.save = save
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_render_resumes_from_the_objects_it_saved(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = tmp_path / "twin.roto"
    shutil.copytree(project, twin)
    argv = [
        "render",
        str(project),
        "--out",
        str(tmp_path / "out"),
        "--format",
        "png8",
        "--model",
        str(TEST_BUNDLE),
    ]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_FIRST_SAVE, *argv], cwd=ROOT, capture_output=True, text=True
    )
    assert killed.returncode == -9, killed.stderr
    assert not (tmp_path / "out").exists()

    code, out, err = render(capsys, project, tmp_path / "out", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["tracked"] == ["corner"] and summary["up_to_date"] == ["square"]
    assert summary["frames_encoded"] == 0 and summary["frames_from_cache"] > 0  # the disk cache had them all
    code, _, err = render(capsys, twin, tmp_path / "uninterrupted")
    assert code == 0, err
    expected = mattes(tmp_path / "uninterrupted")
    got = mattes(tmp_path / "out")
    assert got.keys() == expected.keys()
    assert all(np.array_equal(got[name], expected[name]) for name in expected)


def test_bad_input_is_one_line(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ProjectLock.acquire(project, "the Roto editor"):
        code, _, err = render(capsys, project, tmp_path / "out")
    assert code == 1
    assert_one_line_error(err, "roto: error:", "open for writing in the Roto editor")
    code, _, err = render(capsys, tmp_path / "nothing.roto", tmp_path / "out")
    assert code == 1
    assert_one_line_error(err, "roto: error:", "nothing.roto: not a Roto project folder")
    code, _, err = render(capsys, project, tmp_path / "out", "--objects", "dog")
    assert code == 1
    assert_one_line_error(err, "roto: error:", "no object 'dog'")
    code, _, err = render(capsys, project, tmp_path / "out", "--range", "5-99")
    assert code == 1
    assert_one_line_error(err, "roto: error:", "--range 5-99 is outside")
    assert not (tmp_path / "out").exists()


def test_a_project_whose_clip_moved_is_refused_before_any_frame(
    project: Path,
    clip: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clip.rename(clip.with_name("elsewhere.mp4"))
    code, _, err = render(capsys, project, tmp_path / "out")
    assert code == 1
    assert_one_line_error(err, "roto: error:", "is missing", clip.name, "relink")
    assert not (tmp_path / "out").exists()
