"""Choosing the reader for what the user dropped in: a video file, one image of a sequence, a folder."""

from __future__ import annotations

import os
from pathlib import Path

from roto.errors import MediaError
from roto.files import check_regular
from roto.media.cache import DEFAULT_CACHE_BYTES, FrameCache
from roto.media.image_io import IMAGE_SUFFIXES
from roto.media.sequence import DEFAULT_SEQUENCE_FPS, ImageSequenceSource
from roto.media.source import MediaSource
from roto.media.video import VideoSource


def open_media(
    path: str | os.PathLike[str],
    *,
    cache: FrameCache | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    sequence_fps: float = DEFAULT_SEQUENCE_FPS,
) -> MediaSource:
    """Open `path` for frame-accurate reading; raises MediaError naming the file and what is wrong with it.

    A folder, or a file with an image extension, opens as an image sequence (a still without a number is a
    one-frame sequence); anything else goes to FFmpeg. Pass `cache` to share one byte budget between
    several open sources, or `cache_bytes` to size a private one; `sequence_fps` is the rate of images.
    """
    media_path = Path(path).expanduser()
    if not media_path.exists():
        raise MediaError(f"{media_path}: no such file or folder")
    if not media_path.is_dir():
        check_regular(media_path, MediaError)  # a FIFO would hang FFmpeg, /dev/zero would never end
        if media_path.stat().st_size == 0:
            raise MediaError(f"{media_path}: the file is empty (0 bytes)")
        if not os.access(media_path, os.R_OK):
            raise MediaError(f"{media_path}: permission denied")
    if media_path.is_dir() or media_path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSequenceSource(media_path, fps=sequence_fps, cache=cache, cache_bytes=cache_bytes)
    return VideoSource(media_path, cache=cache, cache_bytes=cache_bytes)
