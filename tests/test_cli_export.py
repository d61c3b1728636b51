"""`roto export`: the mattes of a project saved by `roto track --save-project`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.project import load_project
from tests.test_cli_track import FRAMES, assert_one_line_error, run, track, write_square_clip


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with two objects tracked over the whole clip (made once: tracking is the slow part)."""
    from roto.cli import main

    folder = tmp_path_factory.mktemp("saved")
    clip = write_square_clip(folder / "square.mp4")
    code = main(
        [
            "track", str(clip), "--object", "square", "--point", "3:110,120", "--object", "corner",
            "--point", "3:10,10", "--out", str(folder / "first"), "--format", "png8",
            "--model", str(Path(__file__).parent / "data" / "bundles" / "sam2.1-test"),
            "--save-project", str(folder / "shot.roto"),
        ]
    )  # fmt: skip
    assert code == 0
    return folder / "shot.roto"


def test_export_png_matches_the_track_output(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "export", str(saved), "--out", str(tmp_path), "--format", "png8", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["shot"] == "shot-1" and summary["frames_written"] == FRAMES
    first = saved.parent / "first"
    assert sorted(Path(f).name for f in summary["files"]) == sorted(p.name for p in first.iterdir())
    for path in first.iterdir():
        np.testing.assert_array_equal(
            cv2.imread(str(tmp_path / path.name), cv2.IMREAD_UNCHANGED),
            cv2.imread(str(path), cv2.IMREAD_UNCHANGED),
        )


def test_export_coco_of_chosen_objects_and_range(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "export", str(saved), "--out", str(tmp_path), "--format", "coco", "--objects", "corner",
        "--range", "2-6", "--json",
    )  # fmt: skip
    assert code == 0, err
    (path,) = (Path(f) for f in json.loads(out)["files"])
    coco = json.loads(path.read_text())
    assert [c["name"] for c in coco["categories"]] == ["corner"]
    assert len(coco["images"]) == 5
    project = load_project(saved)
    shot = project.shots[0]
    corner = next(o for o in shot.objects if o.name == "corner")
    by_frame = {a["image_id"] - 1: int(a["area"]) for a in coco["annotations"]}  # image id = frame index + 1
    masks = {f: project.get_mask(shot.id, corner.id, f) for f in range(2, 7)}
    assert by_frame == {f: int(m.sum()) for f, m in masks.items() if m is not None and m.any()}


def test_export_union_prores(saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "export", str(saved), "--out", str(tmp_path), "--format", "prores", "--layout", "union"
    )
    assert code == 0, err
    assert out.startswith(f"wrote 1 file(s) to {tmp_path} ({FRAMES} frames)")
    assert [p.name for p in tmp_path.iterdir()] == ["square_matte.mov"]


def test_export_layered_exr(saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import OpenEXR

    code, _out, err = run(
        capsys, "export", str(saved), "--out", str(tmp_path), "--format", "exr", "--layout", "layers"
    )
    assert code == 0, err
    files = sorted(tmp_path.iterdir())
    assert len(files) == FRAMES and files[0].name == "square_layers.0000.exr"
    channels = OpenEXR.File(str(files[3]), separate_channels=True).channels()
    assert sorted(channels) == ["corner.A", "square.A"]
    assert channels["square.A"].pixels.max() == 1.0  # the prompted frame's object is in its layer


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--objects", "nobody"], ["has no object named 'nobody'"]),
        (["--range", "5-30"], ["--range 5-30 is outside shot 'shot-1' (frames 0-11)"]),
        (["--shot", "shot-9"], ["has no shot 'shot-9'"]),
        (["--format", "exr", "--content", "rgba-straight"], ["exr export writes mattes only"]),
    ],
)
def test_export_user_errors(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    extra = [] if "--format" in argv else ["--format", "png8"]
    code, out, err = run(capsys, "export", str(saved), "--out", str(tmp_path / "out"), *argv, *extra)
    assert code == 1 and out == ""
    assert_one_line_error(err, "roto: error: ", *fragments)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_export_of_missing_project_or_media(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", str(tmp_path / "none.roto"), "--out", str(tmp_path), "--format", "png8"
    )
    assert code == 1
    assert_one_line_error(err, "roto: error: ", "none.roto")

    moved = tmp_path / "moved.roto"
    shutil.copytree(
        saved, moved
    )  # the project names its media relative to itself: ../square.mp4 is not there
    code, _, err = run(capsys, "export", str(moved), "--out", str(tmp_path / "out"), "--format", "png8")
    assert code == 1
    assert_one_line_error(err, "roto: error: ", "media of shot 'shot-1' is missing", "square.mp4", "relink")
    assert not (tmp_path / "out").exists()

    shutil.copy(saved.parent / "square.mp4", tmp_path / "square.mp4")  # moved together: found again
    code, _, err = run(capsys, "export", str(moved), "--out", str(tmp_path / "out"), "--format", "png8")
    assert code == 0, err
    assert len(list((tmp_path / "out").iterdir())) == 2 * FRAMES


def test_track_then_export_in_a_script(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a pipeline script does: track once, export again later in another format from the saved project."""
    code, out, _ = track(
        capsys, saved.parent / "square.mp4", tmp_path / "a", "--object", "square", "--point", "3:110,120",
        "--format", "vp9", "--json", "--save-project", str(tmp_path / "again.roto"),
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["project"] == str(tmp_path / "again.roto")
    code, out, _ = run(
        capsys,
        "export",
        str(tmp_path / "again.roto"),
        "--out",
        str(tmp_path / "b"),
        "--format",
        "h264-matte",
        "--json",
    )
    assert code == 0
    assert [Path(f).name for f in json.loads(out)["files"]] == ["square_square.mp4"]


def _saved_project_over_a_sequence(tmp_path: Path, first_frame: int) -> Path:
    """A project whose shot starts at `first_frame`, over plate.1001.png.., with a mask per shot frame."""
    from roto.media import open_media
    from roto.project import AddObject, SetMask, Shot, UndoStack, save_project
    from roto.project import Project as Doc
    from tests.export.test_project_source import band, write_sequence

    with open_media(write_sequence(tmp_path / "plate")) as media:
        shot = Shot.for_media(media)
    shot.first_frame = first_frame
    stack = UndoStack(Doc("seq", [shot]))
    stack.push(AddObject(shot.id, "a", (255, 0, 0)))
    for frame in shot.frames:
        stack.push(SetMask(shot.id, 1, frame, band(frame - first_frame)))
    save_project(stack.project, tmp_path / "seq.roto")
    return tmp_path / "seq.roto"


def test_export_range_is_in_shot_frames_and_files_keep_the_media_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.export.test_project_source import band

    saved = _saved_project_over_a_sequence(tmp_path, first_frame=100)
    out = tmp_path / "out"
    code, stdout, err = run(
        capsys, "export", str(saved), "--out", str(out), "--format", "png8", "--range", "101-102", "--json"
    )
    assert code == 0, err
    assert sorted(Path(f).name for f in json.loads(stdout)["files"]) == ["seq_a.1002.png", "seq_a.1003.png"]
    for index, number in ((1, 1002), (2, 1003)):  # shot frame 100 + index is media index `index`
        matte = cv2.imread(str(out / f"seq_a.{number}.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(matte == 255, band(index))

    code, stdout, err = run(
        capsys, "export", str(saved), "--out", str(out), "--format", "png8", "--range", "1-2"
    )
    assert code == 1
    assert_one_line_error(err, "roto: error: ", "--range 1-2 is outside shot 'shot-1' (frames 100-104)")


def test_export_refuses_media_that_no_longer_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _saved_project_over_a_sequence(tmp_path, first_frame=0)
    (tmp_path / "plate" / "plate.1005.png").unlink()  # the sequence lost its last frame
    code, _, err = run(capsys, "export", str(saved), "--out", str(tmp_path / "out"), "--format", "png8")
    assert code == 1
    assert_one_line_error(
        err,
        "roto: error: ",
        "plate.1001.png: the media no longer matches the project (64x48, 4 frames; "
        "the project expects 64x48, 5 frames)",
    )
    assert not (tmp_path / "out").exists()
