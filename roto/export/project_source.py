"""The open shot as export's MatteSource: masks from the project document, pixels from the media."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np

from roto.media import MediaSource
from roto.project import Project, Shot


class ProjectMatteSource:
    """Export reads through this while the editor waits (the export dialog is modal, so nothing edits meanwhile).

    Objects are addressed by name, as export wants; the editor keeps names unique within a shot.
    """

    def __init__(self, project: Project, shot: Shot, media: MediaSource) -> None:
        self._project = project
        self._shot = shot
        self._media = media
        self._ids = {obj.name: obj.id for obj in shot.objects}

    @property
    def shot_name(self) -> str:
        return self._project.name

    @property
    def object_names(self) -> Sequence[str]:
        return list(self._ids)

    @property
    def frame_count(self) -> int:
        return self._shot.frame_count

    @property
    def frame_size(self) -> tuple[int, int]:
        return self._shot.frame_shape

    @property
    def fps(self) -> Fraction:
        return self._shot.fps

    @property
    def has_images(self) -> bool:
        return True

    def frame_number(self, index: int) -> int:
        return int(self._media.frame_numbers[index])

    def frame_time(self, index: int) -> float:
        return float(self._media.frame_times[index])

    def masks(self, index: int, objects: Sequence[str]) -> Mapping[str, np.ndarray | None]:
        frame = self._shot.first_frame + index
        return {name: self._project.get_mask(self._shot.id, self._ids[name], frame) for name in objects}

    def image(self, index: int) -> np.ndarray | None:
        return self._media.read(index)
