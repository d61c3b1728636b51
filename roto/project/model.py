"""The project document: shots, their objects, per-frame prompts and per-frame mask references.

Masks themselves live in a MaskStore, compressed and content-addressed; the document only holds their digests,
so a 1000-frame shot costs kilobytes of document and undo history instead of gigabytes of pixels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from roto.errors import ProjectError
from roto.matte import MatteOps
from roto.project.maskstore import MaskStore

if TYPE_CHECKING:
    from roto.media import MediaSource


class MaskOrigin(StrEnum):
    """How a mask came to be, so the UI can mark keyframes and propagation can avoid overwriting hand work."""

    PROMPTED = "prompted"
    PROPAGATED = "propagated"
    EDITED = "edited"


@dataclass(frozen=True)
class Point:
    """A click in frame pixel coordinates; label 1 marks the object, 0 marks background."""

    x: float
    y: float
    label: int = 1


@dataclass(frozen=True)
class Box:
    """A box prompt in frame pixel coordinates (corners x0,y0 and x1,y1)."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class FramePrompts:
    """The prompts of one object on one frame."""

    points: list[Point] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.points and not self.boxes


@dataclass(frozen=True)
class MaskEntry:
    """One object's mask on one frame: the digest of its blob in the MaskStore and where it came from."""

    digest: str
    origin: MaskOrigin


# Distinct, saturated colours that read well over footage; new objects take the next one.
OBJECT_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 64, 160),
    (64, 200, 255),
    (255, 180, 40),
    (120, 230, 80),
    (170, 110, 255),
    (255, 100, 70),
    (40, 230, 200),
    (240, 240, 90),
)


def object_colour(index: int) -> tuple[int, int, int]:
    """The default colour of the index-th object of a shot (the editor and the CLI agree)."""
    return OBJECT_COLOURS[index % len(OBJECT_COLOURS)]


@dataclass
class RotoObject:
    """Something being rotoscoped through a shot."""

    id: int
    name: str
    color: tuple[int, int, int]
    visible: bool = True
    locked: bool = False
    prompts: dict[int, FramePrompts] = field(default_factory=dict)
    masks: dict[int, MaskEntry] = field(default_factory=dict)
    matte: MatteOps = field(default_factory=MatteOps)  # how its matte is finished, non-destructively


@dataclass
class Shot:
    """One clip: a media source (video file or image sequence), the frame range used and the frame size."""

    id: str
    media: Path
    first_frame: int
    frame_count: int
    fps: Fraction
    width: int
    height: int
    objects: list[RotoObject] = field(default_factory=list)
    in_out: tuple[int, int] | None = (
        None  # the range runs and exports keep to, in shot frames; None: whole shot
    )

    @classmethod
    def for_media(cls, media: MediaSource, shot_id: str = "shot-1") -> Shot:
        """A shot over a whole opened clip, as the editor and `roto track` start one."""
        width, height = media.size
        return cls(
            id=shot_id,
            media=media.path.resolve(),
            first_frame=0,
            frame_count=media.frame_count,
            fps=Fraction(media.fps).limit_denominator(1001),
            width=width,
            height=height,
        )

    @property
    def frame_shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def frames(self) -> range:
        """The shot's frame numbers: ``first_frame`` to ``first_frame + frame_count - 1``."""
        return range(self.first_frame, self.first_frame + self.frame_count)

    def media_index(self, frame: int) -> int:
        """The media index (0 = the clip's first frame) that shot frame ``frame`` shows.

        Shot frames are what the document is keyed by (prompts, masks, ``--range``); media indices are what
        ``MediaSource.read`` and export's frame indices take. They differ by ``first_frame``.
        """
        self.check_frame(frame)
        return frame - self.first_frame

    def shot_frame(self, index: int) -> int:
        """The shot frame shown by media index ``index``: the inverse of ``media_index``."""
        if not 0 <= index < self.frame_count:
            raise ProjectError(
                f"media index {index} is outside shot {self.id!r} (indices 0-{self.frame_count - 1})"
            )
        return self.first_frame + index

    def object(self, object_id: int) -> RotoObject:
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise ProjectError(f"shot {self.id!r} has no object {object_id}")

    def next_object_id(self) -> int:
        return max((obj.id for obj in self.objects), default=0) + 1

    def unused_object_name(self, prefix: str = "Object") -> str:
        """The default name for a new object: ``"Object N"``, N the first number from the object count + 1 that
        no object of the shot is called."""
        names = {obj.name for obj in self.objects}
        number = len(self.objects) + 1
        while f"{prefix} {number}" in names:
            number += 1
        return f"{prefix} {number}"

    def check_object_name(self, name: str, object_id: int | None = None) -> None:
        """Refuse an empty name, or one that another object of the shot (not ``object_id``) already has.

        Names are unique within a shot because they name the exported files and address objects in export.
        """
        if not name.strip():
            raise ProjectError(f"an object of shot {self.id!r} needs a name (got {name!r})")
        for other in self.objects:
            if other.name == name and other.id != object_id:
                what = "a new object" if object_id is None else f"object {object_id}"
                raise ProjectError(
                    f"cannot call {what} {name!r}: object {other.id} of shot {self.id!r} is already called "
                    f"{name!r}; names must be unique because they name the exported files"
                )

    def check_frame(self, frame: int) -> None:
        if not self.first_frame <= frame < self.first_frame + self.frame_count:
            last = self.first_frame + self.frame_count - 1
            raise ProjectError(
                f"frame {frame} is outside shot {self.id!r} (frames {self.first_frame}-{last})"
            )

    def snapshot(self) -> ShotSnapshot:
        """An immutable copy of what export reads: frame range, size, rate, objects and their mask digests."""
        return ShotSnapshot(
            id=self.id,
            first_frame=self.first_frame,
            frame_count=self.frame_count,
            fps=self.fps,
            width=self.width,
            height=self.height,
            objects=tuple(
                ObjectSnapshot(
                    id=obj.id,
                    name=obj.name,
                    color=obj.color,
                    visible=obj.visible,
                    masks=MappingProxyType({frame: entry.digest for frame, entry in obj.masks.items()}),
                    matte=obj.matte,
                )
                for obj in self.objects
            ),
        )


