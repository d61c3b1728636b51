"""Image sequences: found from a file or a folder, gaps, frame numbers, every pixel layout to RGB uint8."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

from roto.errors import MediaError
from roto.media import open_media
from roto.media.sequence import ImageSequenceSource
from tests.media.media_clips import SHARED_MEDIA, frame_pattern, read_pattern


def write_sequence(
    folder: Path, name: str, numbers: list[int], size: tuple[int, int] = (64, 32)
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in numbers:
        path = folder / name.replace("####", f"{number:04d}")
        assert cv2.imwrite(str(path), frame_pattern(number, *size)[:, :, ::-1])
        paths.append(path)
    return paths


def test_sequence_found_from_one_file_keeps_file_numbers(tmp_path: Path) -> None:
    paths = write_sequence(tmp_path, "shot.####.png", list(range(1001, 1011)))
    write_sequence(tmp_path, "other.####.png", [1, 2])
    with open_media(paths[4], sequence_fps=25) as source:
        assert isinstance(source, ImageSequenceSource)
        assert source.pattern == "shot.####.png"
        assert source.frame_count == 10
        assert source.frame_numbers == tuple(range(1001, 1011))
        assert source.missing_numbers == ()
        assert source.size == (64, 32)
        assert source.fps == 25
        assert source.duration == pytest.approx(10 / 25)
        for index in (9, 0, 5):
            assert read_pattern(source.read(index)) == (1001 + index) % 256


def test_gaps_are_skipped_and_reported(tmp_path: Path) -> None:
    write_sequence(tmp_path, "shot.####.jpg", [1, 2, 3, 6, 7, 10])
    with open_media(tmp_path / "shot.0001.jpg") as source:
        assert isinstance(source, ImageSequenceSource)
        assert source.frame_count == 6
        assert source.frame_numbers == (1, 2, 3, 6, 7, 10)
        assert source.missing_numbers == (4, 5, 8, 9)
        np.testing.assert_allclose(source.frame_times, np.array([0, 1, 2, 5, 6, 9]) / 24)
        assert read_pattern(source.read(3)) == 6
        assert read_pattern(source.read(5)) == 10


def test_folder_opens_its_longest_sequence(tmp_path: Path) -> None:
    write_sequence(tmp_path, "plate_v2.####.tif", list(range(5)))
    write_sequence(tmp_path, "ref.####.png", [1, 2])
    (tmp_path / "notes.txt").write_text("not an image")
    with open_media(tmp_path) as source:
        assert isinstance(source, ImageSequenceSource)
        assert source.pattern == "plate_v2.####.tif"
        assert source.frame_count == 5
        assert read_pattern(source.read(4)) == 4


def test_padding_outgrown_stays_one_sequence(tmp_path: Path) -> None:
    for number in (998, 999, 1000, 1001):
        cv2.imwrite(str(tmp_path / f"s.{number:04d}.png"), frame_pattern(number, 64, 32))
    for start in ("s.0998.png", "s.1001.png"):
        with open_media(tmp_path / start) as source:
            assert source.frame_numbers == (998, 999, 1000, 1001)
            assert read_pattern(source.read(2)) == 1000 % 256


def test_pixel_layouts_become_rgb_uint8(tmp_path: Path) -> None:
    grey16 = np.full((8, 6), 65535, np.uint16)
    grey16[:, :3] = 257 * 100
    cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    bgra = np.zeros((8, 6, 4), np.uint8)
    bgra[..., 0], bgra[..., 2], bgra[..., 3] = 200, 10, 0  # blue, fully transparent
    cv2.imwrite(str(tmp_path / "alpha.png"), bgra)

    with open_media(tmp_path / "grey16.png") as grey:
        frame = grey.read(0)
        assert frame.shape == (8, 6, 3) and frame.dtype == np.uint8
        assert (frame[:, :3] == 100).all() and (frame[:, 3:] == 255).all()
    with open_media(tmp_path / "alpha.png") as alpha:
        assert alpha.read(0)[0, 0].tolist() == [10, 0, 200]


def test_exr_linear_values_are_srgb_encoded(tmp_path: Path) -> None:
    linear = np.zeros((4, 6, 3), np.float32)
    linear[:, :, 0] = 0.18  # mid grey -> sRGB 118
    linear[:, :, 1] = 4.0  # over-range clips to white
    linear[:, :, 2] = -1.0  # negative clips to black
    for number in (1, 2):
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        OpenEXR.File(header, {"RGB": linear}).write(str(tmp_path / f"beauty.{number:04d}.exr"))
    with open_media(tmp_path / "beauty.0002.exr") as source:
        assert source.frame_count == 2
        assert source.read(1)[0, 0].tolist() == [118, 255, 0]


def test_unnumbered_still_is_one_frame(tmp_path: Path) -> None:
    truck = SHARED_MEDIA / "truck.jpg"
    if not truck.is_file():
        pytest.skip(f"shared sample image {truck} is absent")
    with open_media(truck) as source:
        assert source.frame_count == 1
        assert source.read(0).shape == (source.size[1], source.size[0], 3)
        assert source.thumbnail(0, 100).shape[1] == 100


def test_mismatched_frame_size_is_reported(tmp_path: Path) -> None:
    write_sequence(tmp_path, "shot.####.png", [1, 2])
    write_sequence(tmp_path, "shot.####.png", [3], size=(32, 32))
    with (
        open_media(tmp_path / "shot.0001.png") as source,
        pytest.raises(MediaError, match=r"shot\.0003\.png.*same size"),
    ):
        source.read(2)


def test_damaged_image_and_empty_folder_raise(tmp_path: Path) -> None:
    paths = write_sequence(tmp_path / "seq", "shot.####.png", [1, 2])
    paths[1].write_bytes(paths[1].read_bytes()[:40])
    with open_media(paths[0]) as source, pytest.raises(MediaError, match=r"shot\.0002\.png.*not an image"):
        source.read(1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match="no numbered image sequence"):
        open_media(tmp_path / "empty")


def test_frame_numbers_and_times_are_built_once_and_read_only(tmp_path: Path) -> None:
    """Export asks for them once per frame: they must not rebuild the whole clip's sequence each time."""
    paths = write_sequence(tmp_path, "shot.####.png", [1, 2, 4])
    with open_media(paths[0], sequence_fps=24) as source:
        assert source.frame_numbers is source.frame_numbers
        assert source.frame_times is source.frame_times
        with pytest.raises(ValueError, match="read-only"):
            source.frame_times[0] = 5.0
