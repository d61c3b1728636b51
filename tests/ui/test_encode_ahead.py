"""While the user looks at a frame, the worker encodes its neighbours so stepping to them needs no encoder run."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from roto.engine.embeddings import EmbeddingKey
from roto.ui.app import MainWindow
from tests.ui.ui_helpers import open_and_show


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's embedding cache writes its disk tier here, never in the real user cache folder."""
    monkeypatch.setenv("ROTO_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))


def test_neighbours_of_the_shown_frame_are_encoded_when_idle(
    qtbot: QtBot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    window.timeline.set_frame(5)
    qtbot.waitUntil(lambda: window.shown_frame == 5, timeout=10_000)
    worker = window.engine
    source = window.doc.media if window.doc is not None else None
    assert source is not None
    model = worker.service.bundle.model_key() if worker.service is not None else ""

    def cached(frame: int) -> bool:
        return EmbeddingKey(source.media_id, frame, model) in worker.cache

    qtbot.waitUntil(lambda: all(cached(f) for f in (4, 5, 6, 7)), timeout=20_000)
    assert not cached(9)  # only the near neighbours, not the whole clip
