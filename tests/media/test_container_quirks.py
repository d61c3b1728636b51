"""Real files with quirks: an AVI whose header counts one frame more than it holds (as FFmpeg's writer does)
opens with a warning and its packets' frames; a truncated JPEG is said to be truncated."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from roto.errors import MediaError
from roto.media import open_media


def _mjpeg_avi(path: Path, frames: int, header_frames: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for index in range(frames):
            image = np.full((48, 64, 3), index * 4, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    data = bytearray(path.read_bytes())
    for chunk, offset in ((b"avih", 16), (b"strh", 32)):  # dwTotalFrames, dwLength
        struct.pack_into("<I", data, data.find(chunk) + 8 + offset, header_frames)
    path.write_bytes(bytes(data))
    return path


def test_an_avi_header_one_frame_over_its_packets_opens_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = _mjpeg_avi(tmp_path / "ffmpeg.avi", 50, 51)
    with caplog.at_level(logging.WARNING), open_media(clip) as media:
        assert media.frame_count == 50
        assert media.read(49).shape == (48, 64, 3)
    assert "the header lists 51 frames, 50 are present" in caplog.text


def test_an_avi_missing_many_frames_is_still_truncated(tmp_path: Path) -> None:
    clip = _mjpeg_avi(tmp_path / "cut.avi", 30, 60)
    with pytest.raises(MediaError, match=r"cut\.avi: the file is truncated: its header lists 60 frames"):
        open_media(clip)


@pytest.mark.parametrize("kept", [0.5, 0.8, 0.95])
def test_a_truncated_jpeg_is_said_to_be_truncated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kept: float
) -> None:
    yy, xx = np.mgrid[:240, :320]
    image = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8)
    data = cv2.imencode(".jpg", image)[1].tobytes()
    (tmp_path / "cut.jpg").write_bytes(data[: int(len(data) * kept)])
    try:
        with caplog.at_level(logging.WARNING), open_media(tmp_path / "cut.jpg") as media:
            media.read(0)
    except MediaError as exc:  # refused: also fine, as long as it says so
        assert "truncated" in str(exc)
    else:
        assert "cut.jpg: the JPEG has no end marker: it is probably truncated" in caplog.text
