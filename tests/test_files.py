"""roto.files.replace_file: a file Roto rewrites for itself is replaced whole, and a failed write leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from roto.files import replace_file


def test_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "seal.json"
    path.write_bytes(b"old contents, longer than the new")
    replace_file(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["seal.json"]


def test_a_failed_write_raises_and_leaves_no_temporary(tmp_path: Path) -> None:
    taken = tmp_path / "record.json"
    taken.mkdir()  # a folder in the way: the rename fails
    with pytest.raises(OSError):
        replace_file(taken, b"data")
    assert taken.is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
