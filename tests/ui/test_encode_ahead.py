"""While the user looks at a frame, the worker encodes its neighbours so stepping to them needs no encoder run;
clicks, encoding and every propagation run on the one set of sessions the worker's engine opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from roto.editor.requests import (
    FramePromptSet,
    Leg,
    ObjectPromptSet,
    PredictRequest,
    PredictTarget,
    PropagateRequest,
)
from roto.engine import session as ort_sessions
from roto.engine.embeddings import EmbeddingCache, EmbeddingKey
from roto.engine.session import RuntimeOptions
from roto.media import open_media
from roto.project import Point
from roto.ui.app import MainWindow
from roto.ui.worker import EngineWorker
from tests.ui.ui_helpers import open_and_show


def test_neighbours_of_the_shown_frame_are_encoded_when_idle(
    qtbot: QtBot, window: MainWindow, small_clip: Path
) -> None:
    open_and_show(qtbot, window, small_clip)
    worker = window.engine
    with qtbot.waitSignal(worker.frame_encoded, timeout=20_000, check_params_cb=lambda frame: frame == 5):
        window.timeline.set_frame(5)  # from here on the label says "Encoding around frame 5…" until idle
    source = window.state.document.media if window.state.document is not None else None
    assert source is not None
    model = worker.service.bundle.model_key() if worker.service is not None else ""

    def cached(frame: int) -> bool:
        return EmbeddingKey(source.media_id, frame, model) in worker.cache

    qtbot.waitUntil(lambda: window.status.engine.text() == "Ready", timeout=20_000)
    assert all(cached(f) for f in (4, 5, 6, 7))  # "Ready" waits for the neighbours: a click needs no encode
    assert not cached(9)  # only the near neighbours, not the whole clip


def test_ready_is_never_shown_while_a_shown_frame_waits_for_its_encoding(
    qtbot: QtBot, window: MainWindow, small_clip: Path
) -> None:
    """The label changed only when the engine thread's signal arrived: between the frame being shown and that
    signal, a click was taken as answered in decoder time and waited for the encoder."""
    open_and_show(qtbot, window, small_clip)
    qtbot.waitUntil(lambda: window.status.engine.text() == "Ready", timeout=20_000)
    window.editor.frame_shown(9, playing=False)  # what the canvas calls when frame 9 is on screen
    assert window.status.engine.text() == "Encoding frame 9…"  # before any event from the engine thread
    qtbot.waitUntil(lambda: window.status.engine.text() == "Ready", timeout=20_000)


def test_clicks_and_propagations_share_one_set_of_sessions(
    qtbot: QtBot, test_bundle_path: Path, small_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clicks, then two runs with different prompts (two tracking states): each graph opened once."""
    opened: list[str] = []
    create = ort_sessions.create_session

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(path.name)
        return create(path, *args, **kwargs)

    monkeypatch.setattr(ort_sessions, "create_session", counting)
    worker, media = EngineWorker(EmbeddingCache(64 << 20)), open_media(small_clip)
    worker.start()
    try:
        with qtbot.waitSignal(worker.engine_ready, timeout=30_000):
            worker.load_bundle(test_bundle_path, RuntimeOptions(provider="cpu"))
        worker.set_source(media)
        for frame in (0, 3):
            with qtbot.waitSignal(worker.mask_ready, timeout=30_000):
                target = PredictTarget("shot", 1, frame)
                worker.predict(
                    PredictRequest(target, frame, FramePromptSet(frame, (Point(50.0, 50.0),), None))
                )
        assert sorted(opened) == ["image_encoder.onnx", "prompt_decoder.onnx"]
        for run_id, point in enumerate((Point(50.0, 50.0), Point(60.0, 40.0))):
            objects = (ObjectPromptSet(1, (FramePromptSet(0, (point,), None),)),)
            request = PropagateRequest(run_id, objects, (Leg(0, 4, False, (1,)),))
            with qtbot.waitSignal(worker.propagation_done, timeout=60_000) as done:
                worker.propagate(request)
            assert done.args == [run_id, False]
    finally:
        worker.stop()
        media.close()
    assert sorted(opened) == sorted(
        ["image_encoder.onnx", "prompt_decoder.onnx", "memory_encoder.onnx", "memory_attention.onnx"]
    )


def test_the_editors_sessions_never_spin_wait(qtbot: QtBot, test_bundle_path: Path) -> None:
    """ONNX Runtime's threads busy-wait between operators by default, taking the cores the window's thread needs
    while a run tracks: every session the editor's worker opens has it off."""
    worker = EngineWorker(EmbeddingCache(64 << 20))
    worker.start()
    try:
        with qtbot.waitSignal(worker.engine_ready, timeout=30_000):
            worker.load_bundle(test_bundle_path, RuntimeOptions(provider="cpu"))
        assert worker.service is not None
        graphs = worker.service.graphs
        for session in (graphs.encoder.session, graphs.decoder.session, graphs.encoder.preprocess.session):
            entry = session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
            assert entry == "0"
    finally:
        worker.stop()
