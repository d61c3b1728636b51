"""Quality-mode refined mattes for the preview: shown unrefined, asked for once, kept by frame, masks, settings."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from roto.editor.refined import RefinedMattes
from roto.editor.views import frame_layers, object_alpha
from roto.matte import MatteOps
from roto.project import AddObject, Project, SetMask, Shot, UndoStack, UpdateObject
from roto.refine import RefineMode

SHAPE = (40, 60)
QUALITY = MatteOps(refine=RefineMode.QUALITY, refine_band_px=3)


def rect(x0: int, x1: int) -> np.ndarray:
    mask = np.zeros(SHAPE, bool)
    mask[8:30, x0:x1] = True
    return mask


@pytest.fixture
def stack(tmp_path: Path) -> UndoStack:
    shot = Shot("s", tmp_path / "clip.mp4", 100, 5, Fraction(24), SHAPE[1], SHAPE[0])
    stack = UndoStack(Project("p", [shot]))
    stack.push(AddObject("s", "a", (255, 0, 0)))
    for frame in range(100, 105):
        stack.push(SetMask("s", 1, frame, rect(10 + frame - 100, 40)))
    stack.push(UpdateObject("s", 1, matte=QUALITY))
    return stack


def picture() -> np.ndarray:
    """A frame whose colour edge lies a few pixels off the mask's, with some texture."""
    rgb = np.zeros((*SHAPE, 3), np.uint8)
    rgb[6:32, 12:42] = (200, 80, 60)
    rgb[:, :, 2] += np.arange(SHAPE[1], dtype=np.uint8)[None, :] % 7
    return rgb


def layer_alpha(stack: UndoStack, refined: RefinedMattes, frame: int, rgb: np.ndarray) -> np.ndarray:
    shot = stack.project.shot("s")
    (layer,) = frame_layers(stack.project, shot, frame, picture=rgb, refined=refined)
    return layer.alpha


def test_shown_unrefined_until_the_job_comes_back_then_refined(stack: UndoStack) -> None:
    project, shot, rgb, refined = stack.project, stack.project.shot("s"), picture(), RefinedMattes()
    mask = project.get_mask("s", 1, 102)
    assert mask is not None
    np.testing.assert_array_equal(layer_alpha(stack, refined, 102, rgb), mask.astype(np.float32))
    (job,) = refined.take_jobs()
    layer_alpha(stack, refined, 102, rgb)  # drawn again while the job runs: not asked twice
    assert refined.take_jobs() == []
    alpha = job.run()  # what the background thread does
    expected = object_alpha(project, shot, shot.objects[0], 102, picture=rgb)  # refined on this thread
    assert expected is not None and not np.array_equal(expected, mask.astype(np.float32))
    np.testing.assert_array_equal(alpha, expected)
    refined.put(job, alpha)
    np.testing.assert_array_equal(layer_alpha(stack, refined, 102, rgb), expected)
    assert refined.take_jobs() == []


def test_an_edit_or_new_settings_ask_again_and_a_stale_result_is_never_shown(stack: UndoStack) -> None:
    rgb, refined = picture(), RefinedMattes()
    layer_alpha(stack, refined, 102, rgb)
    (old,) = refined.take_jobs()
    stack.push(SetMask("s", 1, 102, rect(14, 44)))  # the mask changed while the job ran
    layer_alpha(stack, refined, 102, rgb)
    (new,) = refined.take_jobs()
    assert new.key != old.key
    refined.put(old, old.run())
    shown = layer_alpha(stack, refined, 102, rgb)
    np.testing.assert_array_equal(shown, rect(14, 44).astype(np.float32))  # the stale result is not shown
    stack.push(UpdateObject("s", 1, matte=MatteOps(refine=RefineMode.QUALITY, refine_band_px=4)))
    layer_alpha(stack, refined, 102, rgb)
    (wider,) = refined.take_jobs()
    assert wider.key not in (old.key, new.key)


def test_each_object_asks_for_its_latest_frame_only_and_reduce_chatter_keys_the_neighbours(
    stack: UndoStack,
) -> None:
    rgb, refined = picture(), RefinedMattes()
    for frame in (101, 102, 103):  # scrubbing past frames before any job was handed over
        layer_alpha(stack, refined, frame, rgb)
    (job,) = refined.take_jobs()
    assert job.index == 3
    stack.push(UpdateObject("s", 1, matte=MatteOps(refine=RefineMode.QUALITY, chatter_frames=1)))
    layer_alpha(stack, refined, 102, rgb)
    (voting,) = refined.take_jobs()
    assert sorted(voting.masks) == [1, 2, 3]
    stack.push(SetMask("s", 1, 103, rect(20, 50)))  # a neighbour's mask changes the frame's matte
    layer_alpha(stack, refined, 102, rgb)
    (again,) = refined.take_jobs()
    assert again.key != voting.key


def test_results_from_before_a_clear_are_dropped(stack: UndoStack) -> None:
    rgb, refined = picture(), RefinedMattes()
    layer_alpha(stack, refined, 102, rgb)
    (job,) = refined.take_jobs()
    refined.clear()  # another document was opened
    refined.put(job, job.run())
    layer_alpha(stack, refined, 102, rgb)
    assert len(refined.take_jobs()) == 1


def test_fast_mode_and_frames_without_a_mask_are_not_deferred(stack: UndoStack) -> None:
    rgb, refined = picture(), RefinedMattes()
    stack.push(UpdateObject("s", 1, matte=MatteOps(refine=RefineMode.FAST, refine_band_px=3)))
    fast = layer_alpha(stack, refined, 102, rgb)
    assert ((fast > 0) & (fast < 1)).any() and refined.take_jobs() == []
    stack.push(UpdateObject("s", 1, matte=QUALITY))
    assert frame_layers(stack.project, stack.project.shot("s"), 99, picture=rgb, refined=refined) == []
    assert refined.take_jobs() == []


def test_more_refined_objects_on_a_frame_than_the_bound_holds_are_all_kept(stack: UndoStack) -> None:
    """Each result pushing out another object's matte on the same frame would make the preview ask forever."""
    project = stack.project
    stack.push(AddObject("s", "b", (0, 255, 0)))
    stack.push(SetMask("s", 2, 102, rect(5, 20)))
    stack.push(UpdateObject("s", 2, matte=QUALITY))
    rgb = picture()
    refined = RefinedMattes(max_bytes=SHAPE[0] * SHAPE[1] * 4)  # room for one float32 matte
    frame_layers(project, project.shot("s"), 102, picture=rgb, refined=refined)
    jobs = refined.take_jobs()
    assert len(jobs) == 2
    for job in jobs:
        refined.put(job, job.run())
    frame_layers(project, project.shot("s"), 102, picture=rgb, refined=refined)
    assert refined.take_jobs() == []  # both answered from the results: nothing asked again
    frame_layers(project, project.shot("s"), 103, picture=rgb, refined=refined)
    (other,) = refined.take_jobs()
    refined.put(other, other.run())  # another frame: the old frame's mattes make room
    frame_layers(project, project.shot("s"), 103, picture=rgb, refined=refined)
    assert refined.take_jobs() == []
    frame_layers(project, project.shot("s"), 102, picture=rgb, refined=refined)
    assert len(refined.take_jobs()) == 2
