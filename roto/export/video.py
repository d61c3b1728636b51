"""Matte videos through PyAV (FFmpeg): ProRes 4444, FFV1 and VP9 with alpha, and an H.264 grey matte.

Colour planes come from FFmpeg's RGB->YUV conversion, but the alpha plane is written directly from the
matte: swscale's alpha conversion is not bit-exact, and lossless codecs must give the matte back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.video.stream import VideoStream

from roto.errors import ExportError


@dataclass(frozen=True)
class VideoCodec:
    """How one kind of matte video is written."""

    label: str
    container: str
    suffix: str
    codec: str
    pix_fmt: str
    alpha_bits: int  # 0: no alpha plane, the matte is the grey picture itself
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)
    needs_even_size: bool = False


PRORES_4444 = VideoCodec(
    "ProRes 4444", "mov", ".mov", "prores_ks", "yuva444p10le", 10, {"profile": "4444", "vendor": "apl0"}
)
FFV1 = VideoCodec("FFV1", "matroska", ".mkv", "ffv1", "yuva444p", 8, {"level": "3", "slicecrc": "1"})
FFV1_16 = VideoCodec("FFV1", "matroska", ".mkv", "ffv1", "yuva444p16le", 16, {"level": "3", "slicecrc": "1"})
VP9_ALPHA = VideoCodec(
    "VP9",
    "webm",
    ".webm",
    "libvpx-vp9",
    "yuva420p",
    8,
    {"crf": "15", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"},
)
H264_LUMA = VideoCodec(
    "H.264",
    "mp4",
    ".mp4",
    "libx264",
    "yuv420p",
    0,
    {"crf": "16", "preset": "medium"},
    {"movflags": "+faststart"},
    needs_even_size=True,
)


def alpha_plane(frame: av.VideoFrame) -> np.ndarray:
    """Writable view of a yuva frame's alpha plane without the row padding (also used to read back)."""
    plane = frame.planes[3]
    dtype = np.uint16 if frame.format.components[3].bits > 8 else np.uint8
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(memoryview(plane), dtype=dtype).reshape(plane.height, plane.line_size // itemsize)
    return rows[:, : plane.width]


class MatteVideoWriter:
    """One open matte video; frames are encoded as they arrive, so memory stays constant."""

    def __init__(self, path: Path, final: Path, codec: VideoCodec, size: tuple[int, int], fps: Fraction):
        height, width = size
        if codec.needs_even_size and (width % 2 or height % 2):
            raise ExportError(
                f"{codec.label} needs an even frame size, the shot is {width}x{height}; "
                "export ProRes or FFV1 instead"
            )
        self._final = final
        self._codec = codec
        try:
            self._container = av.open(str(path), "w", format=codec.container, options=codec.container_options)
            self._stream = cast(
                VideoStream, self._container.add_stream(codec.codec, rate=fps, options=codec.options)
            )
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = codec.pix_fmt
        except (av.FFmpegError, ValueError) as exc:
            self._close_quietly()
            raise ExportError(f"Cannot start {codec.label} video {final}: {exc}") from None
        self._next_pts = 0

    def write(self, alpha: np.ndarray, rgb: np.ndarray | None, premultiplied: bool) -> None:
        """Encode one frame: ``alpha`` float [0, 1]; colour is ``rgb`` (or the grey matte when None)."""
        if rgb is None:
            grey = np.rint(alpha * 255.0).astype(np.uint8)
            rgb = np.dstack([grey, grey, grey])
        elif premultiplied:
            rgb = np.rint(rgb.astype(np.float32) * alpha[..., None]).astype(np.uint8)
        try:
            if self._codec.alpha_bits == 0:
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=self._codec.pix_fmt)
            else:
                rgba = np.dstack([rgb, np.zeros(alpha.shape, np.uint8)])
                frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format=self._codec.pix_fmt)
                top = (1 << self._codec.alpha_bits) - 1
                alpha_plane(frame)[:] = np.rint(np.clip(alpha, 0.0, 1.0) * top)
            frame.pts = self._next_pts
            self._next_pts += 1
            self._container.mux(self._stream.encode(frame))
        except (av.FFmpegError, ValueError) as exc:
            raise ExportError(f"Cannot encode frame {self._next_pts} of {self._final}: {exc}") from None

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
        except (av.FFmpegError, ValueError) as exc:
            self._close_quietly()
            raise ExportError(f"Cannot finish {self._final}: {exc}") from None

    def discard(self) -> None:
        """Close after a failure or cancel; the caller deletes the temporary file."""
        self._close_quietly()

    def _close_quietly(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            try:
                container.close()
            except (av.FFmpegError, ValueError, OSError):
                return
