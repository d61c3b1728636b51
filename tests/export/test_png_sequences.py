"""PNG sequences read back by file names, counts and pixels."""

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from roto.export import Content, ExportSpec, InMemorySource, Layout, export
from roto.matte import MatteOps


def read_png(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert pixels is not None, path
    return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA) if pixels.ndim == 3 else pixels


def expected_alpha(shot: InMemorySource, name: str, index: int, ops: MatteOps | None = None) -> np.ndarray:
    return (ops or MatteOps()).apply(shot.object_masks[name][index], shot.frame_size)


def test_per_object_8bit_names_count_and_pixels(
    shot: InMemorySource, out_dir: Path, listing: Callable[[Path], list[str]]
) -> None:
    result = export(shot, ExportSpec(out_dir))
    expected = sorted(f"sh010_{obj}.{n}.png" for obj in ("box", "disc") for n in range(1001, 1006))
    assert listing(out_dir) == expected
    assert sorted(p.name for p in result.files) == expected
    assert result.frames_written == 5 and not result.cancelled
    for index in range(5):
        box = read_png(out_dir / f"sh010_box.{1001 + index}.png")
        assert box.dtype == np.uint8 and box.shape == (48, 64)
        np.testing.assert_array_equal(box, shot.object_masks["box"][index] * 255)
        disc = read_png(out_dir / f"sh010_disc.{1001 + index}.png")
        np.testing.assert_array_equal(disc > 0, expected_alpha(shot, "disc", index) > 0.5)


def test_16bit_soft_matte_keeps_precision(shot: InMemorySource, out_dir: Path) -> None:
    ops = MatteOps(soft_edges=True, feather_px=3)
    export(shot, ExportSpec(out_dir, bit_depth=16, objects=["disc"], frames=range(2, 3), matte_ops=ops))
    pixels = read_png(out_dir / "sh010_disc.1003.png")
    assert pixels.dtype == np.uint16
    want = np.rint(expected_alpha(shot, "disc", 2, ops) * 65535)
    np.testing.assert_array_equal(pixels, want)
    assert len(np.unique(pixels)) > 256  # more levels than 8 bits could hold


def test_union_is_max_of_objects(shot: InMemorySource, out_dir: Path) -> None:
    result = export(shot, ExportSpec(out_dir, layout=Layout.UNION, pattern="{shot}.{frame:05d}.png"))
    assert [p.name for p in result.files] == [f"sh010.{n:05d}.png" for n in range(1001, 1006)]
    union = read_png(out_dir / "sh010.01004.png")
    want = np.maximum(expected_alpha(shot, "box", 3), expected_alpha(shot, "disc", 3))
    np.testing.assert_array_equal(union, np.rint(want * 255))


def test_label_map_is_paletted_with_object_indices(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, layout="labels", frames=range(1)))
    with Image.open(out_dir / "sh010_labels.1001.png") as image:
        assert image.mode == "P"
        labels = np.asarray(image)
        palette = image.getpalette()
    assert palette is not None and palette[3:6] == [128, 0, 0] and palette[6:9] == [0, 128, 0]
    box = shot.object_masks["box"][0]
    disc = expected_alpha(shot, "disc", 0) > 0.5
    np.testing.assert_array_equal(labels == 2, disc)  # the later object is drawn on top
    np.testing.assert_array_equal(labels == 1, box & ~disc)
    np.testing.assert_array_equal(labels == 0, ~box & ~disc)


def test_rgba_cutouts_straight_and_premultiplied(shot: InMemorySource, tmp_path: Path) -> None:
    ops = MatteOps(feather_px=4)
    for content in (Content.STRAIGHT, Content.PREMULTIPLIED):
        export(shot, ExportSpec(tmp_path / content, content=content, objects=["box"], matte_ops=ops))
    alpha = expected_alpha(shot, "box", 1, ops)
    rgb = shot.images[1] if shot.images is not None else None
    assert rgb is not None
    straight = read_png(tmp_path / Content.STRAIGHT / "sh010_box.1002.png")
    premul = read_png(tmp_path / Content.PREMULTIPLIED / "sh010_box.1002.png")
    assert straight.shape == (48, 64, 4)
    np.testing.assert_array_equal(straight[..., :3], rgb)
    np.testing.assert_array_equal(straight[..., 3], np.rint(alpha * 255))
    np.testing.assert_array_equal(premul[..., 3], straight[..., 3])
    want = np.rint(rgb.astype(np.float32) / 255 * alpha[..., None] * 255)
    np.testing.assert_array_equal(premul[..., :3], want)


def test_16bit_rgba_scales_colour(shot: InMemorySource, out_dir: Path) -> None:
    export(shot, ExportSpec(out_dir, content="rgba-straight", bit_depth=16, objects=["box"], frames=range(1)))
    pixels = read_png(out_dir / "sh010_box.1001.png")
    assert pixels.dtype == np.uint16
    assert shot.images is not None
    np.testing.assert_array_equal(pixels[..., :3], shot.images[0].astype(np.uint16) * 257)


def test_range_selection_and_renumbering(shot: InMemorySource, out_dir: Path) -> None:
    result = export(shot, ExportSpec(out_dir, frames=range(1, 4), objects=["disc"], start_frame=1))
    assert [p.name for p in result.files] == [
        "sh010_disc.0002.png",
        "sh010_disc.0003.png",
        "sh010_disc.0004.png",
    ]
    np.testing.assert_array_equal(
        read_png(out_dir / "sh010_disc.0002.png"), np.rint(expected_alpha(shot, "disc", 1) * 255)
    )


def test_video_source_numbers_frames_from_zero(out_dir: Path) -> None:
    masks = [np.eye(8, dtype=bool), ~np.eye(8, dtype=bool)]
    source = InMemorySource("clip", (8, 8), {"o": masks})
    result = export(source, ExportSpec(out_dir, pattern="{object}_{frame}.png"))
    assert [p.name for p in result.files] == ["o_0.png", "o_1.png"]
    np.testing.assert_array_equal(read_png(result.files[1]), masks[1] * 255)


def test_frames_without_a_mask_are_empty_and_ops_still_apply(out_dir: Path) -> None:
    source = InMemorySource("s", (6, 6), {"o": [None]})
    export(source, ExportSpec(out_dir, matte_ops=MatteOps(invert=True)))
    np.testing.assert_array_equal(read_png(out_dir / "s_o.0000.png"), np.full((6, 6), 255))
