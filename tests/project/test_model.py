"""Rules of the document the editor, the CLI and export share: frame numbering and media that matches."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from roto.errors import ProjectError
from roto.project import Shot, check_media_match


def shot(first_frame: int = 100, frame_count: int = 5) -> Shot:
    return Shot("s", Path("/clip.mp4"), first_frame, frame_count, Fraction(24), width=32, height=24)


def test_shot_frames_and_media_indices_differ_by_first_frame() -> None:
    s = shot(first_frame=100)
    assert s.frames == range(100, 105)
    assert [s.media_index(f) for f in s.frames] == [0, 1, 2, 3, 4]
    assert [s.shot_frame(i) for i in range(5)] == list(s.frames)
    with pytest.raises(ProjectError, match=r"frame 99 is outside shot 's' \(frames 100-104\)"):
        s.media_index(99)
    with pytest.raises(ProjectError, match=r"media index 5 is outside shot 's' \(indices 0-4\)"):
        s.shot_frame(5)
    negative = shot(first_frame=-3)
    assert negative.media_index(-3) == 0 and negative.shot_frame(4) == 1


class FakeMedia:
    """Just what check_media_match reads from a MediaSource."""

    def __init__(self, size: tuple[int, int], frame_count: int) -> None:
        self.size, self.frame_count = size, frame_count


def test_media_must_match_the_shot_in_size_and_frame_count() -> None:
    s = shot(frame_count=5)
    check_media_match(s, FakeMedia((32, 24), 5))  # type: ignore[arg-type]
    for size, count in (((32, 25), 5), ((24, 32), 5), ((32, 24), 6)):
        with pytest.raises(ProjectError) as caught:
            check_media_match(s, FakeMedia(size, count))  # type: ignore[arg-type]
        assert str(caught.value) == (
            f"/clip.mp4: the media no longer matches the project ({size[0]}x{size[1]}, {count} frames; "
            "the project expects 32x24, 5 frames)"
        )


def test_a_snapshot_does_not_follow_later_edits() -> None:
    from roto.project import AddObject, MaskOrigin, Project, SetMask, UndoStack

    project = Project("p", [shot()])
    stack = UndoStack(project)
    stack.push(AddObject("s", "a", (1, 2, 3)))
    stack.push(SetMask("s", 1, 100, np.ones((24, 32), bool), MaskOrigin.PROMPTED))
    frozen = project.shot("s").snapshot()
    stack.push(SetMask("s", 1, 101, np.ones((24, 32), bool)))
    stack.push(AddObject("s", "b", (1, 2, 3)))
    assert [o.name for o in frozen.objects] == ["a"]
    assert list(frozen.objects[0].masks) == [100]
    with pytest.raises(TypeError):
        frozen.objects[0].masks[102] = "x"  # type: ignore[index]
