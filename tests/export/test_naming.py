from pathlib import Path

import pytest

from roto.errors import ExportError
from roto.export import NamePattern, sanitize


def test_render_pads_frame_and_fills_names(tmp_path: Path) -> None:
    pattern = NamePattern("{shot}_{object}.{frame:04d}.png")
    assert pattern.render(tmp_path, "shot", "obj", 1001) == tmp_path / "shot_obj.1001.png"
    assert pattern.render(tmp_path, "shot", "obj", 7).name == "shot_obj.0007.png"


def test_subfolders_in_pattern_are_allowed(tmp_path: Path) -> None:
    path = NamePattern("{object}/{shot}.{frame:03d}.exr").render(tmp_path, "s", "hero", 5)
    assert path == tmp_path / "hero" / "s.005.exr"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b\\c", "a_b_c"),
        ("..", "_"),
        ("Hero 2", "Hero_2"),
        (".hidden", "hidden"),
    ],
)
def test_sanitize_leaves_one_safe_component(raw: str, safe: str) -> None:
    assert sanitize(raw) == safe


def test_hostile_object_name_stays_inside_output_folder(tmp_path: Path) -> None:
    path = NamePattern("{object}/{shot}.png").render(tmp_path, "s", "../../../tmp/evil", None)
    assert path.resolve().is_relative_to(tmp_path.resolve())
    assert path.parent.parent == tmp_path


@pytest.mark.parametrize(
    "pattern",
    [
        "/abs/{frame}.png",
        "../{frame}.png",
        "a/../../{frame}.png",
        "C:\\x\\{frame}.png",
        "{frame.real}.png",
        "{frame!r}.png",
        "{user}.png",
        "{0}.png",
        "{frame",
        "{frame:04q}.png",
    ],
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ExportError, match="pattern"):
        NamePattern(pattern)
