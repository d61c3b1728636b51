"""The frozen sample of format version 1 (tests/project/data/v1_sample.roto) must keep loading, unchanged.

Never regenerate it: when the format changes, the migration registered in roto.project.store.MIGRATIONS
must turn this very file into the current document.
"""

from fractions import Fraction
from pathlib import Path

import numpy as np

from roto.project import Box, MaskOrigin, Point, load_project, save_project

SAMPLE = Path(__file__).parent / "data" / "v1_sample.roto"


def test_v1_sample_loads_with_all_its_content() -> None:
    project = load_project(SAMPLE)
    assert project.name == "v1 sample"
    shot = project.shot("shot1")
    assert (shot.first_frame, shot.frame_count, shot.fps) == (10, 6, Fraction(30000, 1001))
    assert (shot.width, shot.height) == (24, 18)
    person, ball = shot.objects
    assert (person.id, person.name, person.color, person.visible, person.locked) == (
        1,
        "person",
        (230, 25, 75),
        True,
        False,
    )
    assert (ball.name, ball.visible) == ("ball", False)
    assert person.prompts[10].points == [Point(8.5, 9.0, 1), Point(20.0, 2.0, 0)]
    assert ball.prompts[12].boxes == [Box(2.0, 3.0, 9.0, 11.0)]
    assert {f: e.origin for f, e in person.masks.items()} == {
        10: MaskOrigin.PROMPTED,
        11: MaskOrigin.PROPAGATED,
        12: MaskOrigin.PROPAGATED,
    }
    yy, xx = np.mgrid[:18, :24]
    for frame in (10, 11, 12):
        expected = (xx - 8 - frame + 10) ** 2 + (yy - 9) ** 2 <= 25
        np.testing.assert_array_equal(project.get_mask("shot1", 1, frame), expected)
    np.testing.assert_array_equal(
        project.get_mask("shot1", 2, 12), (xx >= 2) & (xx < 9) & (yy >= 3) & (yy < 11)
    )


def test_v1_sample_reports_its_missing_media() -> None:
    missing = load_project(SAMPLE).missing_media()
    assert [(m.shot_id, m.path) for m in missing] == [
        ("shot1", (SAMPLE.parent / "footage" / "clip.mp4").resolve())
    ]


def test_v1_sample_saved_again_is_the_same_document(tmp_path: Path) -> None:
    project = load_project(SAMPLE)
    save_project(project, tmp_path / "again.roto")
    assert load_project(tmp_path / "again.roto") == project
