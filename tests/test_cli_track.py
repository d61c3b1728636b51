"""`roto track`: prompt, propagate and export in one command, on a small generated clip with the test bundle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from roto.cli import main
from roto.project import MaskOrigin, load_project
from tests.conftest import ROOT, TEST_BUNDLE

FRAMES, WIDTH, HEIGHT = 12, 320, 240


def write_square_clip(path: Path) -> Path:
    """A red square moving right by 10 px per frame over a grey background (H.264, like most user clips)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(FRAMES):
            image = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
            image[90:150, 60 + 10 * index : 120 + 10 * index] = (220, 60, 60)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_square_clip(tmp_path_factory.mktemp("clip") / "square.mp4")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def track(capsys: pytest.CaptureFixture[str], clip: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "track", str(clip), "--out", str(out), "--model", str(TEST_BUNDLE), *extra)


def assert_one_line_error(err: str, prefix: str, *fragments: str) -> None:
    assert err.startswith(prefix), err
    assert err.strip().count("\n") == 0, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_png8_writes_one_matte_per_frame_and_object(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = track(
        capsys, clip, tmp_path / "out", "--object", "square", "--point", "4:120,120",
        "--object", "corner", "--box", "2:0,0,50,50", "--point", "2:20,20:1", "--format", "png8", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    summary = json.loads(out)
    expected = sorted(
        f"square_{name}.{frame:04d}.png" for name in ("square", "corner") for frame in range(FRAMES)
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == expected
    assert sorted(Path(f).name for f in summary["files"]) == expected
    assert summary["frames_written"] == FRAMES
    assert summary["range"] == [0, FRAMES - 1]
    assert [(o["name"], o["prompted_frames"]) for o in summary["objects"]] == [
        ("square", [4]),
        ("corner", [2]),
    ]
    for path in (tmp_path / "out").iterdir():
        matte = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert matte.shape == (HEIGHT, WIDTH) and matte.dtype == np.uint8
        assert set(np.unique(matte).tolist()) <= {0, 255}


def test_range_limits_tracking_and_saved_project_matches_the_mattes(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_path = tmp_path / "shot.roto"
    code, out, err = track(
        capsys, clip, tmp_path / "out", "--object", "square", "--point", "5:150,120", "--point", "8:200,120",
        "--range", "3-9", "--format", "png16", "--save-project", str(project_path),
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("tracked 1 object(s) over frames 3-9") and str(project_path) in out

    project = load_project(project_path)
    (shot,) = project.shots
    (obj,) = shot.objects
    assert obj.name == "square"
    assert shot.frame_count == FRAMES and (shot.width, shot.height) == (WIDTH, HEIGHT)
    assert sorted(obj.prompts) == [5, 8]
    assert [(p.x, p.y, p.label) for p in obj.prompts[5].points] == [(150.0, 120.0, 1)]
    assert sorted(obj.masks) == list(range(3, 10))  # forward and backward from the prompts, within the range
    origins = {frame: entry.origin for frame, entry in obj.masks.items()}
    assert origins == {f: MaskOrigin.PROMPTED if f in (5, 8) else MaskOrigin.PROPAGATED for f in range(3, 10)}

    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == [f"square_square.{f:04d}.png" for f in range(3, 10)]
    for frame, path in zip(range(3, 10), written, strict=True):
        matte = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert matte.dtype == np.uint16
        mask = project.get_mask(shot.id, obj.id, frame)
        assert mask is not None
        np.testing.assert_array_equal(matte == 65535, mask)


def test_prores_is_one_video_with_every_frame(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = track(
        capsys, clip, tmp_path, "--object", "square", "--point", "0:90,120", "--format", "prores", "--json"
    )
    assert code == 0, err
    (movie,) = (Path(f) for f in json.loads(out)["files"])
    assert movie == tmp_path / "square_square.mov"
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "prores"
        assert (stream.width, stream.height) == (WIDTH, HEIGHT)
        assert sum(1 for _ in container.decode(stream)) == FRAMES


def test_existing_outputs_are_refused_before_tracking(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--object", "square", "--point", "0:90,120", "--format", "coco")
    assert track(capsys, clip, tmp_path, *argv)[0] == 0
    before = (tmp_path / "square.json").read_bytes()
    code, _, err = track(capsys, clip, tmp_path, *argv, "--save-project", str(tmp_path / "p.roto"))
    assert code == 1
    assert_one_line_error(err, "roto: error: ", "square.json already exists", "overwrite")
    assert not (tmp_path / "p.roto").exists()  # refused before any work
    assert track(capsys, clip, tmp_path, *argv, "--overwrite")[0] == 0
    assert json.loads((tmp_path / "square.json").read_bytes()) == json.loads(
        before
    )  # same prompts, same result


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--object", "a", "--point", "0:5,5"], ["missing.mp4: no such file or folder"]),
        (["--object", "a", "--point", "11:5,5", "--range", "0-5"], ["frame 11 is outside --range 0-5"]),
        (["--object", "a", "--point", "20:5,5"], ["frame 20 is outside the clip (frames 0-11)"]),
        (
            ["--object", "a", "--point", "0:5,5", "--range", "0-40"],
            ["--range 0-40 is outside", "frames 0-11"],
        ),
        ([], ["give at least one --object NAME"]),
        (["--object", "a"], ["object 'a' has no prompts"]),
        (
            ["--object", "a", "--point", "0:5,5", "--object", "a", "--point", "1:5,5"],
            ["object 'a' is given twice"],
        ),
        (["--object", "a", "--box", "0:1,1,9,9", "--box", "0:2,2,8,8"], ["two boxes on frame 0"]),
        (["--object", "a", "--point", "0:5000,5"], ["outside the 320x240 frame"]),
        (["--object", "a", "--point", "0:5,5", "--save-project", "{tmp}/p.folder"], ["must end in .roto"]),
    ],
)
def test_user_errors_exit_1_with_one_line(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    video = tmp_path / "missing.mp4" if "missing.mp4" in fragments[0] else clip
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = track(capsys, video, tmp_path / "out", *argv, "--format", "png8")
    assert code == 1
    assert out == ""
    assert_one_line_error(err, "roto: error: ", *fragments)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--object", "a", "--point", "x:5,5"], "point 'x:5,5' is not FRAME:X,Y or FRAME:X,Y:LABEL"),
        (["--object", "a", "--point", "0:5;5"], "point '0:5;5' is not FRAME:X,Y"),
        (["--object", "a", "--point", "0:5,5:7"], "LABEL is 1 (object) or 0 (background)"),
        (["--object", "a", "--box", "0:1,2,3"], "box '0:1,2,3' is not FRAME:X0,Y0,X1,Y1"),
        (["--point", "0:5,5", "--object", "a"], "comes before any --object NAME"),
        (["--object", "a", "--point", "0:5,5", "--range", "9-3"], "range '9-3' ends before it starts"),
        (["--object", "a", "--point", "0:5,5", "--format", "gif"], "invalid choice: 'gif'"),
    ],
)
def test_unparsable_command_lines_exit_2_with_one_line(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "track",
                str(clip),
                "--out",
                str(tmp_path),
                *argv,
                *([] if "--format" in argv else ["--format", "png8"]),
            ]
        )
    assert stop.value.code == 2
    assert_one_line_error(capsys.readouterr().err, "roto track: error: ", fragment, "roto track --help")


def test_track_loads_no_qt(clip: Path, tmp_path: Path) -> None:
    """The headless path stays headless: a fresh interpreter runs track without importing PySide6 or roto.ui."""
    script = (
        "import sys; from roto.cli import main; code = main(sys.argv[1:]); "
        "qt = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6') or m.startswith('roto.ui')]; "
        "print(qt); sys.exit(code)"
    )
    argv = [
        "track",
        str(clip),
        "--object",
        "a",
        "--point",
        "0:90,120",
        "--range",
        "0-1",
        "--out",
        str(tmp_path),
    ]
    argv += ["--format", "png8", "--model", str(TEST_BUNDLE)]
    result = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
