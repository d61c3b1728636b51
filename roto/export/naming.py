"""Output file names from user patterns, made safe so no pattern can write outside the output folder."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from roto.errors import ExportError

FIELDS = ("shot", "object", "frame")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize(name: str) -> str:
    """A shot/object name as a single safe file-name component (no separators, no leading dots)."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    return cleaned or "_"


@dataclass(frozen=True)
class NamePattern:
    """A pattern such as ``{shot}_{object}.{frame:04d}.png``; ``/`` in the pattern makes subfolders."""

    pattern: str

    def __post_init__(self) -> None:
        try:
            parsed = list(string.Formatter().parse(self.pattern))
        except ValueError as exc:
            raise ExportError(f"File name pattern '{self.pattern}' is malformed: {exc}") from None
        for _, field, _, conversion in parsed:
            if field is not None and (field not in FIELDS or conversion is not None):
                raise ExportError(
                    f"File name pattern '{self.pattern}' uses '{{{field}}}'; "
                    f"allowed fields are {', '.join('{' + f + '}' for f in FIELDS)}"
                )
        for flavour in (PurePosixPath, PureWindowsPath):
            pure = flavour(self.pattern)
            if pure.is_absolute() or pure.drive or pure.root or ".." in pure.parts:
                raise ExportError(
                    f"File name pattern '{self.pattern}' must be a relative name inside the output folder"
                )
        try:
            self.pattern.format(shot="s", object="o", frame=1)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise ExportError(f"File name pattern '{self.pattern}' cannot be filled in: {exc}") from None

    @property
    def fields(self) -> set[str]:
        return {field for _, field, _, _ in string.Formatter().parse(self.pattern) if field}

    def render(self, out_dir: Path, shot: str, obj: str, frame: int | None = None) -> Path:
        """The output path for one file; shot and object names are sanitised before substitution."""
        name = self.pattern.format(shot=sanitize(shot), object=sanitize(obj), frame=frame)
        parts = [part for part in re.split(r"[\\/]+", name) if part not in ("", ".")]
        if not parts or any(part == ".." for part in parts):
            raise ExportError(f"File name pattern '{self.pattern}' gives the unusable name '{name}'")
        path = out_dir.joinpath(*parts)
        if not path.resolve().is_relative_to(out_dir.resolve()):
            raise ExportError(f"File name pattern '{self.pattern}' would write outside {out_dir}: {path}")
        return path
