"""Reading and writing ``NAME.roto/`` project folders: manifest, mask files, atomic saves, migrations.

A save writes every new mask file (content-addressed, each written aside and renamed into place) before it
replaces the manifest, so whenever the process dies the folder holds the old manifest or the new one, and
either finds all its masks. Everything read from disk is validated: a damaged or hostile file raises
ProjectError naming the file, and loading never writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

import roto
from roto.errors import ProjectError
from roto.files import read_regular
from roto.matte import MatteOps
from roto.project.lock import ProjectLock
from roto.project.maskcodec import MAX_SIDE
from roto.project.maskstore import DEFAULT_CACHE_BYTES, DIGEST_PATTERN, MASK_SUFFIX, MaskStore, mask_file_name
from roto.project.model import Box, FramePrompts, MaskEntry, MaskOrigin, Point, Project, RotoObject, Shot

PROJECT_SUFFIX = ".roto"
MANIFEST_NAME = "project.json"
RECOVERY_NAME = "recovery.json"
MASKS_DIR = "masks"
FORMAT_NAME = "roto-project"
CURRENT_VERSION = 3
TEMP_SUFFIX = ".tmp"

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_SHOTS = 1000
MAX_OBJECTS = 1000
MAX_FRAME_COUNT = 10_000_000
MAX_FRAME_NUMBER = 1_000_000_000
MAX_PROMPTS_PER_FRAME = 10_000
MAX_COORDINATE = 1e7
MAX_TEXT = 4096

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _add_matte_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 gives each object its matte settings; a version 1 object had none, i.e. all off."""
    for shot in data.get("shots") or ():
        for obj in (shot.get("objects") or ()) if isinstance(shot, dict) else ():
            if isinstance(obj, dict):
                obj.setdefault("matte", {})
    return data


