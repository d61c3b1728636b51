"""Finding the files of a numbered image sequence (`shot.0001.png` ...) from one file or its folder."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from roto.errors import MediaError
from roto.media.image_io import IMAGE_SUFFIXES

_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<suffix>\D*)$")


@dataclass(frozen=True)
class SequenceFiles:
    """The files of one sequence in frame-number order, and the numbers missing between first and last."""

    pattern: str
    """e.g. `shot.####.png` (one `#` per padded digit, a single `#` when unpadded)."""
    paths: tuple[Path, ...]
    numbers: tuple[int, ...]
    missing: tuple[int, ...]


@dataclass(frozen=True)
class _Key:
    prefix: str
    suffix: str
    width: int
    """Digits of a padded number; 0 for unpadded numbers (no leading zeros, any length)."""

    def pattern(self, digits: int = 1) -> str:
        return f"{self.prefix}{'#' * (self.width or digits)}{self.suffix}"


def find_sequence(path: Path) -> SequenceFiles:
    """The sequence `path` belongs to (an unnumbered still is a one-frame sequence), or a folder's."""
    if path.is_dir():
        return _largest_in_folder(path)
    key = _key_of(path.name)
    if key is None:
        return SequenceFiles(pattern=path.name, paths=(path,), numbers=(0,), missing=())
    return _collect(key, _members(path.parent))


def _largest_in_folder(folder: Path) -> SequenceFiles:
    members = _members(folder)
    if not members:
        stills = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if len(stills) == 1:
            return find_sequence(stills[0])
        raise MediaError(
            f"{folder}: no numbered image sequence here (expected files like shot.0001.png)"
            + (f"; found {len(stills)} unnumbered images, open one of them directly" if stills else "")
        )
    # The longest sequence wins; ties go to the alphabetically first pattern so the choice is reproducible.
    key = min(members, key=lambda k: (-len(members[k]), k.pattern()))
    return _collect(key, members)


def _members(folder: Path) -> dict[_Key, dict[int, Path]]:
    groups: dict[_Key, dict[int, Path]] = defaultdict(dict)
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise MediaError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from exc
    for entry in entries:
        key = _key_of(entry.name)
        if key is not None and entry.suffix.lower() in IMAGE_SUFFIXES and entry.is_file():
            match = _NUMBERED.match(entry.name)
            assert match is not None
            groups[key][int(match["digits"])] = entry
    return groups


def _key_of(name: str) -> _Key | None:
    match = _NUMBERED.match(name)
    if match is None or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
        return None
    digits = match["digits"]
    padded = len(digits) > 1 and digits.startswith("0")
    return _Key(match["prefix"], match["suffix"], len(digits) if padded else 0)


def _collect(key: _Key, members: dict[_Key, dict[int, Path]]) -> SequenceFiles:
    # Padding that numbers outgrow (0999 -> 1000) leaves later files unpadded: both halves are one sequence.
    unpadded = members.get(_Key(key.prefix, key.suffix, 0), {})
    width = key.width or min(len(str(n)) for n in unpadded)
    padded = members.get(_Key(key.prefix, key.suffix, width), {})
    by_number = {**{n: p for n, p in unpadded.items() if len(str(n)) >= width}, **padded}
    numbers = sorted(by_number)
    present = set(numbers)
    missing = tuple(n for n in range(numbers[0], numbers[-1] + 1) if n not in present)
    return SequenceFiles(
        pattern=key.pattern(digits=min(len(str(n)) for n in numbers)),
        paths=tuple(by_number[n] for n in numbers),
        numbers=tuple(numbers),
        missing=missing,
    )
