"""Video decoding: every codec and container gives frame N's own picture, whatever the order of reads."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.errors import MediaError
from roto.media import MediaSource, open_media
from roto.media.video import VideoSource
from tests.media.media_clips import read_pattern

X265_QUIET = {"x265-params": "log-level=none"}

CODECS = [
    # name, file, encoder, pixel format, encoder options, upright size
    ("h264", "clip.mp4", "libx264", "yuv420p", {"crf": "18", "g": "8", "bf": "3"}, (128, 64)),
    ("h264-10bit", "clip.mkv", "libx264", "yuv420p10le", {"crf": "18", "g": "8"}, (128, 64)),
    (
        "h264-open-gop",
        "clip.mp4",
        "libx264",
        "yuv420p",
        {"crf": "18", "g": "8", "bf": "3", "x264-params": "open-gop=1:keyint=8:min-keyint=8:scenecut=0"},
        (128, 64),
    ),
    ("h265", "clip.mp4", "libx265", "yuv420p", {**X265_QUIET, "crf": "18", "g": "8"}, (128, 64)),
    ("h265-10bit", "clip.mov", "libx265", "yuv420p10le", {**X265_QUIET, "crf": "18", "g": "8"}, (128, 64)),
    ("prores", "clip.mov", "prores_ks", "yuv422p10le", {}, (128, 64)),
    ("prores-4444-alpha", "clip.mov", "prores_ks", "yuva444p10le", {}, (128, 64)),
    ("vp9", "clip.webm", "libvpx-vp9", "yuv420p", {"crf": "20", "b": "0", "g": "8"}, (128, 64)),
    ("mjpeg-odd-size", "clip.avi", "mjpeg", "yuvj420p", {"q": "2"}, (41, 23)),
    ("ffv1-grey-odd-size", "clip.mkv", "ffv1", "gray", {}, (33, 17)),
    ("ffv1-alpha", "clip.mkv", "ffv1", "yuva420p", {}, (64, 32)),
    ("h264-444-odd-size", "clip.mkv", "libx264", "yuv444p", {"crf": "10"}, (33, 17)),
]


def assert_shows(source: MediaSource, index: int) -> None:
    frame = source.read(index)
    assert frame.dtype == np.uint8
    assert frame.shape == (source.size[1], source.size[0], 3)
    assert read_pattern(frame) == index % 2 ** min(8, max(2, frame.shape[1] // 8))


@pytest.mark.parametrize(
    ("name", "file", "codec", "pix_fmt", "options", "size"), CODECS, ids=[c[0] for c in CODECS]
)
def test_every_frame_shows_its_own_number_in_and_out_of_order(
    make_clip: Callable[..., Path],
    name: str,
    file: str,
    codec: str,
    pix_fmt: str,
    options: dict[str, str],
    size: tuple[int, int],
) -> None:
    frames = 24
    path = make_clip(file, codec, pix_fmt, options=options, size=size, frames=frames)
    with open_media(path, cache_bytes=0) as source:
        assert isinstance(source, VideoSource)
        assert source.frame_count == frames
        assert source.size == size
        order = list(range(frames))
        random.Random(name).shuffle(order)
        for index in [*order, *range(frames - 1, -1, -1), *range(frames)]:
            assert_shows(source, index)


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_rotation_metadata_turns_frames_upright(make_clip: Callable[..., Path], rotation: int) -> None:
    path = make_clip("phone.mp4", "libx264", "yuv420p", size=(64, 128), frames=6, rotation=rotation)
    with open_media(path) as source:
        assert source.size == (64, 128)
        for index in (5, 0, 3):
            assert_shows(source, index)


def test_variable_frame_rate_keeps_each_frames_time(make_clip: Callable[..., Path]) -> None:
    times_ms = [0, 40, 50, 150, 160, 400, 410, 420, 600, 1000]
    path = make_clip(
        "vfr.mkv", "libx264", "yuv420p", frames=len(times_ms), times_ms=times_ms, options={"bf": "2"}
    )
    with open_media(path) as source:
        assert isinstance(source, VideoSource)
        assert source.is_variable_frame_rate
        np.testing.assert_allclose(source.frame_times, np.array(times_ms) / 1000, atol=1e-6)
        for index in (9, 2, 7, 0, 5):
            assert_shows(source, index)


def test_constant_rate_metadata(make_clip: Callable[..., Path]) -> None:
    path = make_clip(
        "cfr.mov", "libx264", "yuv420p", frames=48, rate=24, metadata={"timecode": "01:02:03:04"}
    )
    with open_media(path) as source:
        assert isinstance(source, VideoSource)
        assert source.fps == pytest.approx(24)
        assert source.duration == pytest.approx(2.0)
        np.testing.assert_allclose(source.frame_times, np.arange(48) / 24, atol=1e-6)
        assert source.frame_numbers == tuple(range(48))
        assert not source.is_variable_frame_rate
        assert source.timecode == "01:02:03:04"


def test_reading_in_order_keeps_the_decoder_positioned(
    make_clip: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_clip("long.mp4", "libx264", "yuv420p", frames=40, options={"g": "10", "bf": "2"})
    with open_media(path, cache_bytes=0) as source:
        assert isinstance(source, VideoSource)
        seeks: list[int] = []
        real_seek = VideoSource._seek

        def counting_seek(self: VideoSource, index: int) -> int:
            seeks.append(index)
            return real_seek(self, index)

        monkeypatch.setattr(VideoSource, "_seek", counting_seek)
        for index in range(1, 40):  # opening decoded frame 0 already
            assert_shows(source, index)
        assert seeks == [], "sequential reading must decode forward, not seek"
        assert_shows(source, 5)
        assert seeks == [5]


def test_cache_stays_within_its_byte_budget(make_clip: Callable[..., Path]) -> None:
    path = make_clip("budget.mp4", "libx264", "yuv420p", frames=30)
    frame_bytes = 128 * 64 * 3
    with open_media(path, cache_bytes=5 * frame_bytes) as source:
        for index in range(30):
            source.read(index)
            assert source.cache.current_bytes <= 5 * frame_bytes
        assert len(source.cache) == 5


def test_thumbnail_is_small_and_shows_the_frame(make_clip: Callable[..., Path]) -> None:
    path = make_clip("thumbs.mp4", "libx264", "yuv420p", size=(256, 128), frames=20)
    with open_media(path) as source:
        thumb = source.thumbnail(13, max_side=64)
        assert thumb.shape == (32, 64, 3)
        assert read_pattern(thumb) == 13


def test_a_preview_decodes_small_and_the_full_frame_after_it_needs_no_decoding(
    make_clip: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrubbing a 4K clip: previews convert only the small picture and leave the full frames uncached; the full
    frame asked for on release, after previews decoded ahead of it, is converted from the held decoded frame."""
    path = make_clip("scrub.mp4", "libx264", "yuv420p", size=(256, 128), frames=20)
    with open_media(path) as source, open_media(path) as reference:
        for index in range(9, 14):  # the drag's last preview (9), then four decoded ahead of it
            thumb = source.thumbnail(index, max_side=64)
            assert thumb.shape == (32, 64, 3) and read_pattern(thumb) == index
            assert (source.media_id, index) not in source.cache  # the full frame was never converted
            full = reference.read(index)
            shrunk = cv2.resize(full, (64, 32), interpolation=cv2.INTER_AREA)
            assert np.abs(thumb.astype(int) - shrunk.astype(int)).mean() < 8  # resampled a little differently
        assert isinstance(source, VideoSource)
        seeks: list[int] = []
        original = source._seek
        monkeypatch.setattr(source, "_seek", lambda index: seeks.append(index) or original(index))
        np.testing.assert_array_equal(source.read(9), reference.read(9))  # the release
        assert seeks == []
        source.read(2)  # a frame never decoded needs the decoder again
        assert seeks == [2]


