"""Refined mattes for the editor's preview, worked out away from the window's thread (no Qt).

Refine edge's quality mode takes a second or more per 1080p frame, too long to run while the window waits. The
preview shows such an object's matte unrefined at once and hands a `RefineJob` (everything the refinement
reads, captured on the window's thread) to a background thread; the refined matte comes back into
`RefinedMattes`, keyed by what it depends on: the shot, object and frame, the digests of the masks that vote
on it (reduce chatter reads neighbours) and the object's matte settings. A frame shown again costs nothing, and
an edit or a settings change makes a new key, so a stale result is never shown. Fast mode stays on the window's
thread: its few tens of milliseconds are part of drawing the frame.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from roto.lru import ByteLRU, nbytes
from roto.matte import FloatImage, MatteOps, MatteSequence
from roto.project import Project, RotoObject, Shot
from roto.refine import RefineMode

DEFERRED_MODES = frozenset({RefineMode.QUALITY})  # refined in the background, shown unrefined meanwhile


@dataclass(frozen=True)
class RefineJob:
    """One object's finished matte on one frame: its masks and picture captured, ready for any thread."""

    key: Hashable
    generation: int  # the RefinedMattes.clear() count when the job was made: older results are dropped
    object_id: int
    ops: MatteOps
    index: int  # the frame, counted from the shot's first
    frame_count: int
    masks: dict[int, np.ndarray]  # the frame's mask and its reduce-chatter neighbours', by shot index
    picture: np.ndarray

    def run(self) -> FloatImage:
        sequence = MatteSequence(
            self.ops, self.masks.get, self.frame_count, picture=lambda _index: self.picture
        )
        alpha = sequence.alpha(self.index)
        assert alpha is not None  # a job is made only for a frame with a mask
        return alpha


class RefinedMattes:
    """Refined mattes by key (least recently used out past `max_bytes`), and the jobs the preview still needs.

    `lookup` answers from the results or notes a job; `take_jobs` hands the noted jobs over, each object's
    latest only, and leaves out a job already handed over and not yet answered (nor failed: a frame whose
    refinement failed stays unrefined, the error said once, until its masks or settings change).
    """

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self._alphas: ByteLRU[Hashable, FloatImage] = ByteLRU(max_bytes, nbytes)
        self._wanted: dict[int, RefineJob] = {}
        self._asked: dict[int, Hashable] = {}  # per object, the key of the job handed over last
        self._generation = 0

    @staticmethod
    def deferred(ops: MatteOps) -> bool:
        return ops.refine in DEFERRED_MODES

    def lookup(
        self, project: Project, shot: Shot, obj: RotoObject, frame: int, picture: np.ndarray
    ) -> FloatImage | None:
        """The refined matte of `obj` on shot frame `frame` if known; else None, and a job for it is noted.

        The object must have a mask on `frame` (the caller shows nothing otherwise)."""
        first, index = shot.first_frame, frame - shot.first_frame
        radius = obj.matte.chatter_frames
        window = range(max(0, index - radius), min(shot.frame_count, index + radius + 1))
        entries = {i: obj.masks.get(first + i) for i in window}
        digests = tuple(None if entry is None else entry.digest for entry in entries.values())
        key = (shot.id, obj.id, frame, digests, obj.matte)  # _frame_of reads it
        alpha = self._alphas.get(key)
        if alpha is not None:
            return alpha
        if self._asked.get(obj.id) != key:
            masks = {
                i: mask
                for i in window
                if entries[i] is not None
                and (mask := project.get_mask(shot.id, obj.id, first + i)) is not None
            }
            self._wanted[obj.id] = RefineJob(
                key, self._generation, obj.id, obj.matte, index, shot.frame_count, masks, picture
            )
        return None

    def take_jobs(self) -> list[RefineJob]:
        jobs = list(self._wanted.values())
        self._wanted.clear()
        for job in jobs:
            self._asked[job.object_id] = job.key
        return jobs

    def put(self, job: RefineJob, alpha: FloatImage) -> None:
        """A job's result (from whichever thread ran it, handed over on the window's thread); one made before
        the last `clear` (another document) is dropped."""
        if job.generation != self._generation:
            return
        if self._asked.get(job.object_id) == job.key:
            del self._asked[job.object_id]
        if job.key in self._alphas:
            return
        # Least recently used out, but never a matte of the frame just refined: with more objects on it than the
        # bound holds, each result would push out another's, which would be asked for again, without end.
        frame = _frame_of(job.key)
        self._alphas.put(job.key, alpha, keep=lambda key: _frame_of(key) == frame)

    def clear(self) -> None:
        self._generation += 1
        self._alphas.clear()
        self._wanted.clear()
        self._asked.clear()


def _frame_of(key: Hashable) -> tuple[str, int]:
    """The shot and frame of a RefinedMattes key."""
    assert isinstance(key, tuple)
    return key[0], key[2]