def check_media_match(shot: Shot, media: MediaSource) -> None:
    """Refuse opened media whose frame size or frame count is not the shot's (the file was replaced or re-cut).

    The one rule the editor (opening a project) and ``roto export`` share: shot frame F shows media index
    ``F - shot.first_frame``, so the clip must have exactly the shot's frames, at the shot's size.
    """
    if (media.size, media.frame_count) != ((shot.width, shot.height), shot.frame_count):
        raise ProjectError(
            f"{shot.media}: the media no longer matches the project "
            f"({media.size[0]}x{media.size[1]}, {media.frame_count} frames; the project expects "
            f"{shot.width}x{shot.height}, {shot.frame_count} frames)"
        )


@dataclass(frozen=True)
class ObjectSnapshot:
    """One object as it was when a snapshot was taken: its masks as ``{shot frame: digest}`` (read-only)."""

    id: int
    name: str
    color: tuple[int, int, int]
    visible: bool
    masks: Mapping[int, str]
    matte: MatteOps


@dataclass(frozen=True)
class ShotSnapshot:
    """A shot frozen for a reader on another thread (export): later edits of the document do not reach it.

    Mask digests name immutable blobs in the project's (thread-safe) MaskStore, so the snapshot costs a few
    dozen bytes per mask and no pixels.
    """

    id: str
    first_frame: int
    frame_count: int
    fps: Fraction
    width: int
    height: int
    objects: tuple[ObjectSnapshot, ...]

    @property
    def frame_shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def shot_frame(self, index: int) -> int:
        """As ``Shot.shot_frame``: the shot frame shown by media index ``index``."""
        if not 0 <= index < self.frame_count:
            raise ProjectError(
                f"media index {index} is outside shot {self.id!r} (indices 0-{self.frame_count - 1})"
            )
        return self.first_frame + index


@dataclass
class MissingMedia:
    """A shot whose media source cannot be found: relink it with ``Project.relink``."""

    shot_id: str
    path: Path


@dataclass
class Project:
    """The whole document. Equality compares content only (not where it is stored or what is cached)."""

    name: str
    shots: list[Shot] = field(default_factory=list)
    masks: MaskStore = field(default_factory=MaskStore, compare=False, repr=False)

    def shot(self, shot_id: str) -> Shot:
        for shot in self.shots:
            if shot.id == shot_id:
                return shot
        raise ProjectError(f"project {self.name!r} has no shot {shot_id!r}")

    def get_mask(self, shot_id: str, object_id: int, frame: int) -> np.ndarray | None:
        """The object's mask on that frame (read-only bool HxW), decoded on demand; None if it has none."""
        shot = self.shot(shot_id)
        entry = shot.object(object_id).masks.get(frame)
        if entry is None:
            return None
        return self.masks.get(entry.digest, shot.frame_shape)

    def missing_media(self) -> list[MissingMedia]:
        return [MissingMedia(shot.id, shot.media) for shot in self.shots if not _exists(shot.media)]

    def relink(self, shot_id: str, new_path: Path) -> Path:
        """Point a shot at its media's new location; returns the old path (for undo)."""
        new_path = Path(os.path.abspath(new_path))
        if not _exists(new_path):
            raise ProjectError(f"cannot relink shot {shot_id!r}: {new_path} does not exist")
        shot = self.shot(shot_id)
        old, shot.media = shot.media, new_path
        return old


def _exists(path: Path) -> bool:
    """Existence that never raises: a hostile path (NUL byte, too long) simply does not exist.

    An image-sequence pattern (``frames/%05d.png``) exists when its folder does.
    """
    try:
        return path.exists() or ("%" in path.name and path.parent.is_dir())
    except (OSError, ValueError):
        return False
