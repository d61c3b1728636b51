"""`roto track --save-project` never throws the tracking away: a project another program holds is refused
before any tracking, and a save that fails at the end still exports, then says the project was not saved."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from roto.project import ProjectLock
from tests.conftest import ROOT
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


TERMINATED_EXPORT = """
import os, sys
import roto.export
from roto.cli import main

real_export = roto.export.export

def export(source, spec, progress=None, cancel=None):
    def signalled(done, total):
        if done == 3:
            os.kill(os.getpid(), int(sys.argv[3]))  # as `kill` or a closed terminal would, mid-export
        if progress is not None:
            progress(done, total)
    return real_export(source, spec, progress=signalled, cancel=cancel)

roto.export.export = export
sys.exit(main(["export", sys.argv[1], "--out", sys.argv[2], "--format", "png8"]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM and SIGHUP are POSIX")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_export_cleans_up_before_it_exits(
    clip: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    signum: int,
) -> None:
    project = tmp_path / "shot.roto"
    code, _, err = track(capsys, clip, tmp_path / "first", *PROMPT, "--save-project", str(project))
    assert code == 0, err
    out = tmp_path / "out"
    child = subprocess.run(
        [sys.executable, "-c", TERMINATED_EXPORT, str(project), str(out), str(int(signum))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == 128 + signum, child.stderr
    assert f"roto: stopped by signal {int(signum)}" in child.stderr and "Traceback" not in child.stderr
    assert not out.exists() or list(out.iterdir()) == []  # no hidden parts, no half sequence
