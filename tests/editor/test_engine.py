"""EditorEngine's answer to a click on the test bundle: the mask arrives compressed, candidates made on demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roto.editor.engine import CandidateMasks, EditorEngine
from roto.editor.requests import FramePromptSet, PredictRequest, PredictTarget
from roto.engine.bundle import load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.service import EngineService
from roto.media import open_media
from roto.project import EncodedMask, Point


def test_a_click_answers_a_compressed_mask_and_candidates_upsampled_when_asked(
    test_bundle_path: Path, small_clip: Path
) -> None:
    service = EngineService.open(load_bundle(test_bundle_path), cache=EmbeddingCache(64 << 20))
    media = open_media(small_clip)
    prompts = FramePromptSet(frame=2, points=(Point(50, 40, 1),), box=None)
    result = EditorEngine(service).predict(media, PredictRequest(PredictTarget("shot", 1, 2), 1, prompts))
    direct = service.predict(media, 2, np.array([[50, 40]], np.float32), np.array([1], np.int32))
    expected = [direct.mask(int(i)) for i in np.argsort(-direct.scores)]
    # Compressed on the engine's thread: the GUI thread only files it.
    assert isinstance(result.mask, EncodedMask) and result.mask.mask is not None
    np.testing.assert_array_equal(result.mask.mask, expected[0])
    candidates = result.candidates
    assert isinstance(candidates, CandidateMasks) and len(candidates) == 3
    for got, want in zip([candidates[0], candidates[-2], candidates[2]], expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert all(np.array_equal(a, b) for a, b in zip(candidates[1:], expected[1:], strict=True))
    assert candidates[1] is candidates[1]  # made once
