"""`roto export` to shape formats: every object of the project as a layer in its colour, keyed per frame."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roto.project import load_project
from tests.test_cli_export import saved  # noqa: F401  (the tracked project, made once)
from tests.test_cli_track import FRAMES, assert_one_line_error, run


def test_export_lottie_has_a_layer_per_object_in_its_colour(
    saved: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "export", str(saved), "--out", str(tmp_path), "--format", "lottie", "--json")
    assert code == 0, err
    (file,) = (Path(f) for f in json.loads(out)["files"])
    data = json.loads(file.read_text())
    assert data["op"] - data["ip"] == FRAMES
    project = load_project(saved)
    colours = {obj.name: obj.color for obj in project.shots[0].objects}
    for layer in data["layers"]:
        fill = next(item for item in layer["shapes"][0]["it"] if item["ty"] == "fl")
        assert [round(c * 255) for c in fill["c"]["k"][:3]] == list(colours[layer["nm"]])


def test_a_bad_tolerance_fails_in_one_line(
    saved: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "export", str(saved), "--out", str(tmp_path), "--format", "svg", "--tolerance", "0"
    )
    assert code == 1
    assert_one_line_error(err, "roto: error:", "--tolerance")
