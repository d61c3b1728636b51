import copy
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roto.errors import ProjectError
from roto.project import (
    AddObject,
    AddPrompt,
    Batch,
    Box,
    Change,
    ChangeKind,
    ClearFrame,
    DeleteObject,
    DeletePrompt,
    EncodedMask,
    MaskOrigin,
    MaskStore,
    MovePrompt,
    Point,
    Project,
    Propagate,
    RelinkMedia,
    SetInOut,
    SetMask,
    Shot,
    StackEvent,
    UndoStack,
    UpdateObject,
    load_project,
    save_project,
)
from tests.project.project_helpers import disc


def state(project: Project) -> list[Shot]:
    return copy.deepcopy(project.shots)


def test_add_move_delete_point_and_box_undo_redo(stack: UndoStack) -> None:
    project = stack.project
    obj = project.shot("shot1").object(2)
    before = state(project)
    stack.push(AddPrompt("shot1", 2, 4, Point(3, 4, 1)))
    stack.push(AddPrompt("shot1", 2, 4, Box(1, 2, 10, 12)))
    stack.push(MovePrompt("shot1", 2, 4, 0, Box(2, 2, 11, 12)))
    stack.push(DeletePrompt("shot1", 2, 4, "points", 0))
    assert obj.prompts[4].points == [] and obj.prompts[4].boxes == [Box(2, 2, 11, 12)]
    after = state(project)
    for _ in range(4):
        stack.undo()
    assert project.shots == before and 4 not in obj.prompts
    for _ in range(4):
        stack.redo()
    assert project.shots == after


def test_a_drag_is_one_undo_step(stack: UndoStack) -> None:
    stack.push(AddPrompt("shot1", 2, 0, Point(1, 1)))
    for x in range(2, 30):
        stack.push(MovePrompt("shot1", 2, 0, 0, Point(x, x)))
    assert stack.project.shot("shot1").object(2).prompts[0].points == [Point(29, 29)]
    stack.undo()
    assert stack.project.shot("shot1").object(2).prompts[0].points == [Point(1, 1)]
    assert stack.undo_label == "Add point"


def test_moves_of_different_points_do_not_merge(stack: UndoStack) -> None:
    stack.push(AddPrompt("shot1", 2, 0, Point(1, 1)))
    stack.push(AddPrompt("shot1", 2, 0, Point(5, 5)))
    stack.push(MovePrompt("shot1", 2, 0, 0, Point(2, 2)))
    stack.push(MovePrompt("shot1", 2, 0, 1, Point(6, 6)))
    stack.undo()
    assert stack.project.shot("shot1").object(2).prompts[0].points == [Point(2, 2), Point(5, 5)]


def test_a_drag_after_saving_does_not_merge_into_the_saved_step(stack: UndoStack) -> None:
    stack.push(AddPrompt("shot1", 2, 0, Point(1, 1)))
    stack.push(MovePrompt("shot1", 2, 0, 0, Point(2, 2)))
    stack.set_clean()
    stack.push(MovePrompt("shot1", 2, 0, 0, Point(3, 3)))
    assert not stack.is_clean
    stack.undo()
    assert stack.is_clean
    assert stack.project.shot("shot1").object(2).prompts[0].points == [Point(2, 2)]


def test_undoing_a_propagation_restores_the_previous_masks_exactly(stack: UndoStack) -> None:
    project = stack.project
    before = {f: project.get_mask("shot1", 1, f) for f in range(12)}
    results = ((1, f, disc(5 + f, 8, 4)) for f in range(1, 12))
    stack.push(Propagate("shot1", results))
    assert stack.index == 6 and stack.undo_label == "Propagate"
    for f in range(1, 12):
        np.testing.assert_array_equal(project.get_mask("shot1", 1, f), disc(5 + f, 8, 4))
        assert project.shot("shot1").object(1).masks[f].origin is MaskOrigin.PROPAGATED
    stack.undo()
    for f in range(12):
        restored = project.get_mask("shot1", 1, f)
        if before[f] is None:
            assert restored is None
        else:
            np.testing.assert_array_equal(restored, before[f])
    stack.redo()
    np.testing.assert_array_equal(project.get_mask("shot1", 1, 11), disc(16, 8, 4))


