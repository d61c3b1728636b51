"""Which frames of each object carry prompts or masks, kept up to date change by change for the timeline.

A propagation lands one frame at a time; recomputing the marks over the whole document for each arriving frame
would make a run's GUI cost grow with every frame already done. Instead the marks are runs of consecutive frames,
updated only on the frames a change names, so landing a frame costs the same at frame 10 and at frame 1000, and
the timeline paints a few rectangles instead of one tick per frame.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

from roto.project import ChangeKind, Shot, StackEvent


class FrameRuns:
    """A set of frames stored as sorted, disjoint runs (first, last): cheap to update and to draw."""

    def __init__(self, frames: Iterable[int] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for frame in sorted(set(frames)):
            self.add(frame)

    def __contains__(self, frame: object) -> bool:
        if not isinstance(frame, int):
            return False
        i = bisect.bisect_right(self._starts, frame) - 1
        return i >= 0 and frame <= self._ends[i]

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in self.runs())

    def __iter__(self) -> Iterator[int]:
        for start, end in self.runs():
            yield from range(start, end + 1)

    def runs(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))

    def add(self, frame: int) -> None:
        if frame in self:
            return
        i = bisect.bisect_right(self._starts, frame)  # runs[i - 1] ends before frame, runs[i] starts after
        joins_left = i > 0 and self._ends[i - 1] == frame - 1
        joins_right = i < len(self._starts) and self._starts[i] == frame + 1
        if joins_left and joins_right:
            self._ends[i - 1] = self._ends[i]
            del self._starts[i], self._ends[i]
        elif joins_left:
            self._ends[i - 1] = frame
        elif joins_right:
            self._starts[i] = frame
        else:
            self._starts.insert(i, frame)
            self._ends.insert(i, frame)

    def discard(self, frame: int) -> None:
        if frame not in self:
            return
        i = bisect.bisect_right(self._starts, frame) - 1
        start, end = self._starts[i], self._ends[i]
        if start == end:
            del self._starts[i], self._ends[i]
        elif frame == start:
            self._starts[i] = frame + 1
        elif frame == end:
            self._ends[i] = frame - 1
        else:
            self._ends[i] = frame - 1
            self._starts.insert(i + 1, frame + 1)
            self._ends.insert(i + 1, end)


class ShotMarks:
    """Per object, the timeline positions (0 = the shot's first frame) that carry prompts and masks."""

    def __init__(self, shot: Shot) -> None:
        self.shot = shot
        self.prompted: dict[int, FrameRuns] = {}
        self.masked: dict[int, FrameRuns] = {}
        self.reset()

    def reset(self) -> None:
        """Rebuild from the document: when it is opened and when its objects change (rare, never per frame)."""
        first = self.shot.first_frame
        self.prompted = {o.id: FrameRuns(f - first for f in o.prompts) for o in self.shot.objects}
        self.masked = {o.id: FrameRuns(f - first for f in o.masks) for o in self.shot.objects}

    def apply(self, event: StackEvent) -> None:
        """Update the marks on the frames each change names, and nothing else."""
        first = self.shot.first_frame
        for change in event.changes:
            if change.shot_id != self.shot.id:
                continue
            if ChangeKind.OBJECTS in change.kinds:
                self.reset()
                return
            if change.object_id is None:  # the shot's media or range: no marks change
                continue
            obj = next((o for o in self.shot.objects if o.id == change.object_id), None)
            if obj is None:
                continue
            for kind, marks, frames in (
                (ChangeKind.PROMPTS, self.prompted, obj.prompts),
                (ChangeKind.MASKS, self.masked, obj.masks),
            ):
                if kind not in change.kinds:
                    continue
                runs = marks.setdefault(obj.id, FrameRuns())
                for frame in change.frames:
                    if frame in frames:
                        runs.add(frame - first)
                    else:
                        runs.discard(frame - first)
