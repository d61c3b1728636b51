"""The project document: shots, their objects, per-frame prompts and per-frame mask references.

Masks themselves live in a MaskStore, compressed and content-addressed; the document only holds their digests,
so a 1000-frame shot costs kilobytes of document and undo history instead of gigabytes of pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from roto.errors import ProjectError
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

    def object(self, object_id: int) -> RotoObject:
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise ProjectError(f"shot {self.id!r} has no object {object_id}")

    def next_object_id(self) -> int:
        return max((obj.id for obj in self.objects), default=0) + 1

    def check_frame(self, frame: int) -> None:
        if not self.first_frame <= frame < self.first_frame + self.frame_count:
            last = self.first_frame + self.frame_count - 1
            raise ProjectError(
                f"frame {frame} is outside shot {self.id!r} (frames {self.first_frame}-{last})"
            )


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
