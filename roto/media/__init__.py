"""Decoding video files and image sequences frame-accurately, in bounded memory (no Qt)."""

from roto.media.cache import DEFAULT_CACHE_BYTES, FrameCache
from roto.media.open import open_media
from roto.media.source import MediaSource

__all__ = ["DEFAULT_CACHE_BYTES", "FrameCache", "MediaSource", "open_media"]
