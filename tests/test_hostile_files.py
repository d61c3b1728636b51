"""Special files and names that are not UTF-8, wherever Roto reads a path a user can name: a FIFO or a symlink
to /dev/zero is refused at once with an error naming it (never a hang or an endless read), and names made of
any bytes work through the real commands (never a segfault or a traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from roto.editor.documents import open_document
from roto.errors import RotoError
from roto.media import open_media
from roto.project import AddObject, SetMask, UndoStack, load_project, save_project, write_recovery
from roto.project.store import MASKS_DIR
from tests.conftest import ROOT, TEST_BUNDLE

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs, /dev/zero and byte file names are POSIX")


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/zero")


SPECIALS = {"fifo": _fifo, "dev-zero": _dev_zero}


def _png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes()


@pytest.fixture
def project_folder(small_clip: Path, tmp_path: Path) -> Path:
    doc = open_document(small_clip, lambda _r: False)
    doc.stack.push(SetMask(doc.shot.id, 1, 0, np.ones((doc.shot.height, doc.shot.width), bool)))
    doc.save(tmp_path / "shot.roto")
    doc.stack.push(AddObject(doc.shot.id, "second", (0, 255, 0)))
    write_recovery(doc.project, tmp_path / "shot.roto", lock=doc.lock)
    doc.close()
    return tmp_path / "shot.roto"


def _mask_file(folder: Path) -> Path:
    return next((folder / MASKS_DIR).iterdir())


TARGETS: dict[str, Callable[[Path], Path]] = {
    "manifest": lambda folder: folder / "project.json",
    "mask": _mask_file,
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", SPECIALS)
@pytest.mark.parametrize("target", TARGETS)
def test_special_project_files_are_refused_by_load_export_and_the_editor(
    project_folder: Path, kind: str, target: str, tmp_path: Path
) -> None:
    path = TARGETS[target](project_folder)
    SPECIALS[kind](path)
    with pytest.raises(RotoError, match=rf"{path.name}: is a (FIFO|device), not a regular file"):
        project = load_project(project_folder)
        for obj in project.shots[0].objects:  # masks are read when asked for
            for frame in obj.masks:
                project.get_mask(project.shots[0].id, obj.id, frame)
    with pytest.raises(RotoError, match="not a regular file"):
        doc = open_document(project_folder, lambda _r: False)
        doc.project.get_mask(doc.shot.id, 1, 0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", SPECIALS)
def test_a_special_recovery_file_is_ignored_and_the_project_opens(project_folder: Path, kind: str) -> None:
    SPECIALS[kind](project_folder / "recovery.json")
    asked: list[object] = []
    doc = open_document(project_folder, asked.append)  # type: ignore[arg-type]
    assert not asked  # nothing to offer: the backup is not a file
    doc.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", SPECIALS)
@pytest.mark.parametrize("name", ["clip.mp4", "frame.png", "plate.exr"])
def test_special_media_is_refused_by_open_media_and_the_editor(tmp_path: Path, kind: str, name: str) -> None:
    path = tmp_path / name
    SPECIALS[kind](path)
    with pytest.raises(RotoError, match=rf"{name}: is a (FIFO|device), not a regular file"):
        open_media(path)
    with pytest.raises(RotoError, match="not a regular file"):
        open_document(path, lambda _r: False)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", SPECIALS)
def test_a_special_image_in_a_sequence_folder_is_skipped(tmp_path: Path, kind: str) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        (frames / f"f{index:04d}.png").write_bytes(_png(np.full((16, 24, 3), 40 * index, np.uint8)))
    SPECIALS[kind](frames / "f0003.png")
    with open_media(frames) as media:
        assert media.frame_count == 3


def _roto(*argv: str | bytes) -> subprocess.CompletedProcess[bytes]:
    """The real executable in a child, so that a segfault is a failed test, not a dead test run."""
    return subprocess.run(
        [sys.executable, "-m", "roto", *argv], cwd=ROOT, capture_output=True, timeout=300, env={**os.environ}
    )


name_bytes = st.binary(min_size=1, max_size=12).filter(
    lambda b: b"/" not in b and b"\x00" not in b and not b.startswith(b"-") and b not in (b".", b"..")
)
CHILD_SETTINGS = settings(  # each example runs the real command in a child: few of them, and no shrinking
    max_examples=4,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@CHILD_SETTINGS
@given(folder=name_bytes, stem=name_bytes)
def test_segment_reads_and_writes_paths_of_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, folder: bytes, stem: bytes
) -> None:
    root = os.fsencode(tmp_path_factory.mktemp("seg"))
    os.mkdir(root + b"/" + folder)
    image = root + b"/" + folder + b"/" + stem + b".png"
    rgb = np.full((48, 64, 3), 30, np.uint8)
    rgb[10:30, 20:40] = 220
    with open(image, "wb") as handle:
        handle.write(_png(rgb))
    out = root + b"/" + folder + b"/" + stem + b".mask.png"
    done = _roto(b"segment", image, b"--point", b"30,20", b"-o", out, b"--model", os.fsencode(TEST_BUNDLE))
    assert done.returncode == 0, done.stderr
    assert cv2.imdecode(np.fromfile(os.fsdecode(out), np.uint8), cv2.IMREAD_UNCHANGED).shape == (48, 64)


@pytest.mark.parametrize(
    ("output", "message"),
    [("mask.jpgx", "name a .png file"), ("mask", "name a .png file"), ("missing/m.png", "does not exist")],
)
def test_segment_refuses_an_output_it_cannot_write_before_running_the_model(
    tmp_path: Path, output: str, message: str
) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(_png(np.zeros((8, 8, 3), np.uint8)))
    done = _roto(
        "segment", str(image), "--point", "1,1", "-o", str(tmp_path / output), "--model", "no-such-model"
    )
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert message.encode() in done.stderr


@CHILD_SETTINGS
@given(folder=name_bytes, obj=name_bytes)
def test_track_on_a_sequence_folder_and_object_name_of_any_bytes_saves_and_exports(
    tmp_path_factory: pytest.TempPathFactory, folder: bytes, obj: bytes
) -> None:
    root = os.fsencode(tmp_path_factory.mktemp("track"))
    frames = root + b"/" + folder
    os.mkdir(frames)
    for index in range(3):
        rgb = np.full((48, 64, 3), 30, np.uint8)
        rgb[10:30, 10 + 4 * index : 30 + 4 * index] = 220
        with open(frames + b"/f%04d.png" % index, "wb") as handle:
            handle.write(_png(rgb))
    if not os.fsdecode(obj).strip():
        obj = b"o" + obj
    project, out = root + b"/" + folder + b".roto", root + b"/out-" + folder
    done = _roto(
        b"track", frames, b"--object", obj, b"--point", b"0:20,20", b"--out", out, b"--format", b"png8",
        b"--model", os.fsencode(TEST_BUNDLE), b"--save-project", project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and frames in done.stdout
    assert len(os.listdir(out)) == 3
    loaded = load_project(Path(os.fsdecode(project)))
    assert loaded.shots[0].objects[0].name == os.fsdecode(obj)
    assert os.fsencode(loaded.shots[0].media).startswith(frames + b"/")
    exported = _roto(b"export", project, b"--out", out + b"-again", b"--format", b"png8", b"--json")
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(exported.stdout)["files"]) == 3


def test_a_stack_saved_under_a_name_of_any_bytes_opens_in_the_editor(
    small_clip: Path, tmp_path: Path
) -> None:
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/\xff\xfe.roto"))
    doc = open_document(small_clip, lambda _r: False)
    doc.save(folder)
    doc.close()
    reopened = open_document(folder, lambda _r: False)
    assert isinstance(reopened.stack, UndoStack)
    reopened.close()
    save_project(load_project(folder), folder)
