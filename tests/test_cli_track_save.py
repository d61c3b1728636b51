"""`roto track --save-project` never throws the tracking away: a project another program holds is refused
before any tracking, and a save that fails at the end still exports, then says the project was not saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from roto.project import ProjectLock
from tests.test_cli_track import assert_one_line_error, clip, track  # noqa: F401 - clip is a fixture

PROMPT = ("--object", "square", "--point", "0:90,120", "--format", "png8", "--range", "0-3")


def test_a_project_open_elsewhere_is_refused_before_tracking(
    clip: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "shot.roto"
    with ProjectLock.acquire(project, "the Roto editor"):
        code, _, err = track(
            capsys, clip, tmp_path / "out", *PROMPT, "--save-project", str(project), "--overwrite"
        )
    assert code == 1
    assert_one_line_error(err, "roto: error:", "open for writing in the Roto editor (pid ")
    assert not (tmp_path / "out").exists()  # refused before tracking: nothing exported either


def test_a_save_that_fails_at_the_end_still_exports_and_reports_it(
    clip: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "shot.roto"
    project.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (project / "masks").symlink_to(tmp_path / "elsewhere")  # the save refuses to write through it
    code, _, err = track(
        capsys, clip, tmp_path / "out", *PROMPT, "--save-project", str(project), "--overwrite"
    )
    assert code == 1
    assert_one_line_error(err, "roto: error: tracked and exported 4 file(s)", "but the project was not saved")
    assert len(list((tmp_path / "out").iterdir())) == 4
