"""`roto export` finishes each object's mattes with that object's own settings, exactly as roto.matte does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.matte import MatteOps, MatteSequence
from roto.media import open_media
from roto.project import (
    AddObject,
    Project,
    SetMask,
    Shot,
    UndoStack,
    UpdateObject,
    load_project,
    save_project,
)
from roto.refine import RefineMode
from tests.test_cli_track import FRAMES, HEIGHT, WIDTH, run, track, write_square_clip


def box(left: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[60:180, left : left + 100] = True
    mask[110:114, left + 40 : left + 44] = False  # a small hole
    return mask


LEFTS = [50, 50, 58, 50, 50, 50, 50, 50, 50, 50, 50, 50]  # frame 2 jitters
GROWN = MatteOps(grow_px=4, fill_holes=True, feather_px=2.0)
STEADY = MatteOps(chatter_frames=2)


@pytest.fixture
def project_folder(tmp_path: Path) -> Path:
    clip = write_square_clip(tmp_path / "clip.mp4")
    with open_media(clip) as media:
        shot = Shot.for_media(media)
    stack = UndoStack(Project("matte", [shot]))
    for name in ("grown", "steady", "plain"):
        stack.push(AddObject(shot.id, name, (255, 0, 0)))
    for object_id in (1, 2, 3):
        for frame, left in enumerate(LEFTS):
            stack.push(SetMask(shot.id, object_id, frame, box(left)))
    stack.push(UpdateObject(shot.id, 1, matte=GROWN))
    stack.push(UpdateObject(shot.id, 2, matte=STEADY))
    save_project(stack.project, tmp_path / "shot.roto")
    return tmp_path / "shot.roto"


def read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_each_object_is_exported_with_its_own_settings(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, _out, err = run(capsys, "export", str(project_folder), "--out", str(out), "--format", "png16")
    assert code == 0, err
    masks = [box(left) for left in LEFTS]
    for name, ops in (("grown", GROWN), ("steady", STEADY), ("plain", MatteOps())):
        sequence = MatteSequence(ops, lambda i: masks[i], FRAMES)
        for frame in range(FRAMES):
            expected = np.round(sequence.alpha(frame) * 65535).astype(np.uint16)  # type: ignore[operator]
            np.testing.assert_array_equal(read(out / f"matte_{name}.{frame:04d}.png"), expected)
    # What the settings did: holes filled and edges grown; the jittering frame voted back into line.
    assert read(out / "matte_grown.0000.png")[112, 92] == 65535
    assert read(out / "matte_plain.0000.png")[112, 92] == 0
    np.testing.assert_array_equal(read(out / "matte_steady.0002.png") > 0, box(50))
    np.testing.assert_array_equal(read(out / "matte_plain.0002.png") > 0, box(58))


def test_refine_option_refines_every_object_against_the_clip(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["export", str(project_folder), "--out", str(out), "--format", "png16", "--range", "0-1"]
    code, _out, err = run(capsys, *argv, "--refine", "fast", "--band", "5")
    assert code == 0, err
    masks = [box(left) for left in LEFTS]
    with open_media(project_folder.parent / "clip.mp4") as media:
        for name, ops in (("grown", GROWN), ("plain", MatteOps())):
            refined = replace(ops, refine=RefineMode.FAST, refine_band_px=5)
            sequence = MatteSequence(refined, lambda i: masks[i], FRAMES, picture=media.read)
            expected = np.round(sequence.alpha(0) * 65535).astype(np.uint16)  # type: ignore[operator]
            written = read(out / f"matte_{name}.0000.png")
            np.testing.assert_array_equal(written, expected)
            assert ((written > 0) & (written < 65535)).any()  # soft values, where the plain export has none
    assert load_project(project_folder).shots[0].objects[2].matte == MatteOps()  # the file is not changed


def test_track_refine_is_saved_with_the_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = write_square_clip(tmp_path / "clip.mp4")
    project_path = tmp_path / "shot.roto"
    code, _out, err = track(
        capsys, clip, tmp_path / "out", "--object", "square", "--point", "0:90,120", "--range", "0-1",
        "--format", "png16", "--refine", "quality", "--band", "4", "--save-project", str(project_path),
    )  # fmt: skip
    assert code == 0, err
    (obj,) = load_project(project_path).shots[0].objects
    assert obj.matte == MatteOps(refine=RefineMode.QUALITY, refine_band_px=4)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--refine", "sharp"], "--refine: expected one of off, fast, quality"),
        (["--band", "99"], "--band: expected"),
    ],
)
def test_bad_refine_options_are_one_line_errors(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        run(capsys, "export", str(project_folder), "--out", str(tmp_path / "o"), "--format", "png8", *extra)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
