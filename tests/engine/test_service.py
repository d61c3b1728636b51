"""EngineService: one set of sessions per bundle for clicks and propagation, and the disk tier of its cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from roto.engine import session as ort_sessions
from roto.engine.bundle import MANIFEST_NAME, Bundle, load_bundle
from roto.engine.embeddings import EmbeddingCache, default_disk_dir
from roto.engine.predictor import ImagePredictor
from roto.engine.propagator import VideoPropagator
from roto.engine.service import EngineService, StillImage
from roto.engine.session import RuntimeOptions
from roto.errors import PromptError
from roto.media import open_media
from tests.engine.test_propagator import MovingSquare

CPU = RuntimeOptions(provider="cpu")
POINT, LABEL = np.array([[80.0, 120.0]], np.float32), np.array([1])


@pytest.fixture(scope="module")
def bundle(test_bundle_path: Path) -> Bundle:
    return load_bundle(test_bundle_path)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The graph file of every ONNX Runtime session opened for a bundle while the test runs."""
    names: list[str] = []
    original = ort_sessions.create_session

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        names.append(Path(path).name)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(ort_sessions, "create_session", counting)
    return names


def test_clicks_and_two_propagations_share_four_sessions(bundle: Bundle, opened: list[str]) -> None:
    service = EngineService.open(bundle, CPU, EmbeddingCache(64 << 20))
    shot = MovingSquare()
    service.predict(shot, 0, POINT, LABEL)
    service.predict(shot, 3, box=np.array([60.0, 70.0, 170.0, 170.0]))
    assert sorted(opened) == ["image_encoder.onnx", "prompt_decoder.onnx"]  # clicking needs only these
    assert service.graphs.sessions_open == 2
    for point in ([[80.0, 120.0]], [[100.0, 100.0], [60.0, 200.0]]):  # two prompt sets: two tracking states
        video = service.video(shot)
        video.add_prompts(0, 1, np.array(point), np.ones(len(point), np.int32))
        assert len(list(video.propagate(end=4))) == 5
        video.close()
    assert sorted(opened) == sorted(
        ["image_encoder.onnx", "prompt_decoder.onnx", "memory_encoder.onnx", "memory_attention.onnx"]
    )
    assert service.graphs.sessions_open == 4
    assert sorted(service.report.graphs) == sorted(opened)


def test_service_predicts_and_tracks_as_the_standalone_classes(bundle: Bundle) -> None:
    service = EngineService.open(bundle, CPU, EmbeddingCache(64 << 20))
    shot = MovingSquare()
    ours = service.predict(shot, 2, POINT, LABEL)
    alone = ImagePredictor.open(bundle, CPU)
    alone.set_frame(MovingSquare().read(2))
    reference = alone.predict(POINT, LABEL)
    np.testing.assert_array_equal(ours.low_res_logits, reference.low_res_logits)
    np.testing.assert_array_equal(ours.scores, reference.scores)

    tracks = []
    for video in (service.video(shot), VideoPropagator.open(bundle, MovingSquare(), CPU)):
        video.add_prompts(0, 1, POINT, LABEL)
        tracks.append([r.logits[1] for r in video.propagate(end=5)])
        video.close()
    for a, b in zip(*tracks, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_cached_frame_is_not_even_read(bundle: Bundle) -> None:
    service = EngineService.open(bundle, CPU, EmbeddingCache(64 << 20))
    shot = MovingSquare()
    service.encode(shot, 4)
    service.predict(shot, 4, POINT, LABEL)
    service.predict(shot, 4, POINT, LABEL, multimask=False)
    assert shot.reads == [4]
    assert service.graphs.encoder.runs == 1


def test_still_image_is_one_frame_named_by_its_pixels() -> None:
    rgb = MovingSquare().read(0)
    assert StillImage(rgb).media_id == StillImage(rgb.copy()).media_id
    assert StillImage(rgb).media_id != StillImage(MovingSquare().read(1)).media_id
    with pytest.raises(PromptError, match="outside a still image"):
        StillImage(rgb).read(1)


def _sequence(folder: Path, frames: int = 3) -> Path:
    folder.mkdir()
    for index in range(frames):
        cv2.imwrite(
            str(folder / f"f{index:04d}.png"), cv2.cvtColor(MovingSquare().read(index), cv2.COLOR_RGB2BGR)
        )
    return folder


def test_reopened_media_is_served_from_disk_without_encoding(bundle: Bundle, tmp_path: Path) -> None:
    """A second service with empty RAM (the editor reopened) finds the embedding on disk: no encoder run."""
    clip, disk = _sequence(tmp_path / "clip"), tmp_path / "embeddings"
    with open_media(clip) as media:
        first = EngineService.open(bundle, CPU, EmbeddingCache(64 << 20, disk_dir=disk))
        before = first.predict(media, 1, POINT, LABEL)
        assert first.graphs.encoder.runs == 1
    assert len(list(disk.glob("*.npz"))) == 1 and not list(
        disk.glob(".*")
    )  # renamed into place, no temp left
    with open_media(clip) as media:
        second = EngineService.open(bundle, CPU, EmbeddingCache(64 << 20, disk_dir=disk))
        after = second.predict(media, 1, POINT, LABEL)
        assert second.graphs.encoder.runs == 0
        assert second.cache is not None and second.cache.stats.disk_hits == 1
    np.testing.assert_array_equal(before.low_res_logits, after.low_res_logits)


def test_another_model_never_reuses_the_embeddings(bundle: Bundle, tmp_path: Path) -> None:
    """Same encoder file, other pre-processing: other embeddings, so another cache key."""
    other_folder = Path(shutil.copytree(bundle.path, tmp_path / "other"))
    manifest = other_folder / MANIFEST_NAME
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["settings"]["pixel_mean"] = [0.5, 0.5, 0.5]
    manifest.write_text(json.dumps(data), encoding="utf-8")
    other = load_bundle(other_folder)
    assert other.model_key() != bundle.model_key()

    disk, shot = tmp_path / "embeddings", MovingSquare()
    EngineService.open(bundle, CPU, EmbeddingCache(64 << 20, disk_dir=disk)).encode(shot, 0)
    service = EngineService.open(other, CPU, EmbeddingCache(64 << 20, disk_dir=disk))
    service.encode(shot, 0)
    assert service.graphs.encoder.runs == 1
    assert len(list(disk.glob("*.npz"))) == 2


def test_user_cache_is_bounded_and_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTO_CACHE_DIR", str(tmp_path / "cache"))
    cache = EmbeddingCache.user(max_bytes=0)
    assert cache.disk_dir == default_disk_dir() == tmp_path / "cache" / "embeddings"
    assert cache.disk_dir.is_dir()
    assert cache.max_disk_bytes == 2 << 30 and cache.max_bytes == 0