def test_propagation_refused_midway_changes_nothing(stack: UndoStack) -> None:
    before = state(stack.project)
    bad = [(1, 5, disc(1, 1, 1)), (1, 6, np.zeros((3, 3), bool))]
    with pytest.raises(ProjectError, match="must be a 24x32 bool array"):
        stack.push(Propagate("shot1", bad))
    assert stack.project.shots == before and stack.index == 5


def test_brush_stroke_and_matte_operation_replace_a_mask(stack: UndoStack) -> None:
    project = stack.project
    original = project.get_mask("shot1", 1, 0)
    stroke = original.copy()
    stroke[0:4, 0:4] = True
    stack.push(SetMask("shot1", 1, 0, stroke, MaskOrigin.EDITED, "Brush stroke"))
    stack.push(SetMask("shot1", 1, 0, ~stroke, MaskOrigin.EDITED, "Matte: invert"))
    np.testing.assert_array_equal(project.get_mask("shot1", 1, 0), ~stroke)
    assert stack.undo_label == "Matte: invert"
    stack.undo()
    np.testing.assert_array_equal(project.get_mask("shot1", 1, 0), stroke)
    stack.undo()
    np.testing.assert_array_equal(project.get_mask("shot1", 1, 0), original)


def test_clear_frame_removes_prompts_and_masks_of_unlocked_objects(stack: UndoStack) -> None:
    shot = stack.project.shot("shot1")
    stack.push(AddPrompt("shot1", 1, 1, Point(1, 1)))
    stack.push(AddPrompt("shot1", 2, 1, Point(2, 2)))
    stack.push(UpdateObject("shot1", 2, locked=True))
    before = state(stack.project)
    stack.push(ClearFrame("shot1", 1))
    assert 1 not in shot.object(1).masks and 1 not in shot.object(1).prompts
    assert shot.object(2).prompts[1].points == [Point(2, 2)]
    stack.undo()
    assert stack.project.shots == before


def test_object_add_rename_recolour_hide_lock_delete(stack: UndoStack) -> None:
    shot = stack.project.shot("shot1")
    before = state(stack.project)
    add = AddObject("shot1", "car", (1, 2, 3))
    stack.push(add)
    assert add.object_id == 3
    stack.push(UpdateObject("shot1", 3, name="truck"))
    stack.push(UpdateObject("shot1", 3, color=(9, 9, 9)))
    stack.push(UpdateObject("shot1", 3, visible=False, locked=True))
    assert (shot.object(3).name, shot.object(3).color) == ("truck", (9, 9, 9))
    assert not shot.object(3).visible and shot.object(3).locked
    with pytest.raises(ProjectError, match="locked"):
        stack.push(DeleteObject("shot1", 3))
    stack.push(DeleteObject("shot1", 1))
    assert [o.id for o in shot.objects] == [2, 3]
    stack.undo()
    assert [o.id for o in shot.objects] == [1, 2, 3]
    while stack.index > 5:
        stack.undo()
    assert stack.project.shots == before
    for _ in range(4):
        stack.redo()
    assert shot.object(3).name == "truck" and add.object_id == 3


def test_locked_objects_refuse_edits(stack: UndoStack) -> None:
    stack.push(UpdateObject("shot1", 1, locked=True))
    for command in (
        AddPrompt("shot1", 1, 0, Point(1, 1)),
        SetMask("shot1", 1, 0, None),
        Propagate("shot1", [(1, 4, disc(1, 1, 1))]),
        ClearFrame("shot1", 0, 1),
    ):
        with pytest.raises(ProjectError, match="'person' is locked"):
            stack.push(command)
    assert stack.undo_label == "Lock/unlock object"


