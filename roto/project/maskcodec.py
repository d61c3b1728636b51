"""Masks as COCO run-length encoding (RLE) blobs: the bytes a project stores for one mask.

COCO RLE is what SAM2's own data set (SA-V) ships, it is 2-3x smaller than a 1-bit PNG for the smooth masks
rotoscoping produces, and it encodes fast enough that unsaved masks can be kept compressed in memory. Blobs are the
bytes pycocotools writes and reads (tested against it), but made and read here with OpenCV and numpy: pycocotools'
loops hold the interpreter lock for a whole mask, which stalled the editor's window, and its decoder trusts its
input (it writes out of bounds on a hostile counts string), where every blob is validated here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import cv2
import numpy as np

from roto.errors import ProjectError

MAX_SIDE = 32768
"""Largest mask width or height accepted: 8x the 4K frame, far beyond any camera, small enough to allocate."""

MAX_BLOB_BYTES = 64 * 1024 * 1024
"""A mask blob larger than this is refused before it is parsed (a real 4K mask is a few kilobytes)."""

_MAX_DIGITS = 7
"""A count has at most 7 six-bit digits (35 bits): more than MAX_SIDE**2, which no valid count exceeds."""


def encode_mask(mask: np.ndarray) -> bytes:
    """Encode a bool HxW mask as a COCO RLE JSON blob (``{"size": [h, w], "counts": "..."}``).

    The same bytes as pycocotools' ``encode`` (tested), made by OpenCV and numpy calls that let other threads run:
    pycocotools' loop holds the interpreter for a whole 4K mask (tens of milliseconds under load), and with it the
    editor's window while a propagation's masks are encoded on the engine thread.
    """
    if mask.ndim != 2 or mask.dtype != np.bool_:
        raise ProjectError(f"a mask must be a 2-D bool array, got shape {mask.shape} and dtype {mask.dtype}")
    size = [int(mask.shape[0]), int(mask.shape[1])]
    counts = _counts_string(_run_lengths(mask))
    return json.dumps({"size": size, "counts": counts}, separators=(",", ":")).encode()


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """The mask's runs in column-major order, a run of zeros first (0 when the first pixel is set), as int64.

    The column-major copy and the run boundaries come from OpenCV (a transpose, a comparison of each pixel with the
    one before, the positions of the differences), which releases the interpreter lock; numpy then works on one
    number per run.
    """
    pixels = mask.size
    if pixels == 0:
        return np.zeros(1, np.int64)
    flat = cv2.transpose(np.ascontiguousarray(mask).view(np.uint8)).reshape(1, pixels)
    changes = cv2.findNonZero(cv2.compare(flat[:, 1:], flat[:, :-1], cv2.CMP_NE)) if pixels > 1 else None
    ends = np.empty(0, np.int64) if changes is None else changes.reshape(-1, 2)[:, 0].astype(np.int64) + 1
    runs = np.diff(np.concatenate(([0], ends, [pixels])))
    return np.concatenate(([0], runs)) if flat[0, 0] else runs


def _counts_string(runs: np.ndarray) -> str:
    """COCO's compressed counts (pycocotools' ``rleToString``), for all runs at once.

    From the fourth on, a run is stored as the difference to the run two places before; each value is written as
    little-endian 6-bit digits (char - 48) of five bits each, bit 0x20 meaning "more digits follow", until the rest
    is the sign extension of the last digit's bit 0x10. ``_parse_counts`` reads the same format.
    """
    values = runs.astype(np.int64)
    values[3:] -= runs[1:-2]
    digits = np.empty((values.size, _MAX_DIGITS), np.uint8)
    more = np.empty((values.size, _MAX_DIGITS), np.bool_)
    rest = values
    for place in range(_MAX_DIGITS):
        low = rest & 0x1F
        rest = rest >> 5
        more[:, place] = np.where(low & 0x10, rest != -1, rest != 0)
        digits[:, place] = low + np.where(more[:, place], 0x20 + 48, 48)
    written = np.ones_like(more)
    written[:, 1:] = more[:, :-1]  # a digit is written when the one before said "more"
    return digits[written].tobytes().decode("ascii")


def blob_digest(blob: bytes) -> str:
    """Content address of a blob: its file name in the mask store, and the check that the file is intact."""
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


@dataclass(frozen=True)
class EncodedMask:
    """A mask already compressed and hashed, ready for ``MaskStore.put_encoded`` and the mask commands.

    Build it with ``EncodedMask.from_mask`` on a worker thread: encoding (COCO RLE) and hashing are the costly
    part of storing a mask, and the thread that records it (the GUI's, in the editor) then only files the blob.
    ``mask`` keeps the (read-only) pixels it came from, when asked to, so the store can cache them and the
    overlay that shows the new mask needs not decode it again.
    """

    digest: str
    blob: bytes
    shape: tuple[int, int]
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_mask(cls, mask: np.ndarray, *, keep_pixels: bool = True) -> EncodedMask:
        """Encode and hash a bool HxW mask (thread-safe: a pure function of ``mask``)."""
        blob = encode_mask(mask)
        pixels = None
        if keep_pixels:
            pixels = np.array(mask, dtype=np.bool_, order="C")
            pixels.flags.writeable = False
        return cls(blob_digest(blob), blob, (int(mask.shape[0]), int(mask.shape[1])), pixels)


def decode_mask(blob: bytes, expected_shape: tuple[int, int], source: str) -> np.ndarray:
    """Decode a blob into a C-ordered bool HxW mask, refusing anything but a valid mask of that shape.

    ``source`` names the file in error messages.
    """
    if len(blob) > MAX_BLOB_BYTES:
        raise ProjectError(
            f"{source}: mask data is {len(blob)} bytes, more than the {MAX_BLOB_BYTES} allowed"
        )
    try:
        record = json.loads(blob)
    except (ValueError, RecursionError) as exc:
        raise ProjectError(f"{source}: mask data is not valid JSON ({exc})") from exc
    if not isinstance(record, dict) or set(record) != {"size", "counts"}:
        raise ProjectError(f"{source}: mask data must be an object with exactly 'size' and 'counts'")
    size, counts = record["size"], record["counts"]
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise ProjectError(f"{source}: mask 'size' must be [height, width]")
    height, width = size
    if (height, width) != tuple(expected_shape):
        raise ProjectError(
            f"{source}: mask is {height}x{width} "
            f"but the shot's frames are {expected_shape[0]}x{expected_shape[1]}"
        )
    if not isinstance(counts, str) or not counts.isascii():
        raise ProjectError(f"{source}: mask 'counts' must be an ASCII string")
    runs = _parse_counts(counts.encode("ascii"), height * width, source)
    # Runs alternate zeros and ones, column by column; numpy repeats them and OpenCV turns the columns into rows,
    # both letting other threads run (pycocotools' decoder held the interpreter for the whole 4K mask).
    column_major = np.repeat((np.arange(runs.size) & 1).astype(np.uint8), runs)
    return cv2.transpose(column_major.reshape(width, height)).view(np.bool_)


def _parse_counts(counts: bytes, pixels: int, source: str) -> np.ndarray:
    """Parse COCO's compressed counts as pycocotools' ``rleFrString`` does into run lengths that must tile the frame.

    Each count is a little-endian run of 6-bit digits (char - 48); bit 0x20 means "more digits follow", bit
    0x10 of the last digit is the sign; counts from the fourth on are stored as a difference to the count two
    places before.
    """
    if pixels == 0 or not counts:
        raise ProjectError(f"{source}: mask is empty (no pixels or no counts)")
    digits = np.frombuffer(counts, dtype=np.uint8).astype(np.int64) - 48
    if digits.min() < 0 or digits.max() > 63:
        raise ProjectError(f"{source}: mask 'counts' holds characters outside COCO RLE's alphabet")
    ends = (digits & 0x20) == 0
    if not ends[-1]:
        raise ProjectError(f"{source}: mask 'counts' is truncated")
    starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    group = np.cumsum(np.concatenate(([0], ends[:-1].astype(np.int64))))
    position = np.arange(digits.size) - starts[group]
    if position.max() >= _MAX_DIGITS:
        raise ProjectError(f"{source}: mask 'counts' holds a run longer than any frame")
    values = np.add.reduceat((digits & 0x1F) << (5 * position), starts)
    negative = (digits[ends] & 0x10) != 0
    values[negative] -= np.int64(1) << (5 * (position[ends][negative] + 1))
    runs = values.copy()
    runs[3::2] = np.cumsum(values[1::2])[1:]
    runs[4::2] = np.cumsum(values[2::2])[1:]
    if runs.min() < 0 or runs.max() > pixels or int(runs.sum()) != pixels:
        raise ProjectError(f"{source}: mask runs do not cover the {pixels}-pixel frame exactly")
    return runs
