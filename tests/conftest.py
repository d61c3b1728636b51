"""Shared fixtures: the committed test bundle and the sample media beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_BUNDLE = ROOT / "tests" / "data" / "bundles" / "sam2.1-test"
SHARED_MEDIA = ROOT.parent / "shared" / "media"


@pytest.fixture(scope="session")
def test_bundle_path() -> Path:
    return TEST_BUNDLE


@pytest.fixture(scope="session")
def shared_media() -> Path:
    if not SHARED_MEDIA.is_dir():
        if os.environ.get("CI"):  # CI has shared/ beside the clone: the parity tests must not skip there
            pytest.fail(f"sample media not found at {SHARED_MEDIA}")
        pytest.skip(f"sample media not found at {SHARED_MEDIA}")
    return SHARED_MEDIA
