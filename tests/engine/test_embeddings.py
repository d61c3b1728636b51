"""EmbeddingCache: a memory LRU bounded in bytes over an optional disk tier bounded in bytes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from roto.engine import embeddings
from roto.engine.embeddings import EmbeddingCache, EmbeddingKey, FrameEmbedding

MODEL = "0f35e0c08a64"


def _embedding(seed: int, side: int = 4) -> FrameEmbedding:
    """Three small float32 arrays: 3 * side * side * 4 bytes (192 bytes for side 4)."""
    rng = np.random.default_rng(seed)
    return FrameEmbedding(
        rng.random((1, 1, side, side), np.float32),
        rng.random((1, 1, side, side), np.float32),
        rng.random((1, 1, side, side), np.float32),
        frame_hw=(side * 10, side * 20),
    )


def _key(frame: int, media: str = "clip.mp4") -> EmbeddingKey:
    return EmbeddingKey(media, frame, MODEL)


def _assert_same(a: FrameEmbedding, b: FrameEmbedding) -> None:
    np.testing.assert_array_equal(a.image_embed, b.image_embed)
    np.testing.assert_array_equal(a.high_res_feats_0, b.high_res_feats_0)
    np.testing.assert_array_equal(a.high_res_feats_1, b.high_res_feats_1)
    assert a.frame_hw == b.frame_hw


SIZE = _embedding(0).nbytes


def test_nbytes_counts_all_three_arrays() -> None:
    assert SIZE == 3 * 16 * 4


def test_memory_hit_and_miss() -> None:
    cache = EmbeddingCache(max_bytes=10 * SIZE)
    assert cache.get(_key(0)) is None
    cache.put(_key(0), _embedding(0))
    found = cache.get(_key(0))
    assert found is not None
    _assert_same(found, _embedding(0))
    assert cache.stats.memory_hits == 1
    assert cache.stats.misses == 1
    assert cache.stats.disk_hits == 0
    assert cache.memory_bytes == SIZE


def test_keys_distinguish_media_frame_and_model() -> None:
    cache = EmbeddingCache(max_bytes=10 * SIZE)
    cache.put(_key(3), _embedding(0))
    assert _key(3) in cache
    assert EmbeddingKey("clip.mp4", 4, MODEL) not in cache
    assert EmbeddingKey("other.mp4", 3, MODEL) not in cache
    assert EmbeddingKey("clip.mp4", 3, "another-model") not in cache
    assert len({_key(3).digest(), _key(4).digest(), EmbeddingKey("clip.mp4", 3, "x").digest()}) == 3


def test_evicts_least_recently_used_by_bytes() -> None:
    cache = EmbeddingCache(max_bytes=3 * SIZE)
    for frame in range(3):
        cache.put(_key(frame), _embedding(frame))
    assert cache.memory_bytes == 3 * SIZE
    assert cache.get(_key(0)) is not None  # frame 0 becomes the most recent
    cache.put(_key(3), _embedding(3))  # over budget: frame 1 is now the least recent
    assert cache.stats.evictions == 1
    assert _key(1) not in cache
    assert all(_key(f) in cache for f in (0, 2, 3))
    assert cache.memory_bytes == 3 * SIZE


def test_large_entry_evicts_several_small_ones() -> None:
    cache = EmbeddingCache(max_bytes=5 * SIZE)
    for frame in range(4):
        cache.put(_key(frame), _embedding(frame))
    big = _embedding(9, side=8)  # 4 * SIZE
    cache.put(_key(9), big)
    assert cache.stats.evictions == 3
    assert [f for f in (0, 1, 2, 3, 9) if _key(f) in cache] == [3, 9]
    assert cache.memory_bytes == SIZE + big.nbytes


def test_replacing_a_key_does_not_double_count() -> None:
    cache = EmbeddingCache(max_bytes=2 * SIZE)
    cache.put(_key(0), _embedding(0))
    cache.put(_key(0), _embedding(1))
    assert cache.memory_bytes == SIZE
    found = cache.get(_key(0))
    assert found is not None
    _assert_same(found, _embedding(1))


def test_entry_larger_than_memory_budget_is_not_kept() -> None:
    cache = EmbeddingCache(max_bytes=SIZE - 1)
    cache.put(_key(0), _embedding(0))
    assert _key(0) not in cache
    assert cache.memory_bytes == 0


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        EmbeddingCache(max_bytes=-1)


def test_disk_tier_persists_across_instances(tmp_path: Path) -> None:
    first = EmbeddingCache(max_bytes=10 * SIZE, disk_dir=tmp_path / "emb")
    first.put(_key(5), _embedding(5))
    assert len(list((tmp_path / "emb").glob("*.npz"))) == 1

    second = EmbeddingCache(max_bytes=10 * SIZE, disk_dir=tmp_path / "emb")
    found = second.get(_key(5))
    assert found is not None
    _assert_same(found, _embedding(5))
    assert second.stats.disk_hits == 1
    assert second.stats.misses == 0
    assert second.get(_key(5)) is not None  # promoted to memory by the disk hit
    assert second.stats.memory_hits == 1
    assert second.get(_key(6)) is None
    assert second.stats.misses == 1


def test_disk_tier_serves_what_memory_evicted(tmp_path: Path) -> None:
    cache = EmbeddingCache(max_bytes=SIZE, disk_dir=tmp_path)
    cache.put(_key(0), _embedding(0))
    cache.put(_key(1), _embedding(1))
    assert _key(0) not in cache
    found = cache.get(_key(0))
    assert found is not None
    _assert_same(found, _embedding(0))
    assert cache.stats.disk_hits == 1


def test_disk_tier_is_bounded_and_drops_oldest(tmp_path: Path) -> None:
    probe = EmbeddingCache(disk_dir=tmp_path / "probe")
    probe.put(_key(0), _embedding(0))
    (file_size,) = [p.stat().st_size for p in (tmp_path / "probe").glob("*.npz")]

    cache = EmbeddingCache(max_bytes=0, disk_dir=tmp_path / "emb", max_disk_bytes=3 * file_size)
    for frame in range(5):
        cache.put(_key(frame), _embedding(frame))
        path = tmp_path / "emb" / f"{_key(frame).digest()}.npz"
        os.utime(path, (1_000_000 + frame, 1_000_000 + frame))  # distinct, increasing recency
    files = list((tmp_path / "emb").glob("*.npz"))
    assert sum(p.stat().st_size for p in files) <= 3 * file_size
    assert {p.stem for p in files} == {_key(f).digest() for f in (2, 3, 4)}
    assert cache.get(_key(0)) is None
    assert cache.get(_key(4)) is not None


def _file_size(folder: Path) -> int:
    probe = EmbeddingCache(disk_dir=folder)
    probe.put(_key(0), _embedding(0))
    (size,) = [p.stat().st_size for p in folder.glob("*.npz")]
    return size


def test_disk_tier_is_scanned_only_when_a_write_may_pass_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan stats every file (~20 ms of Python for a thousand, once per tracked frame in the editor): only the
    first write, a write that may pass the bound, and every `_RESCAN_WRITES`-th write scan."""
    file_size = _file_size(tmp_path / "probe")
    monkeypatch.setattr(embeddings, "_RESCAN_WRITES", 4)
    cache = EmbeddingCache(max_bytes=0, disk_dir=tmp_path / "emb", max_disk_bytes=100 * file_size)
    scans: list[int] = []

    def count_scans(of: EmbeddingCache) -> None:
        trim = of._trim_disk

        def counting() -> int:
            scans.append(len(list((tmp_path / "emb").glob("*.npz"))))
            return trim()

        monkeypatch.setattr(of, "_trim_disk", counting)

    count_scans(cache)
    for frame in range(9):
        cache.put(_key(frame), _embedding(frame))
    assert scans == [1, 5, 9]  # writes 1, 5 and 9
    small = EmbeddingCache(max_bytes=0, disk_dir=tmp_path / "emb", max_disk_bytes=11 * file_size)
    count_scans(small)
    small.put(_key(20), _embedding(20))  # scans: 10 files known
    small.put(_key(21), _embedding(21))  # 11: fits, no scan
    small.put(_key(22), _embedding(22))  # would pass the bound: scans and trims
    assert scans == [1, 5, 9, 10, 12]
    assert len(list((tmp_path / "emb").glob("*.npz"))) == 11


