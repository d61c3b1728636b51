"""A run's frames as one undo step, and which frames a run covers, without a window."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from roto.editor.propagation import Direction, frame_step, plan_legs, prompt_sets
from roto.editor.requests import FramePromptSet, ObjectPromptSet, PropagateRequest
from roto.project import Box, FramePrompts, MaskOrigin, Point, Project, RotoObject, SetMask, Shot, UndoStack

SHAPE = (4, 6)


@pytest.fixture
def stack() -> UndoStack:
    shot = Shot(
        "s", Path("/clip.mp4"), 0, 6, Fraction(24), SHAPE[1], SHAPE[0], [RotoObject(1, "A", (255, 0, 0))]
    )
    return UndoStack(Project("p", [shot]))


def test_legs_cover_each_frame_of_the_range_once() -> None:
    assert plan_legs(Direction.FORWARD, 3, 1, 8) == ((3, 8, False),)
    assert plan_legs(Direction.BACKWARD, 3, 1, 8) == ((3, 1, True),)
    assert plan_legs(Direction.BOTH, 3, 1, 8) == ((3, 8, False), (2, 1, True))
    assert plan_legs(Direction.BOTH, 1, 1, 8) == ((1, 8, False),)
    assert PropagateRequest(1, (), plan_legs(Direction.BOTH, 3, 1, 8)).total == 8
    with pytest.raises(ValueError, match="outside"):
        plan_legs(Direction.FORWARD, 9, 1, 8)


def test_frames_of_a_run_merge_into_one_step_and_undo_exactly(stack: UndoStack) -> None:
    obj = stack.project.shot("s").object(1)
    stack.push(SetMask("s", 1, 2, np.ones(SHAPE, bool), MaskOrigin.EDITED))
    before = dict(obj.masks)
    for frame in range(1, 5):
        stack.push(frame_step(7, "Propagate", "s", frame, {1: np.eye(4, 6, frame, bool)}))
    assert sorted(obj.masks) == [1, 2, 3, 4] and obj.masks[2].origin == MaskOrigin.PROPAGATED
    after = dict(obj.masks)
    stack.undo()
    assert obj.masks == before and stack.undo_label == "Edit mask"
    stack.redo()
    assert obj.masks == after
    stack.push(frame_step(8, "Propagate", "s", 5, {1: np.ones(SHAPE, bool)}))  # another run: its own step
    stack.undo()
    assert obj.masks == after


def test_prompt_sets_take_every_prompted_frame_and_the_last_box() -> None:
    obj = RotoObject(1, "A", (0, 0, 0))
    obj.prompts[4] = FramePrompts([Point(1, 2, 1)], [Box(0, 0, 1, 1), Box(0, 0, 3, 3)])
    obj.prompts[0] = FramePrompts([Point(5, 5, 0)])
    unprompted = RotoObject(2, "B", (0, 0, 0))
    assert prompt_sets([obj, unprompted]) == (
        ObjectPromptSet(
            1,
            (
                FramePromptSet(0, (Point(5, 5, 0),), None),
                FramePromptSet(4, (Point(1, 2, 1),), Box(0, 0, 3, 3)),
            ),
        ),
    )
