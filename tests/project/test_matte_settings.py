"""Per-object matte settings in the document: stored, migrated from format 1, validated, undoable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from roto.errors import ProjectError
from roto.matte import MatteOps
from roto.project import CURRENT_VERSION, UndoStack, UpdateObject, load_project, save_project
from roto.refine import RefineMode

V1_SAMPLE = Path(__file__).parent / "data" / "v1_sample.roto"
SETTINGS = MatteOps(
    grow_px=-2,
    feather_px=1.5,
    fill_holes=True,
    max_hole_area=40,
    smooth_px=2.0,
    chatter_frames=2,
    refine=RefineMode.QUALITY,
    refine_band_px=5,
)


def test_settings_survive_save_and_load(stack: UndoStack, tmp_path: Path) -> None:
    stack.push(UpdateObject("shot1", 1, matte=SETTINGS))
    save_project(stack.project, tmp_path / "a.roto")
    manifest = json.loads((tmp_path / "a.roto" / "project.json").read_text())
    assert manifest["version"] == CURRENT_VERSION
    objects = manifest["shots"][0]["objects"]
    assert objects[1]["matte"] == {}  # only settings off their default are written
    assert objects[0]["matte"]["chatter_frames"] == 2
    assert objects[0]["matte"]["refine"] == "quality" and objects[0]["matte"]["refine_band_px"] == 5
    loaded = load_project(tmp_path / "a.roto")
    assert loaded.shot("shot1").object(1).matte == SETTINGS
    assert loaded == stack.project


def test_a_version_1_file_opens_with_the_settings_off(tmp_path: Path) -> None:
    copy = tmp_path / "old.roto"
    shutil.copytree(V1_SAMPLE, copy)
    assert json.loads((copy / "project.json").read_text())["version"] == 1
    project = load_project(copy)
    assert all(obj.matte == MatteOps() for obj in project.shot("shot1").objects)
    save_project(project, copy)  # saved again, it is a file of the current version
    assert json.loads((copy / "project.json").read_text())["version"] == CURRENT_VERSION
    assert load_project(copy) == project


@pytest.mark.parametrize(
    ("matte", "message"),
    [
        ({"grow_px": 1.5}, r"objects\[0\]\.matte\.grow_px: expected an integer"),
        ({"feather_px": -1}, r"objects\[0\]\.matte: feather must be a finite non-negative"),
        ({"halo": 3}, r"objects\[0\]\.matte: unknown matte setting 'halo'"),
        ({"fill_holes": 1}, r"objects\[0\]\.matte\.fill_holes: expected true or false"),
        ([], r"objects\[0\]\.matte: expected an object"),
        (
            {"refine": "sharp"},
            r"objects\[0\]\.matte: refine edge must be one of off, fast, quality, got 'sharp'",
        ),
        ({"refine": 1}, r"objects\[0\]\.matte\.refine: expected a text"),
        (
            {"refine_band_px": 0},
            r"objects\[0\]\.matte: the refine band must be a whole number of pixels from 1",
        ),
    ],
)
def test_bad_settings_name_the_file_and_the_place(
    stack: UndoStack, tmp_path: Path, matte: object, message: str
) -> None:
    folder = tmp_path / "bad.roto"
    save_project(stack.project, folder)
    manifest = json.loads((folder / "project.json").read_text())
    manifest["shots"][0]["objects"][0]["matte"] = matte
    (folder / "project.json").write_text(json.dumps(manifest))
    with pytest.raises(ProjectError, match=f"project.json: shots\\[0\\]\\.{message}"):
        load_project(folder)


def test_a_change_is_one_undo_step_and_a_drag_merges(stack: UndoStack) -> None:
    obj = stack.project.shot("shot1").object(1)
    stack.push(UpdateObject("shot1", 1, matte=MatteOps(grow_px=1)))
    for px in (2, 3, 4):  # one slider drag
        stack.push(UpdateObject("shot1", 1, matte=MatteOps(grow_px=px), drag=7))
    stack.push(UpdateObject("shot1", 1, matte=MatteOps(grow_px=5), drag=8))  # the next drag
    assert obj.matte.grow_px == 5 and stack.undo_label == "Change matte"
    stack.undo()
    assert obj.matte.grow_px == 4
    stack.undo()
    assert obj.matte.grow_px == 1
    stack.undo()
    assert obj.matte == MatteOps()
    stack.redo()
    stack.redo()
    assert obj.matte.grow_px == 4
