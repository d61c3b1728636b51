"""The child Python that runs EdgeTAM's code: found wherever its folder is named from, relative paths included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from roto.engine import edgetam_env
from roto.errors import ModelError


def test_a_relative_fork_folder_is_recognised_in_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    if not edgetam_env.fork_available():
        pytest.skip("EdgeTAM's code is not installed (scripts/setup-env.sh test installs it)")
    relative = os.path.relpath(edgetam_env.fork_dir())
    monkeypatch.setenv(edgetam_env.FORK_DIR_ENV, relative)
    assert edgetam_env.fork_dir() == Path(relative).resolve()
    env = edgetam_env.fork_environment()
    code = "from roto.engine.edgetam_env import fork_loaded; print(fork_loaded())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
    assert not edgetam_env.fork_loaded()  # this process's sam2 is Meta's


def test_a_checkpoint_that_does_not_fit_is_named_in_the_whole_error(tmp_path: Path) -> None:
    """The child's error used to reach the user as its last line only: a tensor name, without the file."""
    if not edgetam_env.fork_available():
        pytest.skip("EdgeTAM's code is not installed (scripts/setup-env.sh test installs it)")
    torch = pytest.importorskip("torch")
    checkpoint = tmp_path / "not-edgetam.pt"
    torch.save({"model": {"stray": torch.zeros(2)}}, checkpoint)
    args = ["--variant", "edgetam-test", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "bundle")]
    with pytest.raises(ModelError) as caught:
        edgetam_env.run_in_fork("roto.engine.export_edgetam", args)
    message = str(caught.value)
    assert message.startswith(f"{checkpoint}: its weights do not fit EdgeTAM")
    assert '"stray"' in message and "Missing key(s)" in message
    assert not (tmp_path / "bundle").exists()
