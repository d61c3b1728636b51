"""The mask store: pre-encoded masks and use from several threads at once."""

import threading
from pathlib import Path

import numpy as np
import pytest

from roto.errors import ProjectError
from roto.project import EncodedMask, MaskStore, UndoStack, save_project
from roto.project.maskcodec import blob_digest, encode_mask
from tests.project.project_helpers import HEIGHT, WIDTH, disc


def test_encoded_mask_is_what_put_would_store() -> None:
    mask = disc(10, 10, 6)
    encoded = EncodedMask.from_mask(mask)
    assert encoded.blob == encode_mask(mask) and encoded.digest == blob_digest(encoded.blob)
    assert encoded.shape == (HEIGHT, WIDTH)
    assert encoded.mask is not None and not encoded.mask.flags.writeable
    assert EncodedMask.from_mask(mask, keep_pixels=False).mask is None
    assert EncodedMask.from_mask(mask, keep_pixels=False) == encoded  # pixels are not part of the value
    with pytest.raises(ProjectError, match="2-D bool array"):
        EncodedMask.from_mask(np.zeros((4, 4), np.uint8))


def test_put_encoded_files_the_blob_and_caches_its_pixels() -> None:
    store = MaskStore()
    mask = disc(5, 6, 4)
    digest = store.put_encoded(EncodedMask.from_mask(mask))
    assert store.known() == {digest}
    assert store._cache.get(digest) is not None  # no decode needed to show it
    np.testing.assert_array_equal(store.get(digest, (HEIGHT, WIDTH)), mask)
    other = MaskStore()
    digest_only = other.put_encoded(EncodedMask.from_mask(mask, keep_pixels=False))
    assert digest_only == digest and digest not in other._cache
    np.testing.assert_array_equal(other.get(digest, (HEIGHT, WIDTH)), mask)


def test_put_encoded_refuses_data_that_does_not_match_its_digest() -> None:
    encoded = EncodedMask.from_mask(disc(5, 6, 4))
    forged = EncodedMask(encoded.digest, encode_mask(disc(9, 9, 4)), encoded.shape)
    store = MaskStore()
    with pytest.raises(ProjectError, match="does not match its data"):
        store.put_encoded(forged)
    with pytest.raises(ProjectError, match="does not match its data"):
        store.put_encoded(EncodedMask("../etc", encoded.blob, encoded.shape))
    assert store.known() == set()


def test_threads_writing_and_reading_keep_the_cache_accounting_exact(
    stack: UndoStack, tmp_path: Path
) -> None:
    """An export thread reads (some masks from disk) while the GUI thread stores new masks and saves."""
    project = stack.project
    save_project(project, tmp_path / "p.roto")
    store = project.masks
    store.cache_bytes = 20 * HEIGHT * WIDTH  # small: evictions all the time
    saved = [entry.digest for entry in project.shot("shot1").object(1).masks.values()]
    masks = [disc(x % WIDTH, (x * 7) % HEIGHT, 3 + x % 5) for x in range(60)]
    encoded = [EncodedMask.from_mask(m) for m in masks]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(part: int) -> None:
        try:
            start.wait()
            for item in encoded[part::2]:
                store.put_encoded(item)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(40):
                for digest in saved:
                    store.get(digest, (HEIGHT, WIDTH))
                for item, mask in zip(encoded, masks, strict=True):
                    if item.digest in store.known():
                        np.testing.assert_array_equal(store.get(item.digest, (HEIGHT, WIDTH)), mask)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    held = [mask for digest in store.known() if (mask := store._cache.get(digest)) is not None]
    assert store.cached_bytes == sum(m.nbytes for m in held) <= store.cache_bytes
    assert {item.digest for item in encoded} <= store.known()
