"""The frozen sample of format version 2 (tests/project/data/v2_sample.roto, matte settings, no in/out range) must
keep loading. Never regenerate it: migrations must turn this very file into the current document."""

from pathlib import Path

from roto.matte import MatteOps
from roto.project import CURRENT_VERSION, load_project, save_project

SAMPLE = Path(__file__).parent / "data" / "v2_sample.roto"


def test_v2_sample_loads_its_matte_settings_and_the_whole_shot_as_range() -> None:
    assert CURRENT_VERSION == 3
    project = load_project(SAMPLE)
    shot = project.shot("shot1")
    person, ball = shot.objects
    assert person.matte == MatteOps(grow_px=2, feather_px=1.5, fill_holes=True, max_hole_area=40)
    assert ball.matte == MatteOps()
    assert shot.in_out is None
    assert sorted(person.masks) == [10, 11, 12]


def test_v2_sample_saved_again_is_the_same_document(tmp_path: Path) -> None:
    project = load_project(SAMPLE)
    save_project(project, tmp_path / "again.roto")
    assert load_project(tmp_path / "again.roto") == project
