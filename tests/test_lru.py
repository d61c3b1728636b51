"""The one byte-bounded LRU behind the frame, mask, embedding and matte caches."""

from __future__ import annotations

import numpy as np
import pytest

from roto.lru import ByteLRU, nbytes


def _lru(max_bytes: int) -> ByteLRU[str, np.ndarray]:
    return ByteLRU(max_bytes, nbytes)


def _item(size: int) -> np.ndarray:
    return np.zeros(size, np.uint8)


def test_the_least_recently_used_goes_first_and_a_read_counts_as_use() -> None:
    cache = _lru(300)
    for key in "abc":
        cache.put(key, _item(100))
    assert cache.get("a") is not None  # now b is the oldest
    cache.put("d", _item(100))
    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}
    assert cache.nbytes == 300 and len(cache) == 3 and cache.evictions == 1


def test_replacing_a_key_counts_its_new_size_only() -> None:
    cache = _lru(1000)
    cache.put("a", _item(400))
    cache.put("a", _item(100))
    assert cache.nbytes == 100 and len(cache) == 1


def test_an_item_larger_than_the_bound_is_not_kept_and_evicts_nothing() -> None:
    cache = _lru(100)
    cache.put("a", _item(60))
    assert cache.put("big", _item(101)) is False
    assert "big" not in cache and "a" in cache and cache.nbytes == 60


def test_eviction_passes_over_the_keys_to_keep() -> None:
    cache = _lru(200)
    cache.put("keep-1", _item(100))
    cache.put("other", _item(100))
    cache.put("keep-2", _item(100), keep=lambda key: key.startswith("keep"))
    assert "other" not in cache and "keep-1" in cache and "keep-2" in cache
    cache.put("keep-3", _item(100), keep=lambda key: key.startswith("keep"))
    assert cache.nbytes == 300  # nothing else to evict: over the bound rather than a loop without end


def test_a_lowered_bound_applies_on_shrink_and_a_negative_one_is_refused() -> None:
    cache = _lru(300)
    for key in "abc":
        cache.put(key, _item(100))
    cache.max_bytes = 100
    cache.shrink()
    assert [k for k in "abc" if k in cache] == ["c"]
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
    with pytest.raises(ValueError, match="cache size must be >= 0 bytes"):
        _lru(-1)
