"""The cel look: flat fills in the objects' colours with outlines, over a colour, the frame or transparency."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from roto.errors import ExportError
from roto.export import ExportSpec, InMemorySource, export
from roto.export.cel import CelStyle

SIZE = (240, 320)
RED, BLUE = (220, 30, 30), (30, 60, 220)


def _source(frames: int = 2) -> InMemorySource:
    disc = np.zeros(SIZE, np.uint8)
    cv2.circle(disc, (100, 120), 60, 1, -1)
    box = np.zeros(SIZE, bool)
    box[60:200, 200:300] = True
    picture = np.full((*SIZE, 3), 128, np.uint8)
    return InMemorySource(
        "sh",
        SIZE,
        {"disc": [disc.astype(bool)] * frames, "box": [box] * frames},
        fps=Fraction(24),
        images=[picture] * frames,
        colours={"disc": RED, "box": BLUE},
    )


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)


def test_fills_outlines_and_a_solid_background(tmp_path: Path) -> None:
    spec = ExportSpec(tmp_path, content="cel", cel=CelStyle(outline_px=4, background="#ffffff"))
    files = export(_source(), spec).files
    assert [f.name for f in files] == ["sh_cel.0000.png", "sh_cel.0001.png"]
    rgba = _read(files[0])
    assert (rgba[..., 3] == 255).all()
    assert tuple(rgba[120, 100, :3]) == RED and tuple(rgba[130, 250, :3]) == BLUE
    assert tuple(rgba[10, 10, :3]) == (255, 255, 255)
    row = rgba[120, 20:60, :3].astype(int).sum(axis=1)  # across the disc's left edge at x = 40
    dark = int((row < 150).sum())
    assert 3 <= dark <= 6  # the 4-pixel outline, antialiased


def test_transparent_background_leaves_only_the_drawing_opaque(tmp_path: Path) -> None:
    source = _source()
    object.__setattr__(source, "images", None)  # no pictures needed without the frame behind
    spec = ExportSpec(tmp_path, content="cel", cel=CelStyle(outline_px=0, background="transparent"))
    rgba = _read(export(source, spec).files[0])
    drawn = rgba[..., 3] >= 128
    expected = np.logical_or(source.object_masks["disc"][0], source.object_masks["box"][0])
    assert np.logical_xor(drawn, expected).sum() / expected.sum() < 0.03  # within the 1-pixel tolerance


def test_prores_4444_over_the_frame(tmp_path: Path) -> None:
    spec = ExportSpec(tmp_path, format="prores", content="cel")
    (file,) = export(_source(3), spec).files
    with av.open(str(file)) as container:
        frames = [frame.to_ndarray(format="rgba") for frame in container.decode(video=0)]
    assert len(frames) == 3
    first = frames[0].astype(int)
    assert (first[..., 3] == 255).all()
    assert np.abs(first[120, 100, :3] - RED).max() <= 6  # inside the disc
    assert np.abs(first[10, 10, :3] - 128).max() <= 3  # the frame behind


def test_bad_cel_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="background"):
        CelStyle(background="pink")
    with pytest.raises(ValueError, match="outline"):
        CelStyle(outline_px=-1)
    with pytest.raises(ExportError, match="per-object"):
        export(_source(), ExportSpec(tmp_path, content="cel", layout="union"))
    with pytest.raises(ExportError, match="mattes only"):
        export(_source(), ExportSpec(tmp_path, format="exr", content="cel"))
