"""OpenEXR and COCO RLE exports read back with their own libraries."""

import json
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from roto.errors import ExportError
from roto.export import ExportSpec, InMemorySource, export
from roto.matte import MatteOps


def test_exr_is_single_half_float_alpha_channel(shot: InMemorySource, out_dir: Path) -> None:
    ops = MatteOps(soft_edges=True, feather_px=2)
    result = export(shot, ExportSpec(out_dir, "exr", objects=["disc"], matte_ops=ops))
    assert [p.name for p in result.files] == [f"sh010_disc.{n}.exr" for n in range(1001, 1006)]
    exr = OpenEXR.File(str(out_dir / "sh010_disc.1002.exr"), separate_channels=True)
    channels = exr.channels()
    assert list(channels) == ["A"]
    pixels = channels["A"].pixels
    assert pixels.dtype == np.float16 and pixels.shape == (48, 64)
    want = ops.apply(shot.object_masks["disc"][1], shot.frame_size).astype(np.float16)
    np.testing.assert_array_equal(pixels, want)


def test_multi_layer_exr_holds_one_layer_per_object(shot: InMemorySource, out_dir: Path) -> None:
    ops = MatteOps(soft_edges=True)
    result = export(shot, ExportSpec(out_dir, "exr", layout="layers", matte_ops=ops))
    assert [p.name for p in result.files] == [f"sh010_layers.{n}.exr" for n in range(1001, 1006)]
    channels = OpenEXR.File(str(out_dir / "sh010_layers.1003.exr"), separate_channels=True).channels()
    assert sorted(channels) == ["box.A", "disc.A"]
    for name in ("box", "disc"):
        pixels = channels[f"{name}.A"].pixels
        want = ops.apply(shot.object_masks[name][2], shot.frame_size).astype(np.float16)
        assert pixels.dtype == np.float16
        np.testing.assert_array_equal(pixels, want)


def test_layers_are_exr_only(shot: InMemorySource, out_dir: Path) -> None:
    with pytest.raises(ExportError, match="EXR only"):
        export(shot, ExportSpec(out_dir, "png", layout="layers"))
    assert not out_dir.exists()


def test_coco_rle_round_trip(shot: InMemorySource, out_dir: Path) -> None:
    shot.object_masks["box"][2][:] = False  # an empty mask gets no annotation
    result = export(shot, ExportSpec(out_dir, "coco"))
    assert [p.name for p in result.files] == ["sh010.json"]
    coco = COCO(str(out_dir / "sh010.json"))
    assert {c["name"]: c["id"] for c in coco.loadCats(coco.getCatIds())} == {"box": 1, "disc": 2}
    assert sorted(coco.getImgIds()) == [1, 2, 3, 4, 5]
    image = coco.loadImgs(3)[0]
    assert (image["width"], image["height"], image["frame_number"]) == (64, 48, 1003)
    assert coco.getAnnIds(imgIds=3, catIds=1) == []
    for index in range(5):
        for name, category in (("box", 1), ("disc", 2)):
            ids = coco.getAnnIds(imgIds=index + 1, catIds=category)
            want = MatteOps().apply(shot.object_masks[name][index], shot.frame_size) >= 0.5
            if not want.any():
                continue
            (annotation,) = coco.loadAnns(ids)
            np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), want)
            assert annotation["area"] == int(want.sum())
    raw = json.loads((out_dir / "sh010.json").read_text())
    segmentation = raw["annotations"][0]["segmentation"]
    assert isinstance(segmentation["counts"], str)
    assert mask_utils.decode({**segmentation, "counts": segmentation["counts"].encode()}).shape == (48, 64)
