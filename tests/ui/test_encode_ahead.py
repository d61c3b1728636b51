"""While the user looks at a frame, the worker encodes its neighbours so stepping to them needs no encoder run."""

from __future__ import annotations

from pathlib import Path

from roto.engine.embeddings import EmbeddingKey
from roto.ui.app import MainWindow
from tests.ui.ui_helpers import open_and_show


def test_neighbours_of_the_shown_frame_are_encoded_when_idle(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    window.timeline.set_frame(5)
    qtbot.waitUntil(lambda: window.shown_frame == 5, timeout=10_000)
    worker = window.engine
    source = window.doc.media if window.doc is not None else None
    assert source is not None
    model = worker._predictor.bundle.model_key() if worker._predictor is not None else ""

    def cached(frame: int) -> bool:
        return EmbeddingKey(source.media_id, frame, model) in worker.cache

    qtbot.waitUntil(lambda: all(cached(f) for f in (4, 5, 6, 7)), timeout=20_000)
    assert not cached(9)  # only the near neighbours, not the whole clip
