"""Damaged or hostile project files raise ProjectError naming the file; nothing else escapes the loader."""

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roto.errors import ProjectError
from roto.project import UndoStack, load_project, save_project, store


@pytest.fixture
def saved(stack: UndoStack, tmp_path: Path) -> Path:
    folder = tmp_path / "demo.roto"
    save_project(stack.project, folder)
    return folder


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "project.json").read_text())


def write(folder: Path, data: object) -> None:
    (folder / "project.json").write_text(json.dumps(data))


def test_truncated_manifest(saved: Path) -> None:
    text = (saved / "project.json").read_bytes()
    (saved / "project.json").write_bytes(text[: len(text) // 2])
    with pytest.raises(ProjectError, match=r"project\.json: not valid JSON .*truncated or damaged"):
        load_project(saved)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format="something else"), "not a Roto project manifest"),
        (lambda m: m.update(version="1"), "invalid format version"),
        (lambda m: m["shots"][0].update(width="wide"), r"shots\[0\]\.width: expected an integer"),
        (
            lambda m: m["shots"][0].update(width=10**9),
            r"shots\[0\]\.width: expected an integer from 1 to 32768",
        ),
        (lambda m: m["shots"][0].update(frame_count=-1), r"shots\[0\]\.frame_count"),
        (lambda m: m["shots"][0].update(fps="1e999999"), r"shots\[0\]\.fps: expected a positive rate"),
        (lambda m: m["shots"][0].update(fps="0"), r"shots\[0\]\.fps"),
        (lambda m: m["shots"][0]["objects"][0].update(color=[1, 2]), r"color: expected \[red, green, blue\]"),
        (lambda m: m["shots"][0]["objects"][0].update(visible=1), r"visible: expected true or false"),
        (lambda m: m["shots"][0]["objects"][0].pop("masks"), r"objects\[0\]: missing masks"),
        (
            lambda m: m["shots"][0]["objects"][0]["masks"].update(
                {"99": m["shots"][0]["objects"][0]["masks"]["0"]}
            ),
            "frame 99 is outside the shot",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["masks"]["0"].update(mask="../../../etc/passwd"),
            "expected a mask digest",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["masks"]["0"].update(origin="magic"),
            "origin: expected one of",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["masks"]["0"].update(mask="f" * 32),
            r"mask file .*ffff\.rle is missing",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["prompts"].update(
                {"1": {"points": [[1, 2, 5]], "boxes": []}}
            ),
            r"label: expected an integer from 0 to 1",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["prompts"].update(
                {"1": {"points": [], "boxes": [[1, 2, 3]]}}
            ),
            "expected 4 values",
        ),
        (
            lambda m: m["shots"][0]["objects"][0]["prompts"].update(
                {"1": {"points": [[1e300, 1, 1]], "boxes": []}}
            ),
            "far outside any frame",
        ),
        (lambda m: m["shots"].append(m["shots"][0]), "two shots share an id"),
        (lambda m: m["shots"][0]["objects"].append(m["shots"][0]["objects"][0]), "two objects share an id"),
        (
            lambda m: m["shots"][0]["objects"].append(
                {**m["shots"][0]["objects"][1], "id": 7, "name": "person"}
            ),
            r"shots\[0\]\.objects: two objects are called 'person'; names must be unique",
        ),
        (lambda m: m.update(shots=[{}] * (store.MAX_SHOTS + 1)), "more than the 1000 allowed"),
    ],
)
def test_invalid_manifests_are_refused_with_the_place_named(saved: Path, edit: Any, message: str) -> None:
    data = manifest(saved)
    edit(data)
    write(saved, data)
    with pytest.raises(ProjectError, match=message) as caught:
        load_project(saved)
    assert str(saved / "project.json") in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"\xff\xfe",
        b"[" * 100_000,
        b'{"format": "roto-project", "version": 1, "name": 1e999999, "shots": []}',
        b'{"format": "roto-project", "version": 1' + b', "x": ' + b"9" * 5000 + b"}",
    ],
)
def test_garbage_bytes_are_refused(saved: Path, text: bytes) -> None:
    (saved / "project.json").write_bytes(text)
    with pytest.raises(ProjectError, match=r"project\.json"):
        load_project(saved)


def test_huge_manifest_is_refused_before_reading(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(ProjectError, match="too large for a project manifest"):
        load_project(saved)


def test_huge_mask_file_is_refused_before_reading(saved: Path) -> None:
    loaded = load_project(saved)
    digest = loaded.shots[0].objects[0].masks[0].digest
    with open(saved / "masks" / f"{digest}.rle", "r+b") as handle:
        handle.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(ProjectError, match=r"more than the \d+ allowed"):
        loaded.get_mask("shot1", 1, 0)


def test_mask_of_the_wrong_shape_is_refused(saved: Path, tmp_path: Path) -> None:
    data = manifest(saved)
    data["shots"][0]["width"] = 30
    write(saved, data)
    loaded = load_project(saved)
    with pytest.raises(ProjectError, match="mask is 24x32 but the shot's frames are 24x30"):
        loaded.get_mask("shot1", 1, 0)


def test_loading_writes_nothing(saved: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in saved.parent.rglob("*")}
    load_project(saved)
    assert {p: p.stat().st_mtime_ns for p in saved.parent.rglob("*")} == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_manifests_with_a_random_part_replaced_load_or_raise_project_error(
    saved: Path, data: st.DataObject
) -> None:
    original = manifest(saved)
    mutated = json.loads(json.dumps(original))
    path = data.draw(st.sampled_from(_paths(mutated)[1:]))
    replacement = data.draw(json_values)
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = replacement
    write(saved, mutated)
    try:
        loaded = load_project(saved)
    except ProjectError as exc:
        assert "project.json" in str(exc)
        return
    finally:
        write(saved, original)
    for shot in loaded.shots:
        for obj in shot.objects:
            for frame in obj.masks:
                with contextlib.suppress(ProjectError):
                    loaded.get_mask(shot.id, obj.id, frame)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=json_values)
def test_random_json_documents_raise_project_error(saved: Path, document: object) -> None:
    write(saved, document)
    with pytest.raises(ProjectError):
        load_project(saved)


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_mask_store_cannot_be_pointed_outside_the_project(saved: Path, tmp_path: Path) -> None:
    """Mask references are digests, never paths: nothing in a manifest names a file outside masks/."""
    data = manifest(saved)
    data["shots"][0]["objects"][0]["masks"]["0"]["mask"] = str(tmp_path / "outside")
    write(saved, data)
    with pytest.raises(ProjectError, match="expected a mask digest"):
        load_project(saved)
