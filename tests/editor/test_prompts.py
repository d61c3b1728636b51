"""The click-to-undo-step logic without a window: requests, stale answers, one Batch per answered edit."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from roto.editor.prompts import PromptSession
from roto.editor.requests import PredictRequest, PredictResult, PredictTarget
from roto.errors import ProjectError
from roto.project import Box, Point, Project, RotoObject, Shot, UndoStack

SHAPE = (8, 10)
TARGET = PredictTarget("s", 1, 3)


@pytest.fixture
def stack() -> UndoStack:
    shot = Shot(
        "s", Path("/clip.mp4"), 0, 5, Fraction(24), SHAPE[1], SHAPE[0], [RotoObject(1, "A", (255, 0, 0))]
    )
    return UndoStack(Project("p", [shot]))


@pytest.fixture
def sent() -> list[PredictRequest]:
    return []


@pytest.fixture
def session(stack: UndoStack, sent: list[PredictRequest]) -> PromptSession:
    return PromptSession(stack, sent.append)


def answer(request: PredictRequest, fill: bool = True) -> PredictResult:
    return PredictResult(request, np.full(SHAPE, fill), 0.9)


def test_click_and_its_mask_are_one_undo_step(session: PromptSession, stack: UndoStack, sent: list) -> None:
    session.add_point(TARGET, Point(2, 3, 1))
    assert sent[-1].prompts.points == (Point(2, 3, 1),) and sent[-1].prompts.box is None
    assert stack.project.get_mask("s", 1, 3) is None and session.is_waiting(TARGET)
    assert session.prompts(TARGET).points == [Point(2, 3, 1)]  # drawn while waiting

    assert session.on_result(answer(sent[-1]))
    obj = stack.project.shot("s").object(1)
    assert obj.prompts[3].points == [Point(2, 3, 1)]
    assert stack.project.get_mask("s", 1, 3).all()
    assert stack.undo_label == "Add point"
    stack.undo()
    assert 3 not in obj.prompts and stack.project.get_mask("s", 1, 3) is None
    stack.redo()
    assert obj.prompts[3].points == [Point(2, 3, 1)] and stack.project.get_mask("s", 1, 3).all()


def test_latest_click_wins(session: PromptSession, stack: UndoStack, sent: list) -> None:
    session.add_point(TARGET, Point(1, 1, 1))
    session.add_point(TARGET, Point(5, 5, 0))
    first, second = sent
    assert second.prompts.points == (
        Point(1, 1, 1),
        Point(5, 5, 0),
    )  # the model sees every prompt of the frame
    assert not session.on_result(answer(first, fill=False))  # stale: superseded by the second click
    assert stack.project.get_mask("s", 1, 3) is None
    assert session.on_result(answer(second))
    assert stack.project.shot("s").object(1).prompts[3].points == [Point(1, 1, 1), Point(5, 5, 0)]
    stack.undo()
    assert not stack.can_undo  # both clicks landed as one step with their mask


def test_new_box_replaces_the_old_one(session: PromptSession, stack: UndoStack, sent: list) -> None:
    session.add_box(TARGET, Box(0, 0, 4, 4))
    session.on_result(answer(sent[-1]))
    session.add_box(TARGET, Box(1, 1, 9, 7))
    assert sent[-1].prompts.box == Box(1, 1, 9, 7)
    session.on_result(answer(sent[-1]))
    assert stack.project.shot("s").object(1).prompts[3].boxes == [Box(1, 1, 9, 7)]
    stack.undo()
    assert stack.project.shot("s").object(1).prompts[3].boxes == [Box(0, 0, 4, 4)]


def test_deleting_the_last_prompt_clears_the_mask_without_the_model(
    session: PromptSession, stack: UndoStack, sent: list
) -> None:
    session.add_point(TARGET, Point(2, 2, 1))
    session.on_result(answer(sent[-1]))
    requests = len(sent)
    session.delete_prompt(TARGET, "points", 0)
    assert len(sent) == requests
    assert stack.project.get_mask("s", 1, 3) is None and 3 not in stack.project.shot("s").object(1).prompts
    stack.undo()
    assert stack.project.get_mask("s", 1, 3) is not None


def test_failed_prediction_drops_the_waiting_prompt(
    session: PromptSession, stack: UndoStack, sent: list
) -> None:
    session.add_point(TARGET, Point(2, 2, 1))
    assert session.on_failed(sent[-1])
    assert not session.waiting and session.prompts(TARGET).is_empty()
    assert not stack.can_undo


def test_locked_object_refuses_the_edit(session: PromptSession, stack: UndoStack, sent: list) -> None:
    stack.project.shot("s").object(1).locked = True
    session.add_point(TARGET, Point(2, 2, 1))
    with pytest.raises(ProjectError, match="locked"):
        session.on_result(answer(sent[-1]))
    assert not stack.can_undo
