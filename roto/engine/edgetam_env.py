"""Where EdgeTAM's PyTorch code lives, and how the converter runs it beside Meta's sam2 package.

EdgeTAM's model code (facebookresearch/EdgeTAM) is a fork of Meta's sam2 package under the same top-level name,
`sam2`, so the two cannot be imported in one Python process. `scripts/setup-env.sh` installs the fork's code
(PyPI `edgetam-dimos`, code only) into a folder of its own, `.venv/edgetam`, beside the environment that holds
`sam2==1.1.0`; torch and timm are shared. Anything that needs EdgeTAM's PyTorch code (the converter, the parity
references, the benchmark) runs in a child Python whose path puts that folder first, so there `import sam2`
is the fork. This module has no torch dependency: it only finds the folder and starts such children.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from roto.errors import ModelError

FORK_REQUIREMENT = "edgetam-dimos==1.0.1"
FORK_DIR_ENV = "ROTO_EDGETAM_PATH"
_CHILD_MARK = "ROTO_EDGETAM_CHILD"  # set in the children: a child never starts another
_ERROR_KEY = "roto_error"
INSTALL_HINT = (
    "EdgeTAM's converter needs its model code beside Meta's sam2: in a checkout run "
    "`bash scripts/setup-env.sh convert`, or `pip install timm && pip install --no-deps --target "
    f"{Path(sys.prefix) / 'edgetam'} {FORK_REQUIREMENT}` (or set {FORK_DIR_ENV} to such a folder)"
)


def fork_dir() -> Path:
    """The folder holding EdgeTAM's `sam2` package: $ROTO_EDGETAM_PATH, else `edgetam` in this environment."""
    override = os.environ.get(FORK_DIR_ENV)
    return (
        Path(override) if override else Path(sys.prefix) / "edgetam"
    ).resolve()  # compared with module paths


def fork_available() -> bool:
    return (fork_dir() / "sam2" / "modeling" / "perceiver.py").is_file()


def fork_loaded() -> bool:
    """True in a process whose `import sam2` gives EdgeTAM's fork (the child processes started here), whether
    or not it has been imported yet; the converter starts a child only where this is False."""
    try:
        spec = importlib.util.find_spec("sam2")
    except (ImportError, ValueError):
        return False
    return (
        spec is not None
        and spec.origin is not None
        and Path(spec.origin).resolve().parent.parent == fork_dir()
    )


def fork_environment() -> dict[str, str]:
    """The environment of a child Python in which `import sam2` is EdgeTAM's fork and `import roto` is this Roto."""
    if not fork_available():
        raise ModelError(f"{fork_dir()}: EdgeTAM's model code is not installed there; {INSTALL_HINT}")
    roto_root = str(Path(__file__).resolve().parents[2])
    paths = [str(fork_dir()), roto_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), _CHILD_MARK: "1"}


def run_in_fork(module: str, args: list[str], timeout: float | None = None) -> str:
    """Run `python -m module args...` with EdgeTAM's code as `sam2`; its stdout, or ModelError with its error."""
    if os.environ.get(_CHILD_MARK):
        raise ModelError(f"{fork_dir()}: EdgeTAM's `sam2` did not load in the converter's child process")
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            env=fork_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelError(f"{module} (EdgeTAM) did not finish within {timeout} s") from exc
    if done.returncode != 0:
        raise ModelError(
            _error_from_child(done.stderr) or f"{module} (EdgeTAM) failed with exit code {done.returncode}"
        )
    return done.stdout


def child_error(exc: Exception) -> str:
    """The line a child writes last on stderr for an error it can explain: one JSON line, so a message of several
    lines (a strict load lists every tensor) reaches the user whole, file name first."""
    return json.dumps({_ERROR_KEY: str(exc)})


def _error_from_child(stderr: str) -> str | None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        message = json.loads(lines[-1])[_ERROR_KEY]
    except (ValueError, TypeError, KeyError):
        return lines[-1]  # a crash: its last line (the exception) is the best the child left
    return str(message)
