"""`roto matte refine`: real files in and out, the refined alpha at 16 bits, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto import cli
from tests.test_refine import composite, sad


def _write(path: Path, pixels: np.ndarray) -> Path:
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), pixels)
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    picture, truth, fg, coarse = composite()
    image = _write(tmp_path / "frame.png", picture)
    mask = _write(tmp_path / "mask.png", coarse.astype(np.uint8) * 255)
    return image, mask, truth, fg


def _read16(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert data.dtype == np.uint16
    return data.astype(np.float64) / 65535


@pytest.mark.parametrize("mode", ["fast", "quality"])
def test_refine_writes_a_soft_16_bit_alpha_closer_to_the_truth(
    files: tuple[Path, Path, np.ndarray, np.ndarray], mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    image, mask, truth, _ = files
    out = image.parent / "alpha.png"
    args = ["matte", "refine", str(image), str(mask), "-o", str(out), "--mode", mode, "--band", "6", "--json"]
    assert cli.main(args) == 0
    assert json.loads(capsys.readouterr().out)["soft_pixels"] > 0
    alpha = _read16(out)
    coarse = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) / 255.0
    assert sad(alpha, truth) < 0.6 * sad(coarse, truth)
    assert len(np.unique(alpha)) > 256  # finer steps than 8 bits could hold


def test_foreground_is_a_straight_rgba_cut_out(files: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    image, mask, _, fg = files
    out, cut = image.parent / "alpha.png", image.parent / "fg.png"
    assert cli.main(["matte", "refine", str(image), str(mask), "-o", str(out), "--foreground", str(cut)]) == 0
    rgba = (
        cv2.cvtColor(cv2.imread(str(cut), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA).astype(np.float64)
        / 65535
    )
    np.testing.assert_allclose(rgba[..., 3], _read16(out))
    soft = (rgba[..., 3] > 0.1) & (rgba[..., 3] < 0.9)
    picture = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB) / 255.0
    assert np.abs(rgba[..., :3] - fg)[soft].mean() < np.abs(picture - fg)[soft].mean()


def test_zero_one_and_16_bit_masks_are_read_as_masks(
    files: tuple[Path, Path, np.ndarray, np.ndarray],
) -> None:
    image, mask, _, _ = files
    binary = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0
    variants = {"ones.png": binary.astype(np.uint8), "deep.png": binary.astype(np.uint16) * 65535}
    results = []
    for name, pixels in variants.items():
        out = image.parent / f"alpha-{name}"
        assert (
            cli.main(
                ["matte", "refine", str(image), str(_write(image.parent / name, pixels)), "-o", str(out)]
            )
            == 0
        )
        results.append(_read16(out))
    reference = image.parent / "alpha.png"
    assert cli.main(["matte", "refine", str(image), str(mask), "-o", str(reference)]) == 0
    for result in results:
        np.testing.assert_array_equal(result, _read16(reference))


def test_mask_of_another_size_is_refused_naming_both_files(
    files: tuple[Path, Path, np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    image, _, _, _ = files
    small = _write(image.parent / "small.png", np.zeros((10, 20), np.uint8))
    assert cli.main(["matte", "refine", str(image), str(small), "-o", str(image.parent / "a.png")]) == 1
    err = capsys.readouterr().err
    assert f"{small}: the mask is 20x10 but {image} is 240x180" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-o", "alpha.jpg"], "name a .png file"),
        (["-o", "missing/alpha.png"], "its folder does not exist"),
        (["-o", "a.png", "--band", "0"], "--band: expected a whole number of pixels from 1 to 64"),
        (["-o", "a.png", "--mode", "sharp"], "--mode: expected one of off, fast, quality, got 'sharp'"),
    ],
)
def test_bad_options_are_one_line_errors(
    files: tuple[Path, Path, np.ndarray, np.ndarray],
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image, mask, _, _ = files
    monkeypatch.chdir(image.parent)
    try:
        code = cli.main(["matte", "refine", str(image), str(mask), *extra])
    except SystemExit as stop:
        code = int(stop.code or 0)
    assert code in (1, 2)
    assert message in capsys.readouterr().err


def test_unreadable_picture_is_named(
    files: tuple[Path, Path, np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    image, mask, _, _ = files
    broken = image.parent / "broken.png"
    broken.write_bytes(b"not a png")
    assert cli.main(["matte", "refine", str(broken), str(mask), "-o", str(image.parent / "a.png")]) == 1
    assert f"{broken}: not an image" in capsys.readouterr().err
