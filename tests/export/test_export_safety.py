"""No overwriting, cancel, failure clean-up, progress and request validation."""

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from roto.errors import ExportError
from roto.export import ExportSpec, InMemorySource, export

Listing = Callable[[Path], list[str]]


def test_existing_file_blocks_export_before_anything_is_written(
    shot: InMemorySource, out_dir: Path, listing: Listing
) -> None:
    out_dir.mkdir()
    (out_dir / "sh010_disc.1003.png").write_bytes(b"precious")
    with pytest.raises(ExportError, match=r"sh010_disc\.1003\.png already exists"):
        export(shot, ExportSpec(out_dir))
    assert listing(out_dir) == ["sh010_disc.1003.png"]
    assert (out_dir / "sh010_disc.1003.png").read_bytes() == b"precious"


def test_overwrite_replaces_when_asked(shot: InMemorySource, out_dir: Path) -> None:
    out_dir.mkdir()
    (out_dir / "sh010_box.mov").write_bytes(b"old")
    export(shot, ExportSpec(out_dir, "prores", objects=["box"], overwrite=True))
    assert (out_dir / "sh010_box.mov").read_bytes()[4:8] in (b"ftyp", b"wide", b"free", b"mdat")


@pytest.mark.parametrize("fmt", ["png", "ffv1", "coco"])
def test_cancel_leaves_no_files(shot: InMemorySource, tmp_path: Path, listing: Listing, fmt: str) -> None:
    out_dir = tmp_path / "deep" / "out"
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            cancel.set()

    result = export(shot, ExportSpec(out_dir, fmt), progress=progress, cancel=cancel)
    assert result.cancelled and result.files == [] and result.frames_written == 2
    assert seen == [(1, 5), (2, 5)]
    assert listing(tmp_path) == []
    assert not (tmp_path / "deep").exists()  # folders the export created are removed again


def test_cancel_keeps_files_it_would_have_overwritten(shot: InMemorySource, out_dir: Path) -> None:
    out_dir.mkdir()
    (out_dir / "sh010_box.1001.png").write_bytes(b"old")
    result = export(shot, ExportSpec(out_dir, overwrite=True), cancel=lambda: True)
    assert result.cancelled and result.frames_written == 0
    assert (out_dir / "sh010_box.1001.png").read_bytes() == b"old"


def test_failure_midway_leaves_no_files(shot: InMemorySource, out_dir: Path, listing: Listing) -> None:
    masks = list(shot.object_masks["box"])
    masks[3] = np.zeros((5, 5), bool)  # wrong size on frame 3
    broken = InMemorySource("sh010", shot.frame_size, {"box": masks}, shot.fps)
    with pytest.raises(ExportError, match=r"object 'box', frame 3"):
        export(broken, ExportSpec(out_dir, "prores"))
    assert listing(out_dir) == []


def test_progress_reports_every_frame(shot: InMemorySource, out_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    export(shot, ExportSpec(out_dir, frames=range(1, 4)), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"format": "gif"}, "Unknown export format"),
        ({"format": "exr", "content": "rgba-straight"}, "mattes only"),
        ({"format": "prores", "layout": "labels"}, "Label maps"),
        ({"objects": ["nobody"]}, "no object named 'nobody'"),
        ({"objects": []}, "at least one object"),
        ({"frames": range(3, 9)}, "outside the shot"),
        ({"frames": range(0)}, "empty"),
        ({"bit_depth": 12}, "8 or 16"),
        ({"pattern": "{shot}_{object}.png"}, "needs a {frame} field"),
        ({"format": "prores", "pattern": "{object}.{frame}.mov"}, "cannot use {frame}"),
        ({"pattern": "{object}.{frame}.tif"}, "must end in .png"),
        ({"pattern": "{shot}.{frame}.png"}, "Two outputs"),
    ],
)
def test_invalid_requests_fail_before_writing(
    shot: InMemorySource, out_dir: Path, listing: Listing, spec: dict, message: str
) -> None:
    with pytest.raises(ExportError, match=message.replace("{", r"\{").replace("(", r"\(")):
        export(shot, ExportSpec(out_dir, **spec))
    assert listing(out_dir) == []


def test_cutout_needs_source_pictures(out_dir: Path) -> None:
    source = InMemorySource("s", (4, 4), {"o": [np.ones((4, 4), bool)]})
    with pytest.raises(ExportError, match="no source pictures"):
        export(source, ExportSpec(out_dir, content="rgba-premultiplied"))


def test_inconsistent_source_is_refused() -> None:
    with pytest.raises(ExportError, match="frame counts disagree"):
        InMemorySource("s", (4, 4), {"a": [None, None], "b": [None]})
