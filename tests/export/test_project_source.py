"""Exporting a project: what the document held when export began, frames read where the shot says they are."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.errors import ProjectError
from roto.export import Content, ExportSpec, export
from roto.export.project_source import ProjectMatteSource
from roto.media import MediaSource, open_media
from roto.project import (
    AddObject,
    DeleteObject,
    MaskOrigin,
    Project,
    RotoObject,
    SetMask,
    Shot,
    UndoStack,
)
from tests.media.media_clips import frame_pattern, read_pattern, write_clip

WIDTH, HEIGHT, COUNT = 64, 48, 5


def write_sequence(folder: Path, first_number: int = 1001) -> Path:
    """PNG frames plate.1001.png.. whose pictures spell their media index (0, 1, 2...)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(COUNT):
        path = folder / f"plate.{first_number + index}.png"
        assert cv2.imwrite(str(path), frame_pattern(index, WIDTH, HEIGHT)[:, :, ::-1])
    return folder / f"plate.{first_number}.png"


def band(index: int) -> np.ndarray:
    """A different mask per frame: a horizontal band whose rows depend on `index`."""
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[4 * index : 4 * index + 8] = True
    return mask


def project_over(media: MediaSource, first_frame: int) -> tuple[Project, UndoStack]:
    shot = Shot.for_media(media)
    shot.first_frame = first_frame
    project = Project("demo", [shot])
    stack = UndoStack(project)
    stack.push(AddObject(shot.id, "a", (255, 0, 0)))
    stack.push(AddObject(shot.id, "b", (0, 255, 0)))
    return project, stack


def read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def test_first_frame_100_reads_media_index_frame_minus_100_and_names_files_by_media_number(
    tmp_path: Path,
) -> None:
    """Shot frame F is media index F - first_frame; files carry the media's own frame numbers (1001..)."""
    with open_media(write_sequence(tmp_path / "plate")) as media:
        project, stack = project_over(media, first_frame=100)
        shot = project.shots[0]
        assert shot.frames == range(100, 105)
        for frame in (100, 101, 102):  # shot frames, as the document keys them
            stack.push(SetMask(shot.id, 1, frame, np.ones((HEIGHT, WIDTH), bool), MaskOrigin.PROMPTED))
            stack.push(SetMask(shot.id, 2, frame, band(frame - 100)))
        source = ProjectMatteSource(project, shot, media)
        frames = range(shot.media_index(100), shot.media_index(102) + 1)
        spec = ExportSpec(tmp_path / "out", content=Content.STRAIGHT, frames=frames)
        result = export(source, spec)
    names = sorted(path.name for path in result.files)
    assert names == [f"demo_{obj}.{n}.png" for obj in ("a", "b") for n in (1001, 1002, 1003)]
    for index, number in enumerate((1001, 1002, 1003)):
        cutout = read_png(tmp_path / "out" / f"demo_a.{number}.png")  # BGRA, full matte: the picture
        assert read_pattern(cutout[:, :, 2::-1]) == index  # the pixels of media index `index`
        assert (cutout[:, :, 3] == 255).all()
        alpha = read_png(tmp_path / "out" / f"demo_b.{number}.png")[:, :, 3]
        np.testing.assert_array_equal(alpha == 255, band(index))  # the mask of shot frame 100 + index


def test_export_writes_the_document_as_it_was_when_the_source_was_built(tmp_path: Path) -> None:
    with open_media(write_sequence(tmp_path / "plate")) as media:
        project, stack = project_over(media, first_frame=0)
        shot = project.shots[0]
        for frame in range(COUNT):
            stack.push(SetMask(shot.id, 1, frame, band(frame)))
            stack.push(SetMask(shot.id, 2, frame, ~band(frame)))
        source = ProjectMatteSource(project, shot, media)
        # edits on the "GUI thread" after the export began: other masks, a deleted object, a renamed one
        for frame in range(COUNT):
            stack.push(SetMask(shot.id, 1, frame, np.zeros((HEIGHT, WIDTH), bool)))
        stack.push(DeleteObject(shot.id, 2))
        stack.push(AddObject(shot.id, "b", (1, 1, 1)))
        result = export(source, ExportSpec(tmp_path / "out"))
        assert source.object_names == ["a", "b"]
    assert len(result.files) == 2 * COUNT
    for frame, number in enumerate(range(1001, 1001 + COUNT)):
        a = read_png(tmp_path / "out" / f"demo_a.{number}.png")
        b = read_png(tmp_path / "out" / f"demo_b.{number}.png")
        np.testing.assert_array_equal(a == 255, band(frame))
        np.testing.assert_array_equal(b == 255, ~band(frame))


def test_a_project_with_two_objects_of_one_name_is_refused_not_half_exported(tmp_path: Path) -> None:
    with open_media(write_sequence(tmp_path / "plate")) as media:
        shot = Shot.for_media(media)
        shot.objects = [
            RotoObject(1, "same", (0, 0, 0)),
            RotoObject(2, "same", (0, 0, 0)),
        ]  # not via commands
        with pytest.raises(ProjectError, match=r"two objects called 'same' \(objects 1 and 2\)"):
            ProjectMatteSource(Project("p", [shot]), shot, media)


def test_media_that_no_longer_matches_the_shot_is_refused(tmp_path: Path) -> None:
    with open_media(write_sequence(tmp_path / "plate")) as media:
        shot = Shot.for_media(media)
        shot.frame_count += 1
        with pytest.raises(
            ProjectError, match=r"no longer matches the project \(64x48, 5 frames; .* 6 frames\)"
        ):
            ProjectMatteSource(Project("p", [shot]), shot, media)


def test_frame_numbers_and_times_come_from_the_media_once(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", "libx264", "yuv420p", size=(WIDTH, HEIGHT), frames=COUNT)
    with open_media(clip) as media:
        project, _ = project_over(media, first_frame=7)
        source = ProjectMatteSource(project, project.shots[0], media)
        assert [source.frame_number(i) for i in range(COUNT)] == [0, 1, 2, 3, 4]  # a video counts from 0
        assert source.frame_time(2) == pytest.approx(2 / 24)
        assert source.fps == Fraction(24)
        assert media.frame_numbers is media.frame_numbers and media.frame_times is media.frame_times
