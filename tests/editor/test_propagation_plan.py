"""A run's frames as one undo step, and which frames a run covers, without a window."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from roto.editor.propagation import Direction, PropagationRun, frame_step, plan_legs, prompt_sets
from roto.editor.requests import FramePromptSet, Leg, ObjectPromptSet, PropagateRequest
from roto.project import (
    Box,
    FramePrompts,
    MaskOrigin,
    MaskStore,
    Point,
    Project,
    RotoObject,
    SetMask,
    Shot,
    UndoStack,
)

SHAPE = (4, 6)


@pytest.fixture
def stack() -> UndoStack:
    shot = Shot(
        "s", Path("/clip.mp4"), 0, 6, Fraction(24), SHAPE[1], SHAPE[0], [RotoObject(1, "A", (255, 0, 0))]
    )
    return UndoStack(Project("p", [shot]))


def _prompted(object_id: int, *frames: int) -> ObjectPromptSet:
    return ObjectPromptSet(object_id, tuple(FramePromptSet(f, (Point(1, 1, 1),), None) for f in frames))


def test_legs_cover_each_frame_of_the_range_once() -> None:
    obj = [_prompted(1, 3)]
    assert plan_legs(Direction.FORWARD, 3, 1, 8, obj) == (Leg(3, 8, False, (1,)),)
    assert plan_legs(Direction.BACKWARD, 3, 1, 8, obj) == (Leg(3, 1, True, (1,)),)
    both = plan_legs(Direction.BOTH, 3, 1, 8, obj)
    assert both == (Leg(3, 8, False, (1,)), Leg(2, 1, True, (1,)))
    assert plan_legs(Direction.BOTH, 1, 1, 8, [_prompted(1, 1)]) == (Leg(1, 8, False, (1,)),)
    assert PropagateRequest(1, (), both).total == 8
    with pytest.raises(ValueError, match="outside"):
        plan_legs(Direction.FORWARD, 9, 1, 8, obj)


def test_an_object_is_tracked_forward_from_its_first_prompt_and_backward_from_its_last() -> None:
    """SAM2 takes an object's pointer from prompts on the near side only: legs start at the prompts."""
    early, late, both_sides = _prompted(1, 2), _prompted(2, 6), _prompted(3, 1, 9)
    objects = [early, late, both_sides]
    assert plan_legs(Direction.FORWARD, 4, 0, 9, objects) == (
        Leg(4, 9, False, (1, 3)),  # prompted at or before the playhead: from the playhead
        Leg(6, 9, False, (2,)),  # prompted after it: from its prompt, not from frames it cannot know yet
    )
    assert plan_legs(Direction.BACKWARD, 4, 0, 9, objects) == (
        Leg(4, 0, True, (2, 3)),
        Leg(2, 0, True, (1,)),  # its last prompt is before the playhead: from there back
    )
    # Both ways from each object's first prompt is what `roto track` runs: forward from it, backward before it.
    assert plan_legs(Direction.BOTH, 2, 0, 9, [early]) == (Leg(2, 9, False, (1,)), Leg(1, 0, True, (1,)))
    assert plan_legs(Direction.BOTH, 0, 0, 9, [late]) == (Leg(6, 9, False, (2,)), Leg(5, 0, True, (2,)))
    assert plan_legs(Direction.FORWARD, 7, 0, 9, [early, _prompted(4)]) == (Leg(7, 9, False, (1,)),)
    assert plan_legs(Direction.BACKWARD, 1, 0, 9, [late]) == (Leg(1, 0, True, (2,)),)


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
    shot = Shot("s", Path("/clip.mp4"), 0, 6, Fraction(24), SHAPE[1], SHAPE[0])
    assert prompt_sets([obj, unprompted], shot, MaskStore()) == (
        ObjectPromptSet(
            1,
            (
                FramePromptSet(0, (Point(5, 5, 0),), None),
                FramePromptSet(4, (Point(1, 2, 1),), Box(0, 0, 3, 3)),
            ),
        ),
    )


def test_a_run_reports_its_rate_and_the_time_left_once_frames_arrive() -> None:
    run = PropagationRun(1, "Propagate", total=100, follow=None)
    assert run.progress_text(0.0) == "0 / 100"
    run.note_frame(10.0)  # the first frame comes after setting up: the rate counts from it
    assert run.rate(10.0) is None and run.progress_text(10.0) == "1 / 100"
    for second in range(1, 5):
        run.note_frame(10.0 + second)
    assert run.rate(14.0) == 1.0
    assert run.progress_text(14.0) == "5 / 100 · 1 fps · 1:35 left"


def test_a_painted_frame_is_prompted_by_its_mask_until_a_click_answers_there() -> None:
    shot = Shot(
        "s", Path("/clip.mp4"), 10, 6, Fraction(24), SHAPE[1], SHAPE[0], [RotoObject(1, "A", (0, 0, 0))]
    )
    project = Project("p", [shot])
    obj = shot.objects[0]
    obj.prompts[11] = FramePrompts([Point(1, 2, 1)])
    obj.prompts[12] = FramePrompts([Point(3, 2, 1)])
    painted = np.zeros(SHAPE, bool)
    painted[1:3, 2:5] = True
    SetMask("s", 1, 12, painted).do(project)  # a stroke after the click on 12: the paint is the prompt
    SetMask("s", 1, 11, painted, MaskOrigin.PROMPTED).do(project)  # a click's answer: the click is the prompt
    SetMask("s", 1, 13, np.ones(SHAPE, bool), MaskOrigin.PROPAGATED).do(project)
    (sets,) = prompt_sets(shot.objects, shot, project.masks)
    assert [(f.frame, f.points, f.mask is not None) for f in sets.frames] == [
        (1, (Point(1, 2, 1),), False),
        (2, (), True),
    ]
    mask = sets.frames[1].mask
    assert mask is not None and mask.shape == SHAPE and mask.digest == obj.masks[12].digest
