"""A project whose shot no longer describes its media (size bombs, frame counts beyond the clip, hostile rates):
refused at once by `roto export` and the editor with an error naming the media, never hours of work or a crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roto.cli import main
from roto.editor.documents import open_document
from roto.errors import RotoError
from roto.project import SetMask
from tests.conftest import CLIP_FRAMES, CLIP_SIZE


@pytest.fixture(scope="module")
def saved(small_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("p") / "shot.roto"
    doc = open_document(small_clip, lambda _r: False)
    doc.stack.push(SetMask(doc.shot.id, 1, 0, np.ones((CLIP_SIZE[1], CLIP_SIZE[0]), bool)))
    doc.save(folder)
    doc.close()
    return folder


def _hostile_copy(saved: Path, folder: Path, **shot: object) -> Path:
    folder.mkdir(parents=True)
    (folder / "masks").symlink_to(saved / "masks")  # read-only use: loading never writes
    data = json.loads((saved / "project.json").read_text())
    data["shots"][0].update(shot, media=str((saved / data["shots"][0]["media"]).resolve()))
    (folder / "project.json").write_text(json.dumps(data))
    return folder


HOSTILE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.timeout(300)
@HOSTILE
@given(
    width=st.sampled_from([1, CLIP_SIZE[0] - 1, CLIP_SIZE[0], CLIP_SIZE[0] + 1, 32768]),
    height=st.sampled_from([1, CLIP_SIZE[1], CLIP_SIZE[1] + 1, 32768]),
    frames=st.sampled_from([1, CLIP_FRAMES - 1, CLIP_FRAMES, CLIP_FRAMES + 1, 10_000_000]),
)
def test_a_shot_that_does_not_match_its_media_is_refused_by_export_and_the_editor(
    saved: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    width: int,
    height: int,
    frames: int,
) -> None:
    if (width, height, frames) == (*CLIP_SIZE, CLIP_FRAMES):
        return  # the honest project: covered by the export tests
    root = tmp_path_factory.mktemp("h")
    folder = _hostile_copy(saved, root / "hostile.roto", width=width, height=height, frame_count=frames)
    code = main(["export", str(folder), "--out", str(root / "out"), "--format", "prores"])
    err = capsys.readouterr().err
    assert code == 1 and "the media no longer matches the project" in err and "Traceback" not in err
    assert not (root / "out").exists()
    with pytest.raises(RotoError, match="the media no longer matches the project"):
        open_document(folder, lambda _r: False)


@pytest.mark.parametrize("fps", ["1/0", "0", "0/0", "-24", "1e9", "24/0"])
def test_hostile_rates_are_a_clear_error_in_export_and_the_editor(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fps: str
) -> None:
    folder = _hostile_copy(saved, tmp_path / "rate.roto", fps=fps)
    assert main(["export", str(folder), "--out", str(tmp_path / "out"), "--format", "png8"]) == 1
    err = capsys.readouterr().err
    assert "shots[0].fps: expected a positive rate" in err and "Traceback" not in err
    with pytest.raises(RotoError, match="expected a positive rate"):
        open_document(folder, lambda _r: False)
