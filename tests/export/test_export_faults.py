"""Exports killed or failing at any step: a kill among the final renames is finished by the next export (never
part of a sequence under final names), hidden parts of killed exports are cleaned, running exports are left
alone, and clean-up never replaces the real error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from roto.errors import ExportError
from roto.export import ExportFormat, ExportSpec, InMemorySource, export
from roto.export.staging import Staging, recover_dead_exports
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and flock are POSIX")

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import numpy as np
    from roto.export import ExportFormat, ExportSpec, InMemorySource, export

    out, mode, at, signum = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    masks = [np.arange(48 * 64).reshape(48, 64) % (7 + i) == 0 for i in range(8)]
    source = InMemorySource("sh", (48, 64), {"a": masks, "b": masks[::-1]})
    calls = 0
    if mode == "rename":
        real = os.replace
        def dying(src, dst):
            global calls
            if str(dst).endswith(".png"):
                calls += 1
                if calls > at:
                    os.kill(os.getpid(), signum)
            return real(src, dst)
        os.replace = dying
    def progress(done, total):
        if mode == "frames" and done == at:
            os.kill(os.getpid(), signum)
    export(source, ExportSpec(out, ExportFormat.PNG, overwrite=True), progress=progress)
    """
)


def _child(out: Path, mode: str, at: int, signum: int) -> int:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(out), mode, str(at), str(signum)], cwd=ROOT, timeout=120
    ).returncode


def _complete_export(tmp_path: Path) -> dict[str, bytes]:
    reference = tmp_path / "reference"
    assert _child(reference, "none", 0, 0) == 0
    return {p.name: p.read_bytes() for p in reference.iterdir()}


def test_a_kill_at_each_final_rename_is_finished_by_the_next_export(tmp_path: Path) -> None:
    expected = _complete_export(tmp_path)
    assert len(expected) == 16
    for at in range(0, 16, 3):
        out = tmp_path / f"killed{at}"
        assert _child(out, "rename", at, signal.SIGKILL) == -signal.SIGKILL
        finals = [p for p in out.iterdir() if not p.name.startswith(".")]
        assert len(finals) == at  # what the kill left under final names...
        assert any(p.name.endswith(".commit") for p in out.iterdir())  # ...is marked as an unfinished commit
        recover_dead_exports(out)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == expected  # whole, and nothing hidden left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_parts_left_by_an_export_killed_mid_way_are_cleaned_by_the_next(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out"
    assert _child(out, "frames", 3, signum) == -signum
    assert any(p.name.endswith(".part") for p in out.iterdir())
    source = InMemorySource("sh", (8, 8), {"other": [np.ones((8, 8), bool)]})
    result = export(source, ExportSpec(out, ExportFormat.PNG))
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in result.files)


def test_a_running_export_in_the_same_folder_is_left_alone(tmp_path: Path) -> None:
    running = Staging()
    temp = running.temp_path(tmp_path / "a.png")
    temp.write_bytes(b"still being written")
    recover_dead_exports(tmp_path)
    assert temp.read_bytes() == b"still being written"
    assert running.commit() == [tmp_path / "a.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_clean_up_that_fails_never_replaces_the_real_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = InMemorySource("sh", (8, 8), {"a": [np.ones((8, 8), bool)] * 3})
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.name.endswith(".part"):
            raise OSError(30, "Read-only file system")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)

    def fail(done: int, _total: int) -> None:
        if done == 2:
            raise ExportError("the real error")

    with pytest.raises(ExportError, match="the real error"):
        export(source, ExportSpec(tmp_path / "out", ExportFormat.PNG), progress=fail)


@pytest.mark.parametrize("fmt", [ExportFormat.PNG, ExportFormat.EXR, ExportFormat.PRORES, ExportFormat.COCO])
def test_an_output_folder_that_is_a_file_is_refused_before_any_frame(
    tmp_path: Path, fmt: ExportFormat
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file")
    source = InMemorySource("sh", (8, 8), {"a": [np.ones((8, 8), bool)] * 3})
    with pytest.raises(ExportError, match=r"out is a file, not a folder"):
        export(
            source, ExportSpec(blocker, fmt), cancel=lambda: True
        )  # as `roto track` checks before tracking
    assert blocker.read_text() == "a file"