@pytest.mark.parametrize(
    "command",
    [
        AddPrompt("shot1", 1, 99, Point(1, 1)),
        AddPrompt("shot1", 1, 0, Point(float("nan"), 1)),
        AddPrompt("shot1", 1, 0, Point(1, 1, 7)),
        AddPrompt("shot1", 42, 0, Point(1, 1)),
        MovePrompt("shot1", 1, 0, 0, Point(1, 1)),
        DeletePrompt("shot1", 1, 0, "boxes", 0),
        SetMask("shot1", 1, 0, np.ones((24, 32), np.uint8)),
        SetMask("nope", 1, 0, None),
    ],
)
def test_invalid_commands_are_refused_and_not_recorded(stack: UndoStack, command: object) -> None:
    before = state(stack.project)
    with pytest.raises(ProjectError):
        stack.push(command)  # type: ignore[arg-type]
    assert stack.project.shots == before and stack.index == 5 and stack.is_clean


def test_batch_is_one_step_and_rolls_back_when_a_part_fails(stack: UndoStack) -> None:
    project = stack.project
    before = state(project)
    click = Batch(
        [AddPrompt("shot1", 2, 3, Point(4, 4)), SetMask("shot1", 2, 3, disc(4, 4, 3), MaskOrigin.PROMPTED)],
        "Add point",
    )
    stack.push(click)
    assert project.shot("shot1").object(2).masks[3].origin is MaskOrigin.PROMPTED
    stack.undo()
    assert project.shots == before
    broken = Batch([AddPrompt("shot1", 2, 3, Point(4, 4)), SetMask("shot1", 2, 3, np.zeros((2, 2), bool))])
    with pytest.raises(ProjectError):
        stack.push(broken)
    assert project.shots == before


def test_relink_is_undoable(stack: UndoStack, tmp_path: Path) -> None:
    new = tmp_path / "moved.mp4"
    new.write_bytes(b"x")
    old = stack.project.shot("shot1").media
    stack.push(RelinkMedia("shot1", new))
    assert stack.project.shot("shot1").media == new
    stack.undo()
    assert stack.project.shot("shot1").media == old
    with pytest.raises(ProjectError, match="does not exist"):
        stack.push(RelinkMedia("shot1", tmp_path / "absent.mp4"))


def test_listeners_hear_every_change_with_what_to_redraw(stack: UndoStack) -> None:
    events: list[StackEvent] = []
    unsubscribe = stack.add_listener(events.append)
    stack.push(AddPrompt("shot1", 1, 2, Point(1, 1)))
    stack.undo()
    stack.redo()
    stack.set_clean()
    assert [e.action for e in events] == ["do", "undo", "redo", "clean"]
    assert events[0].changes == (Change("shot1", 1, (2,), ChangeKind.PROMPTS),)
    assert [e.clean for e in events] == [False, True, False, True]
    unsubscribe()
    stack.undo()
    assert len(events) == 4


def test_clean_state_lost_when_its_branch_is_discarded(stack: UndoStack) -> None:
    stack.undo()
    stack.push(AddPrompt("shot1", 1, 2, Point(1, 1)))
    stack.undo()
    assert not stack.is_clean  # the saved state was the undone command's, now gone for good
    assert not stack.can_redo or stack.redo_label == "Add point"


def test_recovered_document_starts_unsaved(project: Project) -> None:
    assert not UndoStack(project, clean=False).is_clean


# ----------------------------------------------------------------------- random command sequences


