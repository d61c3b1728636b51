"""Refine edge at export: soft values kept by 16-bit PNG, half-float EXR and 10-bit ProRes; cut-out colour."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from roto.errors import ExportError
from roto.export import ExportSpec, InMemorySource, export
from roto.export.video import alpha_plane
from roto.matte import MatteOps
from roto.refine import RefineMode
from tests.export.test_png_sequences import read_png
from tests.export.test_video_export import decode
from tests.test_refine import composite

REFINE = MatteOps(refine=RefineMode.FAST, refine_band_px=6)


@pytest.fixture()
def scene() -> tuple[InMemorySource, np.ndarray, np.ndarray]:
    """Two frames of a composite with a known alpha; 'hero' refines its edge. (source, refined alpha, foreground)"""
    picture, _, fg, coarse = composite()
    source = InMemorySource(
        "sh",
        picture.shape[:2],
        {"hero": [coarse, coarse]},
        fps=Fraction(24),
        images=[picture, picture],
        object_ops={"hero": REFINE},
    )
    return source, REFINE.apply(coarse, picture=picture), fg


def test_16_bit_png_keeps_the_refined_soft_values(scene: tuple, out_dir: Path) -> None:
    source, alpha, _ = scene
    export(source, ExportSpec(out_dir, bit_depth=16, frames=range(1)))
    pixels = read_png(out_dir / "sh_hero.0000.png")
    np.testing.assert_array_equal(pixels, np.rint(alpha * 65535))
    assert len(np.unique(pixels)) > 256


def test_half_float_exr_keeps_the_refined_values(scene: tuple, out_dir: Path) -> None:
    source, alpha, _ = scene
    export(source, ExportSpec(out_dir, "exr", frames=range(1)))
    pixels = OpenEXR.File(str(out_dir / "sh_hero.0000.exr"), separate_channels=True).channels()["A"].pixels
    np.testing.assert_array_equal(pixels, alpha.astype(np.float16))


def test_prores_keeps_10_bit_refined_alpha(scene: tuple, out_dir: Path) -> None:
    source, alpha, _ = scene
    export(source, ExportSpec(out_dir, "prores"))
    _, frames = decode(out_dir / "sh_hero.mov")
    assert len(frames) == 2
    bits = frames[0].format.components[3].bits
    ten_bit = np.rint(alpha_plane(frames[0]).astype(np.float64) * 1023 / ((1 << bits) - 1))
    np.testing.assert_array_equal(ten_bit, np.rint(alpha * 1023))
    assert len(np.unique(ten_bit)) > 256


def test_a_cut_out_carries_the_objects_own_colour_at_soft_edges(scene: tuple, out_dir: Path) -> None:
    source, alpha, fg = scene
    export(source, ExportSpec(out_dir, content="rgba-straight", bit_depth=16, frames=range(1)))
    rgba = read_png(out_dir / "sh_hero.0000.png").astype(np.float64) / 65535
    soft = (alpha > 0.15) & (alpha < 0.85)
    frame = source.images[0] / 255.0
    assert np.abs(rgba[..., :3] - fg)[soft].mean() < 0.6 * np.abs(frame - fg)[soft].mean()
    opaque = alpha >= 1.0
    np.testing.assert_allclose(rgba[..., :3][opaque], frame[opaque], atol=1e-4)


def test_refine_without_pictures_names_the_frame_and_object(scene: tuple, out_dir: Path) -> None:
    source, _, _ = scene
    blind = InMemorySource("sh", source.frame_size, source.object_masks, object_ops={"hero": REFINE})
    with pytest.raises(
        ExportError, match=r"Shot 'sh', object 'hero', frame 0: .*refine edge needs the frame's picture"
    ):
        export(blind, ExportSpec(out_dir))
