"""Fixtures: pattern clips written into tmp_path, and the shared sample clip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.media.media_clips import SHARED_MEDIA, write_clip


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, codec: str, pix_fmt: str, **kwargs: object) -> Path:
        return write_clip(tmp_path / name, codec, pix_fmt, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def bedroom() -> Path:
    path = SHARED_MEDIA / "bedroom.mp4"
    if not path.is_file():
        pytest.skip(f"shared sample clip {path} is absent")
    return path
