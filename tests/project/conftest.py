"""Small projects built through the public API, so every test starts from a document a user could make."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from roto.project import AddObject, Project, SetMask, Shot, UndoStack
from tests.project.project_helpers import FRAMES, HEIGHT, WIDTH, disc


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "footage" / "clip.mp4"
    path.parent.mkdir()
    path.write_bytes(b"not decoded by these tests")
    return path


@pytest.fixture
def project(media: Path) -> Project:
    shot = Shot(
        "shot1", media, first_frame=0, frame_count=FRAMES, fps=Fraction(24), width=WIDTH, height=HEIGHT
    )
    return Project("demo", [shot])


@pytest.fixture
def stack(project: Project) -> UndoStack:
    """A stack over a project with two objects, one of which has masks on frames 0-2."""
    stack = UndoStack(project)
    stack.push(AddObject("shot1", "person", (255, 0, 0)))
    stack.push(AddObject("shot1", "ball", (0, 0, 255)))
    for frame in range(3):
        stack.push(SetMask("shot1", 1, frame, disc(10 + frame, 12, 6)))
    stack.set_clean()
    return stack
