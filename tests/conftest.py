"""Shared fixtures: the committed test bundle and the sample media beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_BUNDLE = ROOT / "tests" / "data" / "bundles" / "sam2.1-test"
SHARED_MEDIA = ROOT.parent / "shared" / "media"
CLIP_SIZE = (160, 96)  # width, height: small so the editor tests stay fast on two shared cores
CLIP_FRAMES = 12


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedding caches made with `EmbeddingCache.user()` write here, never in the real user cache folder."""
    monkeypatch.setenv("ROTO_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))


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


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bright square moving over a dark gradient, H.264 like the footage users bring."""
    path = tmp_path_factory.mktemp("clip") / "square.mp4"
    width, height = CLIP_SIZE
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ramp = np.linspace(20, 90, width, dtype=np.uint8)
        for index in range(CLIP_FRAMES):
            rgb = np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)
            x = 30 + 4 * index
            rgb[30:70, x : x + 40] = (230, 200, 60)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
