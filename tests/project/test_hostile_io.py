"""Hostile names, keys, rates and folders: each is saved and loaded back exactly, or refused with a ProjectError
naming the file; a failed save leaves nothing behind, and a symlinked masks/ folder is never written through."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roto.errors import ProjectError
from roto.project import UndoStack, UpdateObject, load_project, save_project

HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "project.json").read_text())


# Names and paths as the file system gives them: any bytes, decoded with surrogateescape as Python does.
fs_names = st.binary(min_size=1, max_size=40).filter(
    lambda b: b"/" not in b and b"\x00" not in b and os.fsdecode(b).strip() not in ("", "ball")
)


@HYPOTHESIS
@given(raw=fs_names)
def test_names_and_media_paths_that_are_not_utf8_save_and_load_back_exactly(
    stack: UndoStack, tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    name = os.fsdecode(raw)
    stack.push(UpdateObject("shot1", 1, name=name))
    project = stack.project
    project.shots[0].media = Path(os.fsdecode(b"/footage/" + raw + b".mp4"))
    folder = tmp_path_factory.mktemp("p") / "demo.roto"
    save_project(project, folder)
    (folder / "project.json").read_bytes().decode("utf-8")  # the manifest stays UTF-8 text
    loaded = load_project(folder)
    assert loaded.shots[0].objects[0].name == name
    assert os.fsencode(loaded.shots[0].media) == b"/footage/" + raw + b".mp4"
    stack.undo()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["shots"][0].update(fps="1/0"), r"shots\[0\]\.fps: expected a positive rate"),
        (lambda m: m["shots"][0].update(fps="0/5"), r"shots\[0\]\.fps: expected a positive rate"),
        (
            lambda m: m["shots"][0]["objects"][0]["masks"].update(
                {"01": m["shots"][0]["objects"][0]["masks"]["1"]}
            ),
            r"'01' is not written as Roto writes frame numbers \(1\)",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["prompts"].update(
                {"-0": {"points": [[1, 1, 1]], "boxes": []}}
            ),
            r"'-0' is not written as Roto writes frame numbers",
        ),
    ],
)
def test_hostile_rates_and_frame_keys_are_refused(
    stack: UndoStack, tmp_path: Path, edit, message: str
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    data = _manifest(folder)
    edit(data)
    (folder / "project.json").write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=rf"project\.json: .*{message}"):
        load_project(folder)


@HYPOTHESIS
@given(frame=st.integers(0, 2), zeros=st.integers(1, 3))  # frames 0-2 have masks
def test_a_frame_key_repeated_in_any_spelling_is_refused_never_dropped(
    stack: UndoStack, tmp_path_factory: pytest.TempPathFactory, frame: int, zeros: int
) -> None:
    folder = tmp_path_factory.mktemp("p") / "demo.roto"
    save_project(stack.project, folder)
    text = (folder / "project.json").read_text()
    entry = json.dumps(
        {"mask": _manifest(folder)["shots"][0]["objects"][0]["masks"]["0"]["mask"], "origin": "edited"}
    )
    spelled = "0" * zeros + str(frame)
    for key in (str(frame), spelled):  # the same key twice, and the same frame in another spelling
        hostile = text.replace('"masks": {', f'"masks": {{"{key}": {entry}, ', 1)
        (folder / "project.json").write_text(hostile)
        with pytest.raises(
            ProjectError, match=r"project\.json: .*(appears twice|not written as Roto writes)"
        ):
            load_project(folder)


def test_a_failed_save_leaves_no_orphan_masks_and_the_next_one_succeeds(
    stack: UndoStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    before = sorted((folder / "masks").iterdir())
    from roto.project import SetMask
    from tests.project.project_helpers import disc

    for frame in range(3, 8):
        stack.push(SetMask("shot1", 2, frame, disc(frame, 8, 4)))
    real_replace, calls = os.replace, [0]

    def full_after_three(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] > 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_after_three)
    with pytest.raises(ProjectError, match="No space left on device"):
        save_project(stack.project, folder)
    monkeypatch.undo()
    assert (
        sorted((folder / "masks").iterdir()) == before
    )  # the three masks written before the failure are gone
    save_project(stack.project, folder)
    assert load_project(folder) == stack.project


def test_a_symlinked_masks_folder_is_never_written_through(stack: UndoStack, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / ("0" * 32 + ".rle")).write_text("a file the save must not delete")
    folder = tmp_path / "demo.roto"
    folder.mkdir()
    (folder / "masks").symlink_to(outside)
    with pytest.raises(ProjectError, match=r"masks: is a symbolic link"):
        save_project(stack.project, folder)
    assert [p.name for p in outside.iterdir()] == ["0" * 32 + ".rle"]
