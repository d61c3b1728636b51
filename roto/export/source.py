"""What export reads: per-frame object masks and source pixels, decoupled from the project document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import numpy as np

from roto.errors import ExportError
from roto.matte import MatteOps


class MatteSource(Protocol):
    """A shot's mattes as export needs them; the project, the CLI and tests each provide one.

    Frames are addressed by ``index`` (0-based position in the shot). A frame's *number* is what it is
    called on disk (image sequences keep theirs, e.g. 1001); its *time* is its presentation time.
    """

    @property
    def shot_name(self) -> str: ...

    @property
    def object_names(self) -> Sequence[str]: ...

    @property
    def frame_count(self) -> int: ...

    @property
    def frame_size(self) -> tuple[int, int]:
        """(height, width) of the source frames and of every exported matte."""
        ...

    @property
    def fps(self) -> Fraction:
        """Average frame rate; videos are written at this constant rate."""
        ...

    @property
    def has_images(self) -> bool:
        """Whether ``image`` returns pixels (needed for RGBA cut-outs)."""
        ...

    def frame_number(self, index: int) -> int: ...

    def frame_time(self, index: int) -> float: ...

    def masks(self, index: int, objects: Sequence[str]) -> Mapping[str, np.ndarray | None]:
        """Per object: a bool HxW mask, float logits (any resolution), or None when it has no mask here."""
        ...

    def image(self, index: int) -> np.ndarray | None:
        """The RGB uint8 HxWx3 source frame, or None when the source has no pixels."""
        ...

    def matte_ops(self, name: str) -> MatteOps | None:
        """The object's own matte settings (a project object's), or None to use the export's ``matte_ops``."""
        ...

    def object_colour(self, name: str) -> tuple[int, int, int] | None:
        """The object's RGB colour (shape fills, cel look), or None when the source has none."""
        ...


@dataclass(frozen=True)
class InMemorySource:
    """A MatteSource over sequences already in hand (tests, scripts, the CLI).

    The sequences may be lazy (anything indexable), so a large shot need not be held in memory.
    """

    shot_name: str
    frame_size: tuple[int, int]
    object_masks: Mapping[str, Sequence[np.ndarray | None]]
    fps: Fraction = Fraction(24)
    images: Sequence[np.ndarray] | None = None
    frame_numbers: Sequence[int] | None = None
    frame_times: Sequence[float] | None = None
    object_ops: Mapping[str, MatteOps] | None = None  # per-object matte settings, overriding the export's
    colours: Mapping[str, tuple[int, int, int]] | None = None  # per-object RGB for shape and cel exports

    def __post_init__(self) -> None:
        counts = {name: len(masks) for name, masks in self.object_masks.items()}
        if self.images is not None:
            counts["<images>"] = len(self.images)
        if len(set(counts.values())) > 1:
            raise ExportError(f"Shot '{self.shot_name}': frame counts disagree between inputs: {counts}")
        if self.fps <= 0:
            raise ExportError(f"Shot '{self.shot_name}': frame rate must be positive, got {self.fps}")
        for what, values in (("frame numbers", self.frame_numbers), ("frame times", self.frame_times)):
            if values is not None and len(values) != self.frame_count:
                raise ExportError(
                    f"Shot '{self.shot_name}': {len(values)} {what} for {self.frame_count} frames"
                )

    @property
    def object_names(self) -> Sequence[str]:
        return list(self.object_masks)

    @property
    def frame_count(self) -> int:
        if self.images is not None:
            return len(self.images)
        return len(next(iter(self.object_masks.values()), ()))

    @property
    def has_images(self) -> bool:
        return self.images is not None

    def frame_number(self, index: int) -> int:
        return int(self.frame_numbers[index]) if self.frame_numbers is not None else index

    def frame_time(self, index: int) -> float:
        if self.frame_times is not None:
            return float(self.frame_times[index])
        return float(index / self.fps)

    def masks(self, index: int, objects: Sequence[str]) -> Mapping[str, np.ndarray | None]:
        return {name: self.object_masks[name][index] for name in objects}

    def image(self, index: int) -> np.ndarray | None:
        return self.images[index] if self.images is not None else None

    def matte_ops(self, name: str) -> MatteOps | None:
        return self.object_ops.get(name) if self.object_ops is not None else None

    def object_colour(self, name: str) -> tuple[int, int, int] | None:
        return self.colours.get(name) if self.colours is not None else None