def _random_command(data: st.DataObject, project: Project) -> object:
    shot = project.shot("s")
    ids = [o.id for o in shot.objects] or [1]
    oid = data.draw(st.sampled_from(ids))
    frame = data.draw(st.integers(0, 4))
    coord = st.integers(0, 7)
    kind = data.draw(
        st.sampled_from(
            [
                "add_point",
                "add_box",
                "move",
                "delete",
                "mask",
                "propagate",
                "clear",
                "add_object",
                "update",
                "delete_object",
                "batch",
            ]
        )
    )
    if kind == "add_point":
        return AddPrompt(
            "s", oid, frame, Point(data.draw(coord), data.draw(coord), data.draw(st.integers(0, 1)))
        )
    if kind == "add_box":
        return AddPrompt("s", oid, frame, Box(0, 0, data.draw(coord), data.draw(coord)))
    if kind == "move":
        return MovePrompt("s", oid, frame, data.draw(st.integers(0, 2)), Point(data.draw(coord), 1))
    if kind == "delete":
        return DeletePrompt("s", oid, frame, data.draw(st.sampled_from(["points", "boxes"])), 0)
    if kind == "mask":
        return SetMask("s", oid, frame, disc(data.draw(coord), data.draw(coord), 2, (8, 8)))
    if kind == "propagate":
        return Propagate("s", [(oid, f, disc(f, data.draw(coord), 3, (8, 8))) for f in range(5)])
    if kind == "clear":
        return ClearFrame("s", frame, data.draw(st.sampled_from([None, oid])))
    if kind == "add_object":
        return AddObject("s", "o", (1, 2, 3))
    if kind == "update":
        return UpdateObject("s", oid, name=data.draw(st.text(max_size=3)), locked=data.draw(st.booleans()))
    if kind == "delete_object":
        return DeleteObject("s", oid)
    return Batch([AddPrompt("s", oid, frame, Point(1, 1)), SetMask("s", oid, frame, None)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_sequences_undo_to_the_start_and_redo_to_the_end(data: st.DataObject) -> None:
    project = Project("p", [Shot("s", Path("/m.mp4"), 0, 5, Fraction(25), 8, 8)])
    stack = UndoStack(project)
    initial = state(project)
    stack.push(AddObject("s", "first", (0, 0, 0)))
    states = [initial, state(project)]  # states[i]: the document with i commands applied
    for _ in range(data.draw(st.integers(1, 20))):
        step = data.draw(st.sampled_from(["push", "push", "push", "undo", "redo"]))
        if step == "undo":
            stack.undo()
        elif step == "redo":
            stack.redo()
        else:
            try:
                stack.push(_random_command(data, project))  # type: ignore[arg-type]
            except ProjectError:
                assert project.shots == states[stack.index]
                continue
            states = [*states[: stack.index], state(project)]
        assert project.shots == states[stack.index]
    top = len(states) - 1
    while stack.can_undo:
        stack.undo()
        assert project.shots == states[stack.index]
    assert project.shots == initial
    while stack.can_redo:
        stack.redo()
    assert stack.index == top and project.shots == states[top]


# ----------------------------------------------------------------------------- what each command says changed

P, M, OBJ = ChangeKind.PROMPTS, ChangeKind.MASKS, ChangeKind.OBJECTS


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: AddPrompt("shot1", 1, 4, Point(1, 1)), [Change("shot1", 1, (4,), P)]),
        (lambda: AddPrompt("shot1", 1, 4, Box(1, 1, 5, 5)), [Change("shot1", 1, (4,), P)]),
        (lambda: MovePrompt("shot1", 1, 0, 0, Point(3, 3)), [Change("shot1", 1, (0,), P)]),
        (lambda: DeletePrompt("shot1", 1, 0, "points", 0), [Change("shot1", 1, (0,), P)]),
        (lambda: SetMask("shot1", 2, 5, disc(5, 5, 3)), [Change("shot1", 2, (5,), M)]),
        (lambda: SetMask("shot1", 1, 1, None), [Change("shot1", 1, (1,), M)]),
        (
            lambda: Propagate("shot1", [(1, 6, disc(1, 1, 2)), (2, 7, disc(2, 2, 2)), (1, 5, disc(3, 3, 2))]),
            [Change("shot1", 1, (5, 6), M), Change("shot1", 2, (7,), M)],
        ),
        (lambda: ClearFrame("shot1", 0, 1), [Change("shot1", 1, (0,), P | M)]),
        (lambda: ClearFrame("shot1", 0), [Change("shot1", 1, (0,), P | M), Change("shot1", 2, (0,), P | M)]),
        (lambda: AddObject("shot1", "dog", (1, 2, 3)), [Change("shot1", None, (), OBJ)]),
        (lambda: UpdateObject("shot1", 2, name="cat", visible=False), [Change("shot1", 2, (), OBJ)]),
        (lambda: DeleteObject("shot1", 2), [Change("shot1", None, (), OBJ)]),
    ],
)
def test_every_command_says_what_kind_of_thing_changed(
    stack: UndoStack, make: Any, expected: list[Change]
) -> None:
    stack.push(AddPrompt("shot1", 1, 0, Point(2, 2)))
    events: list[StackEvent] = []
    stack.add_listener(events.append)
    stack.push(make())
    stack.undo()
    stack.redo()
    assert [list(e.changes) for e in events] == [expected] * 3


