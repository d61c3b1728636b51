"""IO binding: the GPU's code path (tensors kept on the device between graphs) run on the CPU, against the plain path.

On a CPU the device is the host, so `device_tensors=True` keeps every tensor that feeds another graph as an
OrtValue exactly as on CUDA; the masks must be bit-identical to those of the numpy path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roto.engine.bundle import load_bundle
from roto.engine.device import BoundGraph, bf16_round_on, on_host, tensor_nbytes, to_host
from roto.engine.embeddings import EmbeddingCache
from roto.engine.propagator import bf16_round
from roto.engine.service import EngineService
from roto.engine.session import RuntimeOptions


class MovingSquare:
    media_id = "moving-square-device"
    frame_count = 8

    def read(self, index: int) -> np.ndarray:
        image = np.full((240, 320, 3), 30, np.uint8)
        image[80:160, 40 + 10 * index : 120 + 10 * index] = (230, 200, 40)
        return image


def _engine(
    test_bundle_path: Path, device_tensors: bool, cache: EmbeddingCache | None = None
) -> EngineService:
    options = RuntimeOptions(provider="cpu", precision="fp32", device_tensors=device_tensors)
    return EngineService.open(load_bundle(test_bundle_path), options, cache)


def test_device_path_gives_the_same_masks_and_keeps_tensors_off_the_host(test_bundle_path: Path) -> None:
    plain, bound = _engine(test_bundle_path, False), _engine(test_bundle_path, True)
    reader = MovingSquare()
    point, label = np.array([[80.0, 120.0]]), np.array([1])
    assert on_host(plain.encode(reader, 0).image_embed)
    embedding = bound.encode(reader, 0)
    assert not on_host(embedding.image_embed) and not on_host(embedding.high_res_feats_0)
    assert embedding.nbytes == plain.encode(reader, 0).nbytes
    a, b = plain.predict(reader, 0, point, label), bound.predict(reader, 0, point, label)
    np.testing.assert_array_equal(a.low_res_logits, b.low_res_logits)  # masks come back to the host

    videos = [engine.video(reader, memory_frames=2) for engine in (plain, bound)]
    try:
        for video in videos:
            video.add_prompts(0, 1, point, label)
            video.add_prompts(0, 2, box=np.array([30.0, 70.0, 130.0, 170.0]))
        for ours, theirs in zip(*(v.propagate() for v in videos), strict=True):
            for obj_id in (1, 2):
                np.testing.assert_array_equal(ours.logits[obj_id], theirs.logits[obj_id])
        memories = videos[1]._memories
        assert (
            len(memories) == 2 * reader.frame_count
        )  # every memory reachable: window on device, rest on disk
        assert memories.in_memory == 2 * bound.settings.num_maskmem
        assert all(not on_host(v) for v in memories._memory.values())
        spilled = next(k for k in [(1, f) for f in range(reader.frame_count)] if k not in memories._memory)
        np.testing.assert_array_equal(to_host(memories.get(spilled)), videos[0]._memories.get(spilled))
        # a correction after propagating reads spilled memories back (uploaded) and still agrees
        for video in videos:
            video.add_prompts(6, 1, np.array([[120.0, 120.0]]), np.array([1]))
        ours, theirs = (list(v.propagate(start=6, end=7, obj_ids=[1])) for v in videos)
        np.testing.assert_array_equal(ours[-1].logits[1], theirs[-1].logits[1])
    finally:
        for video in videos:
            video.close()


def test_device_embeddings_round_trip_through_the_disk_cache(test_bundle_path: Path, tmp_path: Path) -> None:
    cache = EmbeddingCache(max_bytes=0, disk_dir=tmp_path / "embeddings")  # disk tier only
    bound = _engine(test_bundle_path, True, cache)
    made = bound.encode(MovingSquare(), 3)
    read_back = bound.encode(MovingSquare(), 3)
    assert cache.stats.disk_hits == 1 and on_host(read_back.image_embed)
    np.testing.assert_array_equal(to_host(made.high_res_feats_1), read_back.high_res_feats_1)


def test_bound_graph_returns_only_kept_outputs_as_device_values(test_bundle_path: Path) -> None:
    graphs = _engine(test_bundle_path, True).graphs
    decoder = graphs.decoder.graph
    assert isinstance(decoder, BoundGraph) and decoder.device == "cpu" and decoder.keep_on_device
    value = np.random.default_rng(0).standard_normal((1, 16, 8, 8)).astype(np.float32)
    rounded = bf16_round_on(graphs.memory_encoder, value)
    assert not on_host(rounded) and tensor_nbytes(rounded) == value.nbytes
    np.testing.assert_array_equal(to_host(rounded), bf16_round(value))  # ORT's cast rounds to nearest even
    out, pos = graphs.memory_encoder.run(
        {
            "image_embed": np.zeros((1, 64, 16, 16), np.float32),
            "mask_logits": np.zeros((1, 1, 64, 64), np.float32),
            "object_score_logits": np.ones((1, 1), np.float32),
            "binarize": np.zeros(1, np.float32),
        },
        keep=("maskmem_features",),
    )
    assert not on_host(out) and on_host(pos)  # only what `keep` names stays on the device


class _OtherDeviceValue:
    """What an OrtValue made by a CUDA session looks like from a CPU session (no GPU here to make a real one)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def device_name(self) -> str:
        return "Cuda"

    def numpy(self) -> np.ndarray:
        return self.array


def test_a_tensor_from_another_device_goes_through_the_host(test_bundle_path: Path) -> None:
    """An embedding cached by a GPU session, read after the provider changed to the CPU."""
    graphs = _engine(test_bundle_path, True).graphs
    feeds = {
        "image_embed": np.random.default_rng(1).standard_normal((1, 64, 16, 16)).astype(np.float32),
        "mask_logits": np.ones((1, 1, 64, 64), np.float32),
        "object_score_logits": np.ones((1, 1), np.float32),
        "binarize": np.zeros(1, np.float32),
    }
    expected = graphs.memory_encoder.run(feeds)
    moved = graphs.memory_encoder.run({**feeds, "image_embed": _OtherDeviceValue(feeds["image_embed"])})
    for want, got in zip(expected, moved, strict=True):
        np.testing.assert_array_equal(to_host(got), to_host(want))
