"""The frozen app from packaging/build.sh passes packaging/smoke_test.sh (only where a build exists)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dist" / "roto" / "roto"


@pytest.mark.slow
def test_frozen_app_smoke_test(shared_media: Path) -> None:
    if not APP.exists() and os.environ.get("ROTO_TEST_FROZEN") != "1":
        pytest.skip(
            "no frozen build in dist/roto: run packaging/build.sh (or set ROTO_TEST_FROZEN=1 to require it)"
        )
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "smoke_test.sh")],
        cwd=ROOT,
        env={**os.environ, "ROTO_SMOKE_MEDIA": str(shared_media)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "masks identical" in result.stdout
    assert result.stdout.rstrip().endswith("smoke test passed")