def _add_in_out(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 stores each shot's in/out range; a version 2 shot had none, i.e. the whole shot."""
    for shot in data.get("shots") or ():
        if isinstance(shot, dict):
            shot.setdefault("in_out", None)
    return data


MIGRATIONS: dict[int, Migration] = {1: _add_matte_settings, 2: _add_in_out}
"""``MIGRATIONS[n]`` turns a version-n manifest into a version n+1 one. A format change bumps CURRENT_VERSION,
registers its migration here and freezes a sample of the old version under tests/project/data/."""


# ----------------------------------------------------------------------------------------------------- saving


def save_project(project: Project, folder: Path, *, lock: ProjectLock | None = None) -> None:
    """Save (or save as) into ``folder`` (``NAME.roto``); drops the recovery file and unused masks.

    ``lock`` is the caller's held lock on ``folder`` (the editor holds one while the document is open); without
    one the save takes the lock for its duration, so a second writer is refused instead of interleaved.
    """
    folder = _project_folder(folder)
    with _writing(folder, lock):
        referenced = _write(project, folder, MANIFEST_NAME)
        _remove(folder / RECOVERY_NAME)
        _collect_garbage(project.masks, folder, referenced)


def write_recovery(project: Project, folder: Path, *, lock: ProjectLock | None = None) -> Path:
    """Write the unsaved document as ``recovery.json`` beside the manifest, leaving the saved one as is."""
    folder = _project_folder(folder)
    with _writing(folder, lock):
        _write(project, folder, RECOVERY_NAME)
    return folder / RECOVERY_NAME


@contextmanager
def _writing(folder: Path, lock: ProjectLock | None) -> Iterator[None]:
    """Hold the project's lock while writing: the caller's, or one taken for this write."""
    if lock is not None:
        if not lock.covers(folder):
            raise ProjectError(f"{folder}: the lock given is for {lock.folder}, not for this project")
        yield
        return
    with ProjectLock.acquire(folder):
        yield


def discard_recovery(folder: Path) -> None:
    """Forget a recovery file the user declined; its masks go at the next save."""
    _remove(Path(folder) / RECOVERY_NAME)


def _project_folder(folder: Path) -> Path:
    folder = Path(folder)
    if folder.suffix != PROJECT_SUFFIX:
        raise ProjectError(f"{folder}: a project folder's name must end in {PROJECT_SUFFIX}")
    return folder


def _write(project: Project, folder: Path, manifest_name: str) -> set[str]:
    """Write missing mask files, then the manifest, each durably; returns the digests it references."""
    masks_dir = folder / MASKS_DIR
    if masks_dir.is_symlink():
        raise ProjectError(
            f"{masks_dir}: is a symbolic link; a save would write and delete files outside the project"
        )
    written: list[Path] = []
    try:
        masks_dir.mkdir(parents=True, exist_ok=True)
        present = _stored_digests(masks_dir)
        referenced = {
            entry.digest for shot in project.shots for obj in shot.objects for entry in obj.masks.values()
        }
        for digest in sorted(referenced - present):
            written.append(masks_dir / mask_file_name(digest))
            _atomic_write(written[-1], project.masks.blob(digest))
        _fsync_dir(masks_dir)
        document = _json_text(_encode_project(project, folder))
        _atomic_write(folder / manifest_name, document.encode("utf-8"))
        written.clear()  # the manifest now references them
        _fsync_dir(folder)
        project.masks.attach(masks_dir, (project.masks.known() & present) | referenced)
    except OSError as exc:
        _forget(written)
        raise ProjectError(f"{folder}: cannot save the project ({exc.strerror or exc})") from exc
    except BaseException:
        _forget(written)
        raise
    return referenced


def _forget(written: list[Path]) -> None:
    """Remove the mask files a failed save wrote: no manifest references them, and a full disk needs the space."""
    for path in written:
        with contextlib.suppress(OSError):  # the next save's clean-up removes what is left
            path.unlink(missing_ok=True)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_text(data: dict[str, Any]) -> str:
    """Indented UTF-8 JSON; names and paths that are not UTF-8 (lone surrogates from the file system's bytes)
    are written as \\uXXXX escapes, which JSON allows and which load back to the same path or name."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _atomic_write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        _remove(temp)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make renames durable (POSIX only: Windows cannot fsync a directory, and needs not)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ProjectError(f"{path}: cannot remove ({exc.strerror or exc})") from exc


def _stored_digests(masks_dir: Path) -> set[str]:
    try:
        names = os.listdir(masks_dir)
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise ProjectError(f"{masks_dir}: cannot list mask files ({exc.strerror or exc})") from exc
    return {
        name[: -len(MASK_SUFFIX)]
        for name in names
        if name.endswith(MASK_SUFFIX) and DIGEST_PATTERN.fullmatch(name[: -len(MASK_SUFFIX)])
    }


def _collect_garbage(masks: MaskStore, folder: Path, referenced: set[str]) -> None:
    """Delete temp files of interrupted saves and mask files nothing on disk references any more.

    A mask this session still knows (undo history may bring it back) is copied into memory first.
    """
    masks_dir = folder / MASKS_DIR
    known = masks.known()
    for directory in (folder, masks_dir):
        try:
            names = os.listdir(directory)
        except OSError as exc:
            raise ProjectError(f"{directory}: cannot list files ({exc.strerror or exc})") from exc
        for name in names:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                _remove(directory / name)
    for digest in _stored_digests(masks_dir) - referenced:
        if digest in known:
            masks.retain(digest)
        _remove(masks_dir / mask_file_name(digest))


def _encode_project(project: Project, folder: Path) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": CURRENT_VERSION,
        "writer": f"Roto {roto.__version__}",
        "saved_at": datetime.now(UTC).isoformat(),
        "name": project.name,
        "shots": [_encode_shot(shot, folder) for shot in project.shots],
    }


def _encode_shot(shot: Shot, folder: Path) -> dict[str, Any]:
    return {
        "id": shot.id,
        "media": _portable_media_path(shot.media, folder),
        "first_frame": shot.first_frame,
        "frame_count": shot.frame_count,
        "fps": f"{shot.fps.numerator}/{shot.fps.denominator}",
        "width": shot.width,
        "height": shot.height,
        "objects": [_encode_object(obj) for obj in shot.objects],
        "in_out": list(shot.in_out) if shot.in_out is not None else None,
    }


def _encode_object(obj: RotoObject) -> dict[str, Any]:
    return {
        "id": obj.id,
        "name": obj.name,
        "color": list(obj.color),
        "visible": obj.visible,
        "locked": obj.locked,
        "prompts": {
            str(frame): {
                "points": [[p.x, p.y, p.label] for p in prompts.points],
                "boxes": [[b.x0, b.y0, b.x1, b.y1] for b in prompts.boxes],
            }
            for frame, prompts in sorted(obj.prompts.items())
        },
        "masks": {
            str(frame): {"mask": entry.digest, "origin": entry.origin.value}
            for frame, entry in sorted(obj.masks.items())
        },
        "matte": obj.matte.changed(),
    }


def _portable_media_path(media: Path, folder: Path) -> str:
    """Relative to the project folder when possible (they move together), else absolute (another drive)."""
    try:
        return Path(os.path.relpath(media, os.path.abspath(folder))).as_posix()
    except ValueError:
        return str(media)


# ---------------------------------------------------------------------------------------------------- loading


def load_project(folder: Path, *, recovery: bool = False, cache_bytes: int = DEFAULT_CACHE_BYTES) -> Project:
    """Open ``NAME.roto`` (its recovery file with ``recovery=True``); masks are read only when asked for."""
    folder = Path(folder)
    path = folder / (RECOVERY_NAME if recovery else MANIFEST_NAME)
    data = read_manifest(path)
    masks_dir = folder / MASKS_DIR
    project = _Decoder(str(path), folder).project(data)
    referenced = {e.digest for shot in project.shots for obj in shot.objects for e in obj.masks.values()}
    missing = sorted(referenced - _stored_digests(masks_dir))
    if missing:
        first = masks_dir / mask_file_name(missing[0])
        raise ProjectError(f"{path}: mask file {first} is missing ({len(missing)} missing in all)")
    project.masks = MaskStore(cache_bytes)
    project.masks.attach(masks_dir, referenced)
    return project


def read_manifest(path: Path) -> dict[str, Any]:
    """Parse a manifest and migrate it to the current version (still unvalidated beyond its header)."""
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ProjectError(f"{path}: {size} bytes is too large for a project manifest")
        text = read_regular(path, MAX_MANIFEST_BYTES, ProjectError).decode("utf-8")
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except FileNotFoundError as exc:
        raise ProjectError(f"{path}: no such project file") from exc
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (ValueError, RecursionError) as exc:
        raise ProjectError(f"{path}: not valid JSON ({exc}); the file may be truncated or damaged") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ProjectError(f"{path}: not a Roto project manifest")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{path}: invalid format version {version!r}")
    if version > CURRENT_VERSION:
        raise ProjectError(
            f"{path}: written by Roto format {version}, this Roto reads up to {CURRENT_VERSION}: upgrade Roto"
        )
    while version < CURRENT_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["version"] = version
    return data


def manifest_saved_at(path: Path) -> datetime | None:
    """When a manifest was written; None when it is absent or unreadable (so it cannot be the newer one)."""
    try:
        stamp = read_manifest(path).get("saved_at")
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except (ProjectError, ValueError):
        return None


_FPS_PATTERN = re.compile(r"[0-9]{1,9}(/[0-9]{1,9})?")


def _positive_rate(text: str) -> Fraction | None:
    """The rate a manifest's ``fps`` text names, None for zero or a zero denominator ("1/0")."""
    try:
        rate = Fraction(text)
    except ZeroDivisionError:
        return None
    return rate if rate > 0 else None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: with a repeated key one of the values would vanish."""
    data = dict(pairs)
    if len(data) != len(pairs):
        repeated = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ValueError(f"the key {_short(repeated)} appears twice in one object")
    return data


class _Decoder:
    """Validating reader: each error names the file and the place in it: ``shots[0].objects[2].color``."""

    def __init__(self, source: str, folder: Path) -> None:
        self.source = source
        self.folder = folder

    def fail(self, where: str, problem: str) -> NoReturn:
        raise ProjectError(f"{self.source}: {where}: {problem}")

    def in_out(self, value: Any, where: str, shot: Shot) -> tuple[int, int] | None:
        if value is None:
            return None
        last_frame = shot.first_frame + shot.frame_count - 1
        pair = self.array(value, where, 2)
        if len(pair) != 2:
            self.fail(where, "expected [in, out] or null")
        first = self.integer(pair[0], f"{where}[0]", shot.first_frame, last_frame)
        last = self.integer(pair[1], f"{where}[1]", first, last_frame)
        return (first, last)

    def mapping(self, value: Any, where: str, required: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "expected an object")
        missing = [key for key in required if key not in value]
        if missing:
            self.fail(where, f"missing {', '.join(missing)}")
        return value

    def array(self, value: Any, where: str, limit: int) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, "expected a list")
        if len(value) > limit:
            self.fail(where, f"{len(value)} entries, more than the {limit} allowed")
        return value

    def integer(self, value: Any, where: str, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(where, f"expected an integer from {low} to {high}, got {_short(value)}")
        return value

    def number(self, value: Any, where: str) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            self.fail(where, f"expected a number, got {_short(value)}")
        if abs(value) > MAX_COORDINATE:
            self.fail(where, f"{value} is far outside any frame")
        return float(value)

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            self.fail(where, f"expected a text of at most {MAX_TEXT} characters")
        return value

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {_short(value)}")
        return value

    def frame_key(self, key: str, where: str, shot: Shot) -> int:
        if not re.fullmatch(r"-?[0-9]{1,10}", key):
            self.fail(where, f"{_short(key)} is not a frame number")
        frame = int(key)
        if str(frame) != key:  # "01" and "1" would be two keys for one frame, and one mask silently lost
            self.fail(where, f"{_short(key)} is not written as Roto writes frame numbers ({frame})")
        if not shot.first_frame <= frame < shot.first_frame + shot.frame_count:
            self.fail(where, f"frame {frame} is outside the shot")
        return frame

    def project(self, data: dict[str, Any]) -> Project:
        self.mapping(data, "manifest", ("name", "shots"))
        shots = [
            self.shot(value, f"shots[{i}]")
            for i, value in enumerate(self.array(data["shots"], "shots", MAX_SHOTS))
        ]
        if len({shot.id for shot in shots}) != len(shots):
            self.fail("shots", "two shots share an id")
        return Project(self.text(data["name"], "name"), shots)

    def shot(self, value: Any, where: str) -> Shot:
        keys = ("id", "media", "first_frame", "frame_count", "fps", "width", "height", "objects", "in_out")
        data = self.mapping(value, where, keys)
        fps = data["fps"]
        if not isinstance(fps, str) or not _FPS_PATTERN.fullmatch(fps) or _positive_rate(fps) is None:
            self.fail(
                f"{where}.fps", f"expected a positive rate like '24' or '30000/1001', got {_short(fps)}"
            )
        media = self.text(data["media"], f"{where}.media")
        if not media or "\x00" in media:
            self.fail(f"{where}.media", "expected a media path")
        shot = Shot(
            id=self.text(data["id"], f"{where}.id"),
            media=Path(os.path.abspath(self.folder / media)),
            first_frame=self.integer(
                data["first_frame"], f"{where}.first_frame", -MAX_FRAME_NUMBER, MAX_FRAME_NUMBER
            ),
            frame_count=self.integer(data["frame_count"], f"{where}.frame_count", 1, MAX_FRAME_COUNT),
            fps=Fraction(fps),
            width=self.integer(data["width"], f"{where}.width", 1, MAX_SIDE),
            height=self.integer(data["height"], f"{where}.height", 1, MAX_SIDE),
        )
        shot.in_out = self.in_out(data["in_out"], f"{where}.in_out", shot)
        objects = self.array(data["objects"], f"{where}.objects", MAX_OBJECTS)
        shot.objects = [self.object(value, f"{where}.objects[{i}]", shot) for i, value in enumerate(objects)]
        if len({obj.id for obj in shot.objects}) != len(shot.objects):
            self.fail(f"{where}.objects", "two objects share an id")
        names: set[str] = set()
        for obj in shot.objects:
            if obj.name in names:
                self.fail(
                    f"{where}.objects",
                    f"two objects are called {obj.name!r}; names must be unique in a shot "
                    "(they name the exported files)",
                )
            names.add(obj.name)
        return shot

    def object(self, value: Any, where: str, shot: Shot) -> RotoObject:
        keys = ("id", "name", "color", "visible", "locked", "prompts", "masks", "matte")
        data = self.mapping(value, where, keys)
        color = self.array(data["color"], f"{where}.color", 3)
        if len(color) != 3:
            self.fail(f"{where}.color", "expected [red, green, blue]")
        red, green, blue = (self.integer(c, f"{where}.color", 0, 255) for c in color)
        prompts = self.mapping(data["prompts"], f"{where}.prompts", ())
        masks = self.mapping(data["masks"], f"{where}.masks", ())
        return RotoObject(
            id=self.integer(data["id"], f"{where}.id", 1, 2**31 - 1),
            name=self.text(data["name"], f"{where}.name"),
            color=(red, green, blue),
            visible=self.flag(data["visible"], f"{where}.visible"),
            locked=self.flag(data["locked"], f"{where}.locked"),
            prompts={
                self.frame_key(key, f"{where}.prompts", shot): self.prompts(value, f"{where}.prompts[{key}]")
                for key, value in prompts.items()
            },
            masks={
                self.frame_key(key, f"{where}.masks", shot): self.mask(value, f"{where}.masks[{key}]")
                for key, value in masks.items()
            },
            matte=self.matte(data["matte"], f"{where}.matte"),
        )

    def matte(self, value: Any, where: str) -> MatteOps:
        """Matte settings: only those that differ from the defaults are stored; a missing one is off."""
        data = self.mapping(value, where, ())
        default = MatteOps()
        settings: dict[str, Any] = {}
        for name, item in data.items():
            if name not in MatteOps.__dataclass_fields__:
                self.fail(where, f"unknown matte setting {_short(name)}")
            kind = type(getattr(default, name))
            if name == "max_hole_area":
                settings[name] = None if item is None else self.integer(item, f"{where}.{name}", 0, 2**62)
            elif kind is bool:
                settings[name] = self.flag(item, f"{where}.{name}")
            elif issubclass(kind, str):  # a choice such as the refine mode; MatteOps checks the value
                settings[name] = self.text(item, f"{where}.{name}")
            elif kind is int:
                settings[name] = self.integer(item, f"{where}.{name}", -(2**31), 2**31)
            else:
                settings[name] = self.number(item, f"{where}.{name}")
        try:
            return MatteOps(**settings)
        except ValueError as exc:
            self.fail(where, str(exc))

    def prompts(self, value: Any, where: str) -> FramePrompts:
        data = self.mapping(value, where, ("points", "boxes"))
        points = []
        for i, item in enumerate(self.array(data["points"], f"{where}.points", MAX_PROMPTS_PER_FRAME)):
            x, y, label = self.fixed(item, f"{where}.points[{i}]", 3)
            points.append(
                Point(
                    self.number(x, f"{where}.points[{i}]"),
                    self.number(y, f"{where}.points[{i}]"),
                    self.integer(label, f"{where}.points[{i}].label", 0, 1),
                )
            )
        boxes = []
        for i, item in enumerate(self.array(data["boxes"], f"{where}.boxes", MAX_PROMPTS_PER_FRAME)):
            corners = [
                self.number(c, f"{where}.boxes[{i}]") for c in self.fixed(item, f"{where}.boxes[{i}]", 4)
            ]
            boxes.append(Box(*corners))
        if not points and not boxes:
            self.fail(where, "a frame listed with prompts has none")
        return FramePrompts(points, boxes)

    def fixed(self, value: Any, where: str, length: int) -> list[Any]:
        items = self.array(value, where, length)
        if len(items) != length:
            self.fail(where, f"expected {length} values")
        return items

    def mask(self, value: Any, where: str) -> MaskEntry:
        data = self.mapping(value, where, ("mask", "origin"))
        digest, origin = data["mask"], data["origin"]
        if not isinstance(digest, str) or not DIGEST_PATTERN.fullmatch(digest):
            self.fail(f"{where}.mask", f"expected a mask digest (32 hex digits), got {_short(digest)}")
        if not isinstance(origin, str) or origin not in {o.value for o in MaskOrigin}:
            self.fail(f"{where}.origin", f"expected one of {', '.join(o.value for o in MaskOrigin)}")
        return MaskEntry(digest, MaskOrigin(origin))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
