"""`roto segment --everything`: proposals of the test bundle written as labels, COCO JSON or one PNG each."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.engine.automask import AutomaskParams, Proposal, generate_proposals
from roto.engine.bundle import load_bundle
from roto.engine.service import EngineService, StillImage
from tests.conftest import TEST_BUNDLE
from tests.test_cli_track import assert_one_line_error, run, write_square_clip

# the committed bundle's random weights predict IoU near 0.5 and unstable masks: open both filters
LOOSE = ["--points-per-side", "4", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]
LOOSE_PARAMS = AutomaskParams(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rgb = np.full((60, 80, 3), 30, np.uint8)
    cv2.rectangle(rgb, (5, 5), (30, 25), (250, 40, 40), -1)
    cv2.circle(rgb, (55, 38), 14, (40, 220, 60), -1)
    path = tmp_path_factory.mktemp("picture") / "shapes.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def expected(rgb: np.ndarray) -> list[Proposal]:
    """What the engine proposes for the picture, called directly."""
    return generate_proposals(EngineService.open(load_bundle(TEST_BUNDLE)), StillImage(rgb), 0, LOOSE_PARAMS)


def segment(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(capsys, "segment", "--everything", "--model", str(TEST_BUNDLE), *LOOSE, *argv)


def test_labels_png_numbers_proposals_best_first(
    picture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "labels.png"
    code, stdout, err = segment(capsys, str(picture), "-o", str(out), "--json")
    assert code == 0, err
    data = json.loads(stdout)
    proposals = expected(cv2.cvtColor(cv2.imread(str(picture)), cv2.COLOR_BGR2RGB))
    assert data["count"] == len(proposals) > 0
    assert [p["area"] for p in data["proposals"]] == [p.area for p in proposals]
    labels = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert labels.dtype == np.uint16 and labels.shape == (60, 80)
    first = proposals[0].mask
    assert (labels[first] == 1).all()  # the best proposal is never painted over


def test_coco_json_holds_every_mask(
    picture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pycocotools import mask as mask_utils

    out = tmp_path / "proposals.json"
    code, _, err = segment(capsys, str(picture), "-o", str(out), "--format", "coco")
    assert code == 0, err
    document = json.loads(out.read_text())
    proposals = expected(cv2.cvtColor(cv2.imread(str(picture)), cv2.COLOR_BGR2RGB))
    assert len(document["annotations"]) == len(proposals)
    for annotation, proposal in zip(document["annotations"], proposals, strict=True):
        rle = dict(annotation["segmentation"], counts=annotation["segmentation"]["counts"].encode())
        np.testing.assert_array_equal(mask_utils.decode(rle).astype(bool), proposal.mask)
        assert annotation["predicted_iou"] == pytest.approx(proposal.predicted_iou)


def test_per_mask_on_a_video_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from roto.media import open_media

    clip = write_square_clip(tmp_path / "square.mp4")
    out = tmp_path / "masks"
    code, _, err = segment(capsys, str(clip), "--frame", "3", "-o", str(out), "--format", "per-mask")
    assert code == 0, err
    with open_media(clip) as media:
        proposals = expected(media.read(3))
    listing = json.loads((out / "proposals.json").read_text())
    assert len(listing) == len(proposals) > 0
    for number, proposal in enumerate(proposals, start=1):
        mask = cv2.imread(str(out / f"mask_{number:04d}.png"), cv2.IMREAD_GRAYSCALE)
        np.testing.assert_array_equal(mask > 127, proposal.mask)


@pytest.mark.parametrize(
    ("extra", "output", "fragment"),
    [
        (["--point", "3,3"], "l.png", "leave out --point and --box"),
        (["--points-per-side", "0"], "l.png", "points_per_side must be at least 1"),
        (["--format", "coco"], "l.png", "--format coco writes JSON; name a .json file"),
        (["--frame", "5"], "l.png", "--frame 5 is outside"),
    ],
)
def test_bad_requests_fail_with_one_line(
    picture: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    output: str,
    fragment: str,
) -> None:
    code, _, err = segment(capsys, str(picture), "-o", str(tmp_path / output), *extra)
    assert code == 1
    assert_one_line_error(err, "roto", fragment)
    assert not (tmp_path / output).exists()
