"""The open shot as export's MatteSource: masks from a snapshot of the project document, pixels from the media."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np

from roto.errors import ProjectError
from roto.matte import MatteOps
from roto.media import MediaSource
from roto.project import MaskStore, ObjectSnapshot, Project, Shot, check_media_match


class ProjectMatteSource:
    """What export reads from a project: the shot as it was when this source was built.

    Construction (on the thread that owns the document, the GUI's in the editor) takes a ``ShotSnapshot``: the
    objects' ids, names, colours, visibility and ``{shot frame: mask digest}``. Export then runs on any thread
    and reads blobs by digest from the project's thread-safe ``MaskStore``; blobs are immutable, so edits made
    meanwhile (a new mask, a deleted object) neither race with the export nor change what it writes.

    Export's frame ``index`` is the media index (0 = the clip's first frame); the mask read for it is the one on
    shot frame ``first_frame + index`` (``Shot.shot_frame``), and files are numbered with the media's own frame
    numbers (a sequence's file numbers, 0.. for a video). Objects are addressed by name, unique in a shot.
    Media that does not match the shot (``check_media_match``) is refused here. Each object's mattes are finished
    with its own matte settings (``RotoObject.matte``), taken with the snapshot.
    """

    def __init__(self, project: Project, shot: Shot, media: MediaSource) -> None:
        check_media_match(shot, media)
        self._name = project.name
        self._store: MaskStore = project.masks
        self._shot = shot.snapshot()
        self._media = media
        self._numbers = media.frame_numbers  # computed once: export asks per frame
        self._times = media.frame_times
        self._objects: dict[str, ObjectSnapshot] = {}
        for obj in self._shot.objects:
            if obj.name in self._objects:
                raise ProjectError(
                    f"shot {shot.id!r} has two objects called {obj.name!r} "
                    f"(objects {self._objects[obj.name].id} and {obj.id}): rename one to export them"
                )
            self._objects[obj.name] = obj

    @property
    def shot_name(self) -> str:
        return self._name

    @property
    def object_names(self) -> Sequence[str]:
        return list(self._objects)

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
        return int(self._numbers[index])

    def frame_time(self, index: int) -> float:
        return float(self._times[index])

    def masks(self, index: int, objects: Sequence[str]) -> Mapping[str, np.ndarray | None]:
        frame = self._shot.shot_frame(index)
        shape = self._shot.frame_shape
        result: dict[str, np.ndarray | None] = {}
        for name in objects:
            digest = self._objects[name].masks.get(frame)
            result[name] = None if digest is None else self._store.get(digest, shape)
        return result

    def image(self, index: int) -> np.ndarray | None:
        return self._media.read(index)

    def matte_ops(self, name: str) -> MatteOps:
        """Each object's own settings, as the editor previews them (the export's ``matte_ops`` do not apply)."""
        return self._objects[name].matte

    def object_colour(self, name: str) -> tuple[int, int, int]:
        return self._objects[name].color