def test_change_kinds_combine_and_default_to_everything() -> None:
    cleared = Change("s", 1, (3,), ChangeKind.PROMPTS | ChangeKind.MASKS)
    assert ChangeKind.PROMPTS in cleared.kinds and ChangeKind.MASKS in cleared.kinds
    assert ChangeKind.OBJECTS not in cleared.kinds
    everything = Change("s")
    assert all(kind in everything.kinds for kind in ChangeKind)


def test_relink_reports_a_media_change(stack: UndoStack, tmp_path: Path) -> None:
    (tmp_path / "new.mp4").write_bytes(b"x")
    events: list[StackEvent] = []
    stack.add_listener(events.append)
    stack.push(RelinkMedia("shot1", tmp_path / "new.mp4"))
    assert events[0].changes == (Change("shot1", kinds=ChangeKind.MEDIA),)


# ----------------------------------------------------------------------------------------- unique object names


def test_adding_an_object_with_a_name_already_taken_is_refused(stack: UndoStack) -> None:
    before = state(stack.project)
    with pytest.raises(ProjectError, match=r"object 1 of shot 'shot1' is already called 'person'") as caught:
        stack.push(AddObject("shot1", "person", (0, 0, 0)))
    assert "exported files" in str(caught.value) and "new object" in str(caught.value)
    assert stack.project.shots == before and stack.index == 5


def test_renaming_onto_another_objects_name_is_refused(stack: UndoStack) -> None:
    with pytest.raises(
        ProjectError, match=r"cannot call object 2 'person': object 1 .* already called"
    ) as caught:
        stack.push(UpdateObject("shot1", 2, name="person", visible=False))
    assert "exported files" in str(caught.value)
    assert stack.project.shot("shot1").object(2).name == "ball"
    assert stack.project.shot("shot1").object(2).visible  # refused as a whole
    stack.push(UpdateObject("shot1", 1, name="person"))  # its own name is fine
    stack.push(UpdateObject("shot1", 1, color=(9, 9, 9)))  # so is any edit that keeps the name


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_names_are_refused(stack: UndoStack, name: str) -> None:
    with pytest.raises(ProjectError, match="needs a name"):
        stack.push(AddObject("shot1", name, (0, 0, 0)))
    with pytest.raises(ProjectError, match="needs a name"):
        stack.push(UpdateObject("shot1", 1, name=name))
    assert [o.name for o in stack.project.shot("shot1").objects] == ["person", "ball"]


def test_a_name_freed_by_rename_or_delete_can_be_used_again(stack: UndoStack) -> None:
    stack.push(UpdateObject("shot1", 1, name="hero"))
    stack.push(AddObject("shot1", "person", (0, 0, 0)))
    stack.push(DeleteObject("shot1", 2))
    stack.push(UpdateObject("shot1", 1, name="ball"))
    assert [o.name for o in stack.project.shot("shot1").objects] == ["ball", "person"]


