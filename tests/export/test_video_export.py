"""Matte videos decoded back with PyAV: codec, alpha pixel format, frame count, rate and alpha values."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from roto.errors import ExportError
from roto.export import ExportSpec, InMemorySource, export
from roto.export.video import alpha_plane
from roto.matte import MatteOps

MEDIA = Path(__file__).parents[2].parent / "shared" / "media"
SOFT = MatteOps(soft_edges=True, feather_px=2)


def decode(path: Path, decoder: str | None = None) -> tuple[av.video.stream.VideoStream, list[av.VideoFrame]]:
    """All frames of the first video stream; ``decoder`` forces a decoder (VP9 alpha needs libvpx)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if decoder is None:
            frames = list(container.decode(stream))
        else:
            context = av.CodecContext.create(decoder, "r")
            frames = [f for packet in container.demux(stream) for f in context.decode(packet)]
        return stream, frames


def wanted(shot: InMemorySource, index: int, top: int) -> np.ndarray:
    alpha = SOFT.apply(shot.object_masks["disc"][index], shot.frame_size)
    return np.rint(alpha * top).astype(np.int64)


def test_ffv1_8bit_is_lossless(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, "ffv1", objects=["disc"], matte_ops=SOFT))
    stream, frames = decode(out_dir / "sh010_disc.mkv")
    assert stream.codec_context.name == "ffv1"
    assert stream.average_rate == Fraction(30000, 1001)
    assert len(frames) == 5
    for index, frame in enumerate(frames):
        assert frame.format.name == "yuva444p"
        np.testing.assert_array_equal(alpha_plane(frame), wanted(shot, index, 255))


def test_ffv1_16bit_is_lossless(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, "ffv1", objects=["disc"], matte_ops=SOFT, bit_depth=16))
    _, frames = decode(out_dir / "sh010_disc.mkv")
    assert [f.format.name for f in frames] == ["yuva444p16le"] * 5
    for index, frame in enumerate(frames):
        np.testing.assert_array_equal(alpha_plane(frame), wanted(shot, index, 65535))


def test_prores_4444_keeps_10bit_alpha(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, "prores", objects=["disc"], matte_ops=SOFT, pattern="{object}.mov"))
    stream, frames = decode(out_dir / "disc.mov")
    assert stream.codec_context.name == "prores"
    assert stream.codec_context.profile == "4444"
    assert stream.frames == 5 and len(frames) == 5
    assert stream.average_rate == Fraction(30000, 1001)
    for index, frame in enumerate(frames):
        assert frame.format.name.startswith("yuva444p")  # FFmpeg's decoder outputs 12-bit
        bits = frame.format.components[3].bits
        ten_bit = np.rint(alpha_plane(frame).astype(np.float64) * 1023 / ((1 << bits) - 1))
        np.testing.assert_array_equal(ten_bit, wanted(shot, index, 1023))


def test_prores_cutout_carries_source_colour(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, "prores", content="rgba-straight", objects=["box"], frames=range(1)))
    _, frames = decode(out_dir / "sh010_box.mov")
    rgba = frames[0].to_ndarray(format="rgba")
    assert shot.images is not None
    assert np.abs(rgba[..., :3].astype(int) - shot.images[0]).mean() < 3
    np.testing.assert_array_equal(rgba[..., 3], shot.object_masks["box"][0] * 255)


def test_vp9_has_alpha_close_to_matte(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, "vp9", objects=["box"]))
    stream, frames = decode(out_dir / "sh010_box.webm", decoder="libvpx-vp9")
    assert stream.codec_context.name == "vp9"
    assert stream.metadata.get("alpha_mode") == "1"
    assert stream.average_rate == Fraction(30000, 1001)
    assert len(frames) == 5
    for index, frame in enumerate(frames):
        assert frame.format.name == "yuva420p"
        error = np.abs(alpha_plane(frame).astype(int) - shot.object_masks["box"][index] * 255)
        assert error.mean() < 4


def test_h264_grey_matte(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, "h264", objects=["box"]))
    stream, frames = decode(out_dir / "sh010_box.mp4")
    assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    assert stream.frames == 5 and len(frames) == 5
    assert stream.average_rate == Fraction(30000, 1001)
    grey = frames[2].to_ndarray(format="gray")
    assert np.abs(grey.astype(int) - shot.object_masks["box"][2] * 255).mean() < 4


def test_h264_refuses_odd_frame_size(out_dir: Path, listing) -> None:
    source = InMemorySource("odd", (9, 11), {"o": [np.ones((9, 11), bool)]})
    with pytest.raises(ExportError, match="even frame size"):
        export(source, ExportSpec(out_dir, "h264"))
    assert listing(out_dir) == []


def test_real_clip_cutout_keeps_rate_and_count(out_dir: Path) -> None:
    clip = MEDIA / "bedroom.mp4"
    if not clip.exists():
        pytest.skip(f"sample clip {clip} is not available")
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        pictures = []
        for frame in container.decode(stream):
            pictures.append(frame.to_ndarray(format="rgb24"))
            if len(pictures) == 8:
                break
    assert rate is not None
    height, width = pictures[0].shape[:2]
    masks = []
    for index in range(len(pictures)):
        mask = np.zeros((height, width), bool)
        mask[height // 4 : height // 2, index * 10 : width // 2 + index * 10] = True
        masks.append(mask)
    source = InMemorySource("bedroom", (height, width), {"person": masks}, Fraction(rate), pictures)
    export(source, ExportSpec(out_dir, "prores", content="rgba-premultiplied"))
    stream_out, frames = decode(out_dir / "bedroom_person.mov")
    assert stream_out.average_rate == rate
    assert len(frames) == 8
    assert (frames[0].width, frames[0].height) == (width, height)
    rgba = frames[3].to_ndarray(format="rgba")
    np.testing.assert_array_equal(rgba[..., 3], masks[3] * 255)
    assert rgba[..., :3][~masks[3]].max() <= 2  # premultiplied: colour is black outside the matte
