"""Clips made on the fly whose frames show their own number as big black/white bars (survive lossy codecs)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

SHARED_MEDIA = Path(__file__).parents[2].parent / "shared" / "media"


def code_bits(width: int) -> int:
    return max(2, min(8, width // 8))


def frame_pattern(number: int, width: int, height: int) -> np.ndarray:
    """An upright RGB picture whose vertical bars spell `number` in binary, high bit on the left."""
    bits = code_bits(width)
    image = np.zeros((height, width, 3), np.uint8)
    for bit in range(bits):
        if number >> (bits - 1 - bit) & 1:
            image[:, bit * width // bits : (bit + 1) * width // bits] = 255
    return image


def read_pattern(image: np.ndarray) -> int:
    """The number `frame_pattern` drew, from the middle of each bar (the edges blur under compression)."""
    height, width = image.shape[:2]
    bits = code_bits(width)
    number = 0
    for bit in range(bits):
        left, right = bit * width // bits, (bit + 1) * width // bits
        middle = image[
            height // 4 : max(height // 4 + 1, 3 * height // 4),
            left + (right - left) // 4 : right - (right - left) // 4,
        ]
        number = number << 1 | int(middle.mean() > 127)
    return number


def write_clip(
    path: Path,
    codec: str,
    pix_fmt: str,
    *,
    size: tuple[int, int] = (128, 64),
    frames: int = 30,
    rate: int = 24,
    options: dict[str, str] | None = None,
    times_ms: Sequence[int] | None = None,
    rotation: int = 0,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode `frames` pattern frames; `size` is the upright size, `rotation` the display matrix to record.

    The stored pictures are the upright ones turned the opposite way, so a reader that honours the matrix
    shows the pattern upright. `times_ms` gives each frame's time for variable-rate clips.
    """
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    width, height = size
    stored_w, stored_h = (height, width) if rotation % 180 else (width, height)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height, stream.pix_fmt = stored_w, stored_h, pix_fmt
        if times_ms is not None:
            stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        stream.metadata.update(metadata or {})
        for number in range(frames):
            upright = frame_pattern(number, width, height)
            stored = np.ascontiguousarray(np.rot90(upright, k=-(rotation // 90)))
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24").reformat(format=pix_fmt)
            if times_ms is not None:
                frame.pts, frame.time_base = times_ms[number], Fraction(1, 1000)
            else:
                frame.pts = number
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
