import json
import os
from pathlib import Path

import numpy as np
import pytest

from roto.errors import ProjectError
from roto.project import (
    MIGRATIONS,
    AddPrompt,
    Box,
    DeleteObject,
    MaskOrigin,
    Point,
    Propagate,
    RelinkMedia,
    SetMask,
    UndoStack,
    load_project,
    save_project,
    store,
)
from tests.project.project_helpers import disc


def test_round_trip_keeps_everything(stack: UndoStack, tmp_path: Path) -> None:
    project = stack.project
    stack.push(AddPrompt("shot1", 1, 0, Point(3.5, 4.25, 0)))
    stack.push(AddPrompt("shot1", 2, 7, Box(1, 2, 3, 4)))
    stack.push(SetMask("shot1", 2, 7, disc(20, 5, 4), MaskOrigin.PROMPTED))
    folder = tmp_path / "demo.roto"
    save_project(project, folder)
    loaded = load_project(folder)
    assert loaded == project
    for obj_id, frame in [(1, 0), (1, 2), (2, 7)]:
        np.testing.assert_array_equal(
            loaded.get_mask("shot1", obj_id, frame), project.get_mask("shot1", obj_id, frame)
        )
    assert loaded.get_mask("shot1", 2, 0) is None
    manifest = json.loads((folder / "project.json").read_text())
    assert manifest["format"] == "roto-project" and manifest["version"] == store.CURRENT_VERSION
    assert manifest["shots"][0]["media"] == "../footage/clip.mp4"
    assert manifest["shots"][0]["fps"] == "24/1"


def test_masks_are_read_only_when_asked_for(stack: UndoStack, tmp_path: Path) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    digest = stack.project.shot("shot1").object(1).masks[1].digest
    (folder / "masks" / f"{digest}.rle").write_bytes(b"damaged")
    loaded = load_project(folder)  # opening does not read mask data
    assert loaded.get_mask("shot1", 1, 0) is not None
    with pytest.raises(ProjectError, match=f"{digest}.rle: mask file is damaged"):
        loaded.get_mask("shot1", 1, 1)


def test_decoded_masks_are_cached_within_a_byte_budget(stack: UndoStack, tmp_path: Path) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    loaded = load_project(folder, cache_bytes=2 * 24 * 32)
    first = loaded.get_mask("shot1", 1, 0)
    assert loaded.get_mask("shot1", 1, 0) is first
    loaded.get_mask("shot1", 1, 1)
    loaded.get_mask("shot1", 1, 2)
    assert loaded.get_mask("shot1", 1, 0) is not first  # evicted, decoded again
    assert not first.flags.writeable


def test_missing_media_is_reported_and_relinked(stack: UndoStack, tmp_path: Path, media: Path) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    moved = tmp_path / "elsewhere.mp4"
    media.rename(moved)
    loaded = load_project(folder)
    assert [(m.shot_id, m.path) for m in loaded.missing_media()] == [("shot1", media)]
    UndoStack(loaded).push(RelinkMedia("shot1", moved))
    assert loaded.missing_media() == []
    save_project(loaded, folder)
    assert load_project(folder).shot("shot1").media == moved


def test_project_folder_and_media_move_together(stack: UndoStack, tmp_path: Path) -> None:
    save_project(stack.project, tmp_path / "demo.roto")
    moved = tmp_path / "moved"
    moved.mkdir()
    (tmp_path / "demo.roto").rename(moved / "demo.roto")
    (tmp_path / "footage").rename(moved / "footage")
    assert load_project(moved / "demo.roto").missing_media() == []


def test_unused_masks_are_deleted_on_save_but_undo_still_finds_them(stack: UndoStack, tmp_path: Path) -> None:
    folder = tmp_path / "demo.roto"
    project = stack.project
    save_project(project, folder)
    assert len(list((folder / "masks").iterdir())) == 3
    kept = project.get_mask("shot1", 1, 2).copy()
    stack.push(DeleteObject("shot1", 1))
    save_project(project, folder)
    assert list((folder / "masks").iterdir()) == []
    project.masks.cache_bytes = 0  # force decoding from the retained blobs
    stack.undo()
    np.testing.assert_array_equal(project.get_mask("shot1", 1, 2), kept)
    save_project(project, folder)
    np.testing.assert_array_equal(load_project(folder).get_mask("shot1", 1, 2), kept)


def test_save_as_copies_masks_into_the_new_folder(stack: UndoStack, tmp_path: Path) -> None:
    save_project(stack.project, tmp_path / "a.roto")
    loaded = load_project(tmp_path / "a.roto")
    save_project(loaded, tmp_path / "b.roto")
    assert load_project(tmp_path / "b.roto") == stack.project
    np.testing.assert_array_equal(load_project(tmp_path / "b.roto").get_mask("shot1", 1, 0), disc(10, 12, 6))


def test_unsaved_masks_stay_compressed_in_memory(stack: UndoStack, tmp_path: Path) -> None:
    project = stack.project
    replaced = [project.shot("shot1").object(1).masks[f].digest for f in range(3)]
    stack.push(Propagate("shot1", ((1, f, disc(f, 10, 5)) for f in range(12))))
    assert 0 < project.masks.pending_bytes < 12 * 24 * 32 // 4
    save_project(project, tmp_path / "demo.roto")
    # only the masks the propagation replaced stay in memory, for undo; the saved ones left it
    assert project.masks.pending_bytes == sum(len(project.masks.blob(d)) for d in replaced)


def test_folder_name_must_end_in_roto(stack: UndoStack, tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"must end in \.roto"):
        save_project(stack.project, tmp_path / "demo")


def test_newer_format_asks_for_an_upgrade(stack: UndoStack, tmp_path: Path) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    manifest = json.loads((folder / "project.json").read_text())
    manifest["version"] = store.CURRENT_VERSION + 2
    (folder / "project.json").write_text(json.dumps(manifest))
    expected = (
        f"written by Roto format {store.CURRENT_VERSION + 2}, this Roto reads up to {store.CURRENT_VERSION}"
    )
    with pytest.raises(ProjectError, match=f"project.json: {expected}: upgrade Roto"):
        load_project(folder)


def test_migrations_run_in_order_up_to_the_current_version(
    stack: UndoStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulate a future format 2 that renamed 'name': a v1 file must be upgraded through the registry."""
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    current = store.CURRENT_VERSION

    def rename_key(data: dict) -> dict:
        data["title"] = data.pop("name")
        return data

    def title_back(data: dict) -> dict:
        data["name"] = data.pop("title") + " (migrated)"
        return data

    monkeypatch.setattr(store, "CURRENT_VERSION", current + 2)
    monkeypatch.setitem(MIGRATIONS, current, rename_key)
    monkeypatch.setitem(MIGRATIONS, current + 1, title_back)
    assert load_project(folder).name == "demo (migrated)"


def test_saving_into_an_unwritable_place_is_a_project_error(stack: UndoStack, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ProjectError, match="cannot save the project"):
        save_project(stack.project, blocker / "demo.roto")


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user"
)
def test_unreadable_manifest_is_a_project_error(stack: UndoStack, tmp_path: Path) -> None:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    (folder / "project.json").chmod(0)
    with pytest.raises(ProjectError, match="cannot read"):
        load_project(folder)
