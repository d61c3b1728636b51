"""Writing mattes: image sequences, alpha video, EXR, COCO RLE; matte operations (no Qt)."""

from roto.export.exporter import (
    CancelToken,
    Content,
    ExportFormat,
    ExportResult,
    ExportSpec,
    Layout,
    ProgressCallback,
    export,
)
from roto.export.naming import NamePattern, sanitize
from roto.export.source import InMemorySource, MatteSource

__all__ = [
    "CancelToken",
    "Content",
    "ExportFormat",
    "ExportResult",
    "ExportSpec",
    "InMemorySource",
    "Layout",
    "MatteSource",
    "NamePattern",
    "ProgressCallback",
    "export",
    "sanitize",
]
