"""`roto export` to shape formats: every object of the project as a layer in its colour, keyed per frame."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.cli.export import run_export
from roto.export import ExportSpec, InMemorySource
from roto.project import load_project
from roto.shapes import ShapeSettings
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


def test_export_cel_png_over_a_solid_colour(
    saved: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "export", str(saved), "--out", str(tmp_path), "--format", "cel", "--outline", "2",
        "--background", "#102030", "--json",
    )  # fmt: skip
    assert code == 0, err
    files = [Path(f) for f in json.loads(out)["files"]]
    assert len(files) == FRAMES and all("_cel." in f.name for f in files)
    picture = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    assert picture.shape[2] == 4 and (picture[..., 3] == 255).all()
    code, out, err = run(
        capsys, "export", str(saved), "--out", str(tmp_path / "m"), "--format", "png8", "--layout", "union",
        "--json",
    )  # fmt: skip
    matte = cv2.imread(json.loads(out)["files"][0], cv2.IMREAD_GRAYSCALE)
    away = cv2.dilate(matte, np.ones((9, 9), np.uint8)) == 0  # beyond every object and its outline
    assert away.any()
    assert (picture[away][:, :3] == (0x30, 0x20, 0x10)).all()  # BGR of #102030


def test_shapes_left_out_are_one_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mask = np.zeros((120, 160), bool)
    mask[4::8, 4::8] = True
    mask = cv2.dilate(mask.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # 300 specks of 25 pixels
    source = InMemorySource("dusty", mask.shape, {"dust": [mask]})
    spec = ExportSpec(tmp_path, format="svg", shapes=ShapeSettings(max_paths=8))
    result = run_export(argparse.Namespace(json=True), source, spec)
    assert len(result.files) == 1
    err = capsys.readouterr().err
    assert err.startswith("roto: warning: Shot 'dusty', object 'dust': 1 frame(s) had more than 8 parts")
    assert err.count("\n") == 1
