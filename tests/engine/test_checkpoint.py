"""The torch-free checkpoint reader: real torch.save files in, the same numbers out, and no pickled code run."""

from __future__ import annotations

import collections
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from roto.engine.checkpoint import read_checkpoint, read_state_dict
from roto.errors import ModelError

torch = pytest.importorskip("torch")


def _save(path: Path, obj: object) -> Path:
    torch.save(obj, path)
    return path


def test_tensors_of_every_layout_read_as_torch_wrote_them(tmp_path: Path) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    state = collections.OrderedDict(
        plain=base,
        column=base[:, 2],  # strided, offset into a shared storage
        transposed=base.t(),  # non-contiguous strides
        tail=base.flatten()[5:17].reshape(3, 4),  # offset, contiguous
        half=torch.randn(3, 5).half(),
        bf16=torch.randn(2, 7).bfloat16(),
        long=torch.tensor([[1, -2], [3, 1 << 40]]),
        flags=torch.tensor([True, False, True]),
        scalar=torch.tensor(2.5, dtype=torch.float64),
        empty=torch.zeros(0, 3),
        param=torch.nn.Parameter(torch.randn(4)),
    )
    path = _save(tmp_path / "layouts.pt", {"model": state, "epoch": 3})
    loaded = read_state_dict(path)
    assert list(loaded) == list(state)
    for name, tensor in state.items():
        expected = tensor.detach()
        if expected.dtype == torch.bfloat16:
            assert str(loaded[name].dtype) == "bfloat16"
            np.testing.assert_array_equal(loaded[name].astype(np.float32), expected.float().numpy())
        else:
            assert loaded[name].dtype == expected.numpy().dtype, name
            np.testing.assert_array_equal(loaded[name], expected.numpy())
        assert loaded[name].shape == tuple(expected.shape), name
    assert read_checkpoint(path)["epoch"] == 3


def test_a_bare_state_dict_reads_too(tmp_path: Path) -> None:
    path = _save(tmp_path / "bare.pt", {"w": torch.ones(2, 2)})
    np.testing.assert_array_equal(read_state_dict(path)["w"], np.ones((2, 2), np.float32))


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))

    def __init__(self, marker: Path) -> None:
        self.marker = marker


class _CallsEval:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (eval, ("print('pwned')",))


@pytest.mark.parametrize("payload", ["system", "eval"])
def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "ran"
    evil = _RunsCode(marker) if payload == "system" else _CallsEval()
    path = _save(tmp_path / "evil.pt", {"model": {"w": torch.ones(1), "x": evil}})
    with pytest.raises(
        ModelError, match=r"evil\.pt: refused to load this checkpoint: it names .*(system|eval)"
    ):
        read_checkpoint(path)
    assert not marker.exists()


def test_any_other_object_is_refused(tmp_path: Path) -> None:
    path = _save(tmp_path / "module.pt", {"model": torch.nn.Linear(2, 2)})
    with pytest.raises(ModelError, match=r"module\.pt: refused .* it names torch\.nn"):
        read_checkpoint(path)


def test_truncated_and_foreign_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    good = _save(tmp_path / "good.pt", {"model": {"w": torch.randn(64, 64)}})
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"truncated\.pt: not a PyTorch checkpoint"):
        read_checkpoint(truncated)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ModelError, match=r"notes\.pt: not a PyTorch checkpoint"):
        read_checkpoint(text)
    other_zip = tmp_path / "other.pt"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "not a checkpoint")
    with pytest.raises(ModelError, match=r"other\.pt: not a PyTorch checkpoint \(no single \*/data\.pkl"):
        read_checkpoint(other_zip)
    with pytest.raises(ModelError, match=r"missing\.pt: checkpoint file not found"):
        read_checkpoint(tmp_path / "missing.pt")


def test_a_storage_shorter_than_its_tensor_is_refused(tmp_path: Path) -> None:
    good = _save(tmp_path / "good.pt", {"model": {"w": torch.randn(16)}})
    short = tmp_path / "short.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(short, "w") as dst:
        for info in src.infolist():
            payload = src.read(info)
            dst.writestr(info, payload[:8] if info.filename.endswith("data/0") else payload)
    with pytest.raises(ModelError, match=r"short\.pt: refused .* storage 0 holds 8 bytes"):
        read_state_dict(short)
