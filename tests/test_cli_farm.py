"""`roto farm template --openjd`: the template passes openjd's own validation, and `openjd run` of one of its
steps renders that project as `roto render` does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from roto.cli import main
from roto.cli.track import FramePoint, ObjectPrompts, new_project
from roto.media import open_media
from roto.project import save_project
from tests.conftest import TEST_BUNDLE
from tests.test_cli_render import mattes
from tests.test_cli_track import clip  # noqa: F401 - a fixture

OPENJD = Path(sys.executable).parent / "openjd"


def make_project(clip: Path, folder: Path) -> Path:  # noqa: F811 - not the fixture
    with open_media(clip) as media:
        project, _, _ = new_project(media, [ObjectPrompts("square", points=(FramePoint(3, 120, 120, 1),))])
    save_project(project, folder)
    return folder


def test_openjd_run_of_a_step_renders_its_project(clip: Path, tmp_path: Path) -> None:  # noqa: F811
    if not OPENJD.exists():
        pytest.skip("openjd-cli is not installed (it is in the test extras)")
    projects = [
        make_project(clip, tmp_path / "a" / "shot.roto"),
        make_project(clip, tmp_path / "b" / "shot.roto"),
    ]
    twin = make_project(clip, tmp_path / "twin.roto")
    job = tmp_path / "job.json"
    roto = Path(sys.executable).parent / "roto"
    argv = ["farm", "template", "--openjd", *map(str, projects), "-o", str(job), "--format", "png8"]
    assert main([*argv, "--model", str(TEST_BUNDLE), "--roto", str(roto)]) == 0
    assert [step["name"] for step in json.loads(job.read_text())["steps"]] == ["shot", "shot-2"]
    check = subprocess.run([OPENJD, "check", job], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    out = tmp_path / "out"
    run = subprocess.run(
        [OPENJD, "run", job, "--step", "shot-2", "-p", f"OutputDir={out}"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (
        main(
            [
                "render",
                str(twin),
                "--out",
                str(tmp_path / "seq"),
                "--format",
                "png8",
                "--model",
                str(TEST_BUNDLE),
            ]
        )
        == 0
    )
    expected, got = mattes(tmp_path / "seq"), mattes(out / "shot-2")
    assert got.keys() == expected.keys() and expected
    assert all(np.array_equal(got[name], expected[name]) for name in expected)
    assert not (projects[0] / "render.json").exists()  # only the step asked for ran
