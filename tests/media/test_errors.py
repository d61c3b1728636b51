"""Bad input ends in a MediaError naming the file and the problem, in bounded time, never an FFmpeg error."""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from roto.errors import MediaError
from roto.media import open_media


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"nothere\.mp4: no such file"):
        open_media(tmp_path / "nothere.mp4")


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mov").touch()
    with pytest.raises(MediaError, match=r"empty\.mov: the file is empty"):
        open_media(tmp_path / "empty.mov")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.mp4"
    path.write_bytes(b"\0" * 64)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user (root) who can read any file")
        with pytest.raises(MediaError, match=r"locked\.mp4: permission denied"):
            open_media(path)
    finally:
        path.chmod(0o600)


def test_not_a_media_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("a shopping list, not a video")
    with pytest.raises(MediaError, match=r"notes\.mp4: not a video FFmpeg can read"):
        open_media(path)


def test_truncated_files(make_clip: Callable[..., Path], tmp_path: Path) -> None:
    clip = make_clip("whole.mp4", "libx264", "yuv420p", frames=60, options={"g": "10"})
    data = clip.read_bytes()
    headless = tmp_path / "cut.mp4"  # the index (moov) is written last, so cutting loses it
    headless.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"cut\.mp4: not a video FFmpeg can read, or truncated"):
        open_media(headless)

    faststart = tmp_path / "faststart.mp4"  # index first: the header promises frames the file no longer holds
    with av.open(str(clip)) as source, av.open(str(faststart), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    cut = tmp_path / "faststart_cut.mp4"
    cut.write_bytes(faststart.read_bytes()[: faststart.stat().st_size * 2 // 3])
    with pytest.raises(
        MediaError, match=r"faststart_cut\.mp4: the file is truncated: its header lists 60 frames"
    ):
        open_media(cut)


def test_audio_only(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 44100, 0, Fraction(1, 44100)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError, match=r"voice\.m4a: holds audio streams but no video"):
        open_media(path)


def test_damaged_frames_in_the_middle_are_named_and_the_rest_still_reads(
    make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("intra.avi", "mjpeg", "yuvj420p", frames=20)
    with av.open(str(clip)) as container:
        spans = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(clip.read_bytes())
    for frame in (8, 9):
        position, size = spans[frame]
        data[position + 8 : position + size] = bytes(size - 8)  # keep the JPEG start marker, zero the rest
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))

    with open_media(damaged, cache_bytes=0) as source:
        failures = {}
        for index in [*range(20), 9, 3, 15]:
            try:
                source.read(index)
            except MediaError as error:
                failures[index] = str(error)
        assert sorted(failures) == [8, 9]
        assert "damaged.avi: frame 9 cannot be decoded" in failures[9]
        assert "frames 8, 9" in failures[9]
