"""Timeline marks kept change by change: runs of frames, updated only where a change names frames."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from roto.editor.coverage import FrameRuns, ShotMarks
from roto.project import (
    AddObject,
    AddPrompt,
    MaskOrigin,
    Point,
    Project,
    RotoObject,
    SetMask,
    Shot,
    UndoStack,
)

SHAPE = (4, 6)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=80))
def test_frame_runs_behave_as_a_set(operations: list[tuple[bool, int]]) -> None:
    runs, expected = FrameRuns(), set()
    for add, frame in operations:
        if add:
            runs.add(frame)
            expected.add(frame)
        else:
            runs.discard(frame)
            expected.discard(frame)
        assert set(runs) == expected and len(runs) == len(expected)
        pairs = runs.runs()
        assert all(a <= b for a, b in pairs)
        assert all(b1 + 1 < a2 for (_, b1), (a2, _) in itertools.pairwise(pairs))  # disjoint, merged
    assert all((f in runs) == (f in expected) for f in range(-1, 42))


def test_contiguous_frames_are_one_run() -> None:
    frames = list(range(1000))
    random.Random(0).shuffle(frames)
    runs = FrameRuns(frames)
    assert runs.runs() == [(0, 999)]
    runs.discard(500)
    assert runs.runs() == [(0, 499), (501, 999)]


def test_marks_follow_the_stack_on_the_frames_named_and_in_timeline_positions() -> None:
    shot = Shot(
        "s", Path("/clip.mp4"), 100, 10, Fraction(24), SHAPE[1], SHAPE[0], [RotoObject(1, "A", (1, 2, 3))]
    )
    stack = UndoStack(Project("p", [shot]))
    marks = ShotMarks(shot)
    stack.add_listener(marks.apply)
    stack.push(AddPrompt("s", 1, 102, Point(1, 1, 1)))
    stack.push(SetMask("s", 1, 102, np.ones(SHAPE, bool), MaskOrigin.PROMPTED))
    stack.push(SetMask("s", 1, 103, np.ones(SHAPE, bool), MaskOrigin.EDITED))
    assert set(marks.prompted[1]) == {2} and set(marks.masked[1]) == {2, 3}  # shot frame 102 is position 2
    stack.undo()
    assert set(marks.masked[1]) == {2}
    stack.push(AddObject("s", "B", (0, 0, 0)))
    assert set(marks.masked) == {1, 2} and not marks.masked[2].runs()
