import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from roto.errors import ProjectError
from roto.project.maskcodec import blob_digest, decode_mask, encode_mask


@given(arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_any_mask_survives_encoding_exactly(mask: np.ndarray) -> None:
    decoded = decode_mask(encode_mask(mask), mask.shape, "test")
    assert decoded.dtype == np.bool_ and decoded.flags.c_contiguous
    np.testing.assert_array_equal(decoded, mask)


def test_blob_is_coco_rle_json() -> None:
    mask = np.zeros((3, 4), bool)
    mask[1, 1:3] = True
    assert json.loads(encode_mask(mask)) == {"size": [3, 4], "counts": "41202"}


def test_identical_masks_share_a_digest_and_different_ones_do_not() -> None:
    a = np.zeros((8, 8), bool)
    b = a.copy()
    b[0, 0] = True
    assert blob_digest(encode_mask(a)) == blob_digest(encode_mask(a.copy()))
    assert blob_digest(encode_mask(a)) != blob_digest(encode_mask(b))


def test_wrong_shape_is_refused_with_the_source_named() -> None:
    blob = encode_mask(np.ones((4, 5), bool))
    with pytest.raises(ProjectError, match=r"masks/x\.rle: mask is 4x5 but the shot's frames are 5x4"):
        decode_mask(blob, (5, 4), "masks/x.rle")


@pytest.mark.parametrize(
    ("counts", "problem"),
    [
        ("12", "do not cover"),  # too few pixels: pycocotools would return uninitialised memory
        ("<<", "do not cover"),  # twice too many pixels: pycocotools would write out of bounds
        ("1g", "truncated"),  # continuation bit on the last digit: pycocotools would read past the end
        ("1 2", "alphabet"),
        ("", "empty"),
        ("oooooooooooo0", "longer than any frame"),
    ],
)
def test_hostile_counts_are_refused(counts: str, problem: str) -> None:
    blob = json.dumps({"size": [3, 4], "counts": counts}).encode()
    with pytest.raises(ProjectError, match=problem):
        decode_mask(blob, (3, 4), "evil.rle")


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"{",
        b"[]",
        b'{"size": [3, 4]}',
        b'{"size": [3], "counts": "<"}',
        b'{"size": [3, 4], "counts": 5}',
    ],
)
def test_malformed_records_are_refused(blob: bytes) -> None:
    with pytest.raises(ProjectError, match=r"evil\.rle"):
        decode_mask(blob, (3, 4), "evil.rle")


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=127), max_size=30))
def test_random_counts_decode_to_a_valid_mask_or_are_refused(counts: str) -> None:
    blob = json.dumps({"size": [3, 4], "counts": counts}).encode()
    try:
        mask = decode_mask(blob, (3, 4), "fuzz.rle")
    except ProjectError:
        return
    assert mask.shape == (3, 4)
    assert decode_mask(encode_mask(mask), (3, 4), "again").tolist() == mask.tolist()


def _edge_case_masks() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    single = np.zeros((9, 13), bool)
    single[4, 6] = True
    first, last = np.zeros((9, 13), bool), np.zeros((9, 13), bool)
    first[0, 0] = last[-1, -1] = True
    half = np.zeros((2160, 3840), bool)
    half[:, :1920] = True  # runs of millions of pixels: counts of six digits
    stripes = np.zeros((1, 1 << 21), bool)
    stripes[0, np.arange(0, 1 << 21, 3)] = True  # differences to the run two before that are negative or zero
    growing = np.concatenate([np.arange(n) < n // 2 for n in range(2, 3000, 7)]).reshape(1, -1)
    return [
        np.zeros((5, 7), bool),
        np.ones((5, 7), bool),
        np.zeros((1, 1), bool),
        np.ones((1, 1), bool),
        single,
        first,
        last,
        np.zeros((0, 5), bool),
        np.zeros((3, 0), bool),
        rng.random((37, 53)) > 0.5,
        (rng.random((40, 30)) > 0.3)[:, ::-1],  # not contiguous
        rng.random((1, 101)) > 0.5,
        rng.random((101, 1)) > 0.5,
        rng.random((481, 641)) > 0.99,
        rng.random((481, 641)) > 0.01,
        half,
        ~half,
        stripes,
        growing,
    ]


@pytest.mark.parametrize("mask", _edge_case_masks(), ids=lambda mask: "x".join(map(str, mask.shape)))
def test_blobs_are_what_pycocotools_makes_of_the_column_major_mask(mask: np.ndarray) -> None:
    """Encoded by OpenCV and numpy, byte for byte what pycocotools writes: a mask stored before has the same digest
    now; and read back as pycocotools reads it."""
    counts = coco_mask.encode(np.asfortranarray(mask, dtype=np.uint8))["counts"].decode("ascii")
    blob = encode_mask(mask)
    assert blob == json.dumps({"size": list(mask.shape), "counts": counts}, separators=(",", ":")).encode()
    if mask.size:
        decoded = decode_mask(blob, mask.shape, "test")
        assert decoded.dtype == np.bool_ and decoded.flags.c_contiguous and np.array_equal(decoded, mask)
        theirs = coco_mask.decode({"size": list(mask.shape), "counts": counts.encode("ascii")})
        assert np.array_equal(decoded, theirs.astype(bool))


@settings(max_examples=200)
@given(arrays(np.bool_, st.tuples(st.integers(1, 60), st.integers(1, 60)), elements=st.booleans()))
def test_any_mask_encodes_as_pycocotools_does(mask: np.ndarray) -> None:
    counts = coco_mask.encode(np.asfortranarray(mask, dtype=np.uint8))["counts"].decode("ascii")
    assert json.loads(encode_mask(mask))["counts"] == counts