def test_unused_object_name_picks_the_next_free_default(project: Project) -> None:
    shot = project.shot("shot1")
    assert shot.unused_object_name() == "Object 1"
    stack = UndoStack(project)
    for _ in range(3):
        stack.push(AddObject("shot1", shot.unused_object_name(), (0, 0, 0)))
    assert [o.name for o in shot.objects] == ["Object 1", "Object 2", "Object 3"]
    stack.push(DeleteObject("shot1", 1))
    stack.push(UpdateObject("shot1", 3, name="Object 4"))
    assert shot.unused_object_name() == "Object 3"  # two objects: starts at 3, which is free again
    stack.push(AddObject("shot1", shot.unused_object_name(), (0, 0, 0)))
    assert shot.unused_object_name() == "Object 5"  # 4 is taken
    assert shot.unused_object_name("Layer") == "Layer 4"


# -------------------------------------------------------------------------------- masks encoded on a worker


def test_set_mask_with_a_mask_encoded_elsewhere_is_the_same_edit(stack: UndoStack) -> None:
    mask = disc(7, 8, 5)
    encoded = EncodedMask.from_mask(mask)
    stack.push(SetMask("shot1", 2, 4, encoded, MaskOrigin.PROMPTED))
    entry = stack.project.shot("shot1").object(2).masks[4]
    assert entry.digest == encoded.digest == stack.project.masks.put(mask)
    np.testing.assert_array_equal(stack.project.get_mask("shot1", 2, 4), mask)
    stack.undo()
    assert 4 not in stack.project.shot("shot1").object(2).masks
    stack.redo()
    assert stack.project.shot("shot1").object(2).masks[4] == entry


def test_propagate_takes_encoded_masks_and_undoes_exactly(stack: UndoStack) -> None:
    before = state(stack.project)
    masks = {frame: disc(3 + frame, 10, 4) for frame in range(2, 6)}
    stack.push(
        Propagate("shot1", [(1, f, EncodedMask.from_mask(m, keep_pixels=False)) for f, m in masks.items()])
    )
    for frame, mask in masks.items():
        np.testing.assert_array_equal(stack.project.get_mask("shot1", 1, frame), mask)
        assert stack.project.shot("shot1").object(1).masks[frame].origin is MaskOrigin.PROPAGATED
    stack.undo()
    assert stack.project.shots == before


def test_encoded_masks_of_the_wrong_size_are_refused(stack: UndoStack) -> None:
    wrong = EncodedMask.from_mask(np.zeros((5, 5), dtype=bool))
    before = state(stack.project)
    with pytest.raises(ProjectError, match=r"must be 24x32, got an encoded mask of 5x5"):
        stack.push(SetMask("shot1", 1, 4, wrong))
    with pytest.raises(ProjectError, match=r"must be 24x32"):
        stack.push(Propagate("shot1", [(1, 4, EncodedMask.from_mask(disc(1, 1, 1))), (1, 5, wrong)]))
    assert stack.project.shots == before and stack.index == 5
    assert wrong.digest not in stack.project.masks.known()


def test_in_out_range_is_an_undoable_edit_saved_with_the_project(tmp_path: Path) -> None:
    shot = Shot("s", Path("/clip.mp4"), 100, 20, Fraction(24), 6, 4)
    project = Project("p", [shot])
    stack = UndoStack(project)
    stack.push(SetInOut("s", (104, 110)))
    assert shot.in_out == (104, 110) and stack.undo_label == "Set in/out"
    with pytest.raises(ProjectError, match="after out point"):
        stack.push(SetInOut("s", (110, 104)))
    with pytest.raises(ProjectError):
        stack.push(SetInOut("s", (99, 104)))  # before the shot's first frame
    assert shot.in_out == (104, 110)
    project.masks = MaskStore()
    shot.media = tmp_path / "clip.mp4"
    save_project(project, tmp_path / "p.roto")
    assert load_project(tmp_path / "p.roto").shots[0].in_out == (104, 110)
    stack.undo()
    assert shot.in_out is None