def test_frames_are_read_only_so_the_cache_cannot_be_corrupted(make_clip: Callable[..., Path]) -> None:
    path = make_clip("ro.mp4", "libx264", "yuv420p", frames=3)
    with open_media(path) as source, pytest.raises(ValueError):
        source.read(1)[0, 0, 0] = 7


def test_media_id_is_stable_and_follows_the_file(make_clip: Callable[..., Path]) -> None:
    path = make_clip("id.mp4", "libx264", "yuv420p", frames=3)
    with open_media(path) as first, open_media(path) as second:
        assert first.media_id == second.media_id
    other = make_clip("id2.mp4", "libx264", "yuv420p", frames=4)
    with open_media(other) as third:
        assert third.media_id != first.media_id


def test_bedroom_random_seeks_match_sequential_decode(bedroom: Path) -> None:
    with open_media(bedroom, cache_bytes=0) as source:
        assert source.frame_count == 200
        assert source.size == (960, 540)
        assert source.fps == pytest.approx(30)
        sequential = [source.read(index).copy() for index in range(source.frame_count)]
        order = [199, 0, 150, 37, 120, 121, 5, 198, 64, 63, 100]
        for index in order:
            np.testing.assert_array_equal(source.read(index), sequential[index], err_msg=f"frame {index}")
        assert not np.array_equal(sequential[0], sequential[199])


def test_reading_out_of_range_or_after_close_raises(make_clip: Callable[..., Path]) -> None:
    path = make_clip("range.mp4", "libx264", "yuv420p", frames=3)
    source = open_media(path)
    with pytest.raises(MediaError, match=r"frame 3 does not exist.*0\.\.2"):
        source.read(3)
    with pytest.raises(MediaError, match="frame -1"):
        source.read(-1)
    source.close()
    with pytest.raises(MediaError, match="closed"):
        source.read(0)


def test_video_frame_numbers_and_times_are_built_once_and_read_only(make_clip: Callable[..., Path]) -> None:
    with open_media(make_clip("once.mp4", "libx264", "yuv420p", frames=6)) as source:
        assert source.frame_numbers is source.frame_numbers == tuple(range(6))
        assert source.frame_times is source.frame_times
        with pytest.raises(ValueError, match="read-only"):
            source.frame_times[0] = 5.0