def test_what_other_processes_write_is_trimmed_at_the_next_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_size = _file_size(tmp_path / "probe")
    monkeypatch.setattr(embeddings, "_RESCAN_WRITES", 2)
    folder = tmp_path / "emb"
    ours = EmbeddingCache(max_bytes=0, disk_dir=folder, max_disk_bytes=3 * file_size)
    theirs = EmbeddingCache(max_bytes=0, disk_dir=folder, max_disk_bytes=3 * file_size)
    ours.put(_key(0), _embedding(0))  # first write: scans, knows 1 file
    for frame in (1, 2, 3):
        theirs.put(_key(frame), _embedding(frame))
    ours.put(_key(4), _embedding(4))  # knows 2 files, unaware of theirs: no scan
    assert len(list(folder.glob("*.npz"))) == 4
    ours.put(_key(5), _embedding(5))  # the second write since its scan: scans again and trims
    assert sum(p.stat().st_size for p in folder.glob("*.npz")) <= 3 * file_size


def test_zero_disk_budget_writes_nothing(tmp_path: Path) -> None:
    cache = EmbeddingCache(disk_dir=tmp_path, max_disk_bytes=0)
    cache.put(_key(0), _embedding(0))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["empty", "text", "zip-header", "truncated"])
def test_corrupt_cache_file_is_discarded(tmp_path: Path, damage: str) -> None:
    writer = EmbeddingCache(disk_dir=tmp_path)
    writer.put(_key(0), _embedding(0))
    path = tmp_path / f"{_key(0).digest()}.npz"
    whole = path.read_bytes()
    content = {
        "empty": b"",
        "text": b"not an npz file at all",
        "zip-header": b"PK\x03\x04 and nothing else",
        "truncated": whole[: len(whole) // 2],
    }[damage]
    path.write_bytes(content)

    reader = EmbeddingCache(disk_dir=tmp_path)
    assert reader.get(_key(0)) is None
    assert reader.stats.misses == 1
    assert not path.exists()
    reader.put(_key(0), _embedding(0))  # and the slot works again
    assert EmbeddingCache(disk_dir=tmp_path).get(_key(0)) is not None


def test_cache_file_missing_an_array_is_discarded(tmp_path: Path) -> None:
    path = tmp_path / f"{_key(0).digest()}.npz"
    np.savez(path, image_embed=np.zeros(3, np.float32))
    cache = EmbeddingCache(disk_dir=tmp_path)
    assert cache.get(_key(0)) is None
    assert not path.exists()
