"""Read PyTorch checkpoints (`torch.save`'s zip format) with numpy alone, running none of the pickled code.

A `.pt` file is a zip: `*/data.pkl` pickles the structure and `*/data/<key>` holds each storage's raw bytes. A
plain `pickle.load` would call whatever the pickle names, so a checkpoint from the web could run code. The
unpickler here resolves only the few names a state dict needs (tensor and parameter rebuild records, storage
types, OrderedDict) to local, data-only stand-ins, and refuses every other name with an error naming the file.
Tensors come back as numpy arrays (bfloat16 through ml_dtypes), views on the memory-mapped file where the stored
layout allows, so a 900 MB checkpoint is not copied into RAM.
"""

from __future__ import annotations

import collections
import mmap
import pickle
import struct
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from roto.errors import ModelError

# torch's storage classes, as a pickle names them, and the element type they hold.
STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype(np.float32),
    "DoubleStorage": np.dtype(np.float64),
    "HalfStorage": np.dtype(np.float16),
    "BFloat16Storage": np.dtype(ml_dtypes.bfloat16),
    "LongStorage": np.dtype(np.int64),
    "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16),
    "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8),
    "BoolStorage": np.dtype(np.bool_),
}

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip member's local file header (30 bytes)


class _Refused(pickle.UnpicklingError):
    """The pickle asked for something a state dict never needs."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class _Storage:
    key: str
    data: np.ndarray  # 1-D, the whole storage


def _rebuild_tensor(
    storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any, metadata: Any = None
) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2 as data: a (strided) view of a storage, checked to stay inside it."""
    if not isinstance(storage, _Storage):
        raise _Refused("a tensor record without a storage")
    if not (
        isinstance(offset, int)
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride)
        and all(isinstance(n, int) and n >= 0 for n in (*size, *stride))
        and offset >= 0
    ):
        raise _Refused(f"a malformed tensor record (offset {offset!r}, size {size!r}, stride {stride!r})")
    data = storage.data
    if 0 in size:
        return np.zeros(size, dtype=data.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= data.size:
        raise _Refused(
            f"a tensor reaching past the end of storage {storage.key} ({last} >= {data.size} elements)"
        )
    item = data.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False
    )
    return view if view.flags.c_contiguous else np.ascontiguousarray(view)


def _rebuild_parameter(data: Any, requires_grad: Any, hooks: Any, *_: Any) -> np.ndarray:
    """torch._utils._rebuild_parameter as data: a parameter is its tensor."""
    if not isinstance(data, np.ndarray):
        raise _Refused("a parameter record without a tensor")
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(dtype) for name, dtype in STORAGE_DTYPES.items()},
}


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only the names in `_ALLOWED`; storages come from `load_storage`."""

    def __init__(self, file: Any, load_storage: Callable[[str, np.dtype[Any], int], _Storage]) -> None:
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise _Refused(f"it names {module}.{name}, which a checkpoint of tensors never needs")
        return allowed

    def persistent_load(self, pid: Any) -> _Storage:
        if not (
            isinstance(pid, tuple)
            and len(pid) == 5
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
            and isinstance(pid[2], str)
            and isinstance(pid[4], int)
        ):
            raise _Refused(f"an unexpected persistent record {pid!r:.80}")
        return self._load_storage(pid[2], pid[1].dtype, pid[4])


class _Archive:
    """The storages of one checkpoint zip, memory-mapped, each loaded once (tensors may share one)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, prefix: str, file_map: mmap.mmap) -> None:
        self.path, self.zf, self.prefix, self.map = path, zf, prefix, file_map
        order = zf.read(prefix + "byteorder").decode() if prefix + "byteorder" in zf.namelist() else "little"
        if order not in ("little", "big"):
            raise ModelError(f"{path}: unknown byte order {order!r} in the checkpoint")
        self.swap = order != sys.byteorder
        self.storages: dict[str, _Storage] = {}

    def storage(self, key: str, dtype: np.dtype[Any], count: int) -> _Storage:
        cached = self.storages.get(key)
        if cached is not None:
            if cached.data.dtype != dtype or cached.data.size < count:
                raise _Refused(f"storage {key} is read as two different types")
            return cached
        name = f"{self.prefix}data/{key}"
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise _Refused(f"storage {key} is missing from the archive ({name})") from None
        if info.file_size < count * dtype.itemsize:
            raise _Refused(f"storage {key} holds {info.file_size} bytes, {count} x {dtype} need more")
        if info.compress_type == zipfile.ZIP_STORED:
            start = self._data_offset(info)
            data = np.frombuffer(self.map, dtype=dtype, count=count, offset=start)
        else:  # torch never compresses, but a re-zipped checkpoint may be
            data = np.frombuffer(self.zf.read(name), dtype=dtype, count=count)
        if self.swap:
            data = data.byteswap()
        self.storages[key] = _Storage(key, data)
        return self.storages[key]

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        header = self.map[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise _Refused(f"a damaged zip entry {info.filename}")
        fields = _LOCAL_HEADER.unpack(header)
        start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        if start + info.file_size > len(self.map):
            raise _Refused(f"{info.filename} ends past the end of the file (truncated?)")
        return start


def read_checkpoint(path: Path) -> Any:
    """The object a checkpoint pickles (dicts, lists, numbers, strings, numpy arrays); ModelError if unsafe or bad."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file not found")
    try:
        with path.open("rb") as handle:
            file_map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        zf = zipfile.ZipFile(path)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(
            f"{path}: not a PyTorch checkpoint (expected torch.save's zip format; truncated or foreign file): {exc}"
        ) from exc
    with zf:
        pickles = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ModelError(f"{path}: not a PyTorch checkpoint (no single */data.pkl in the zip)")
        prefix = pickles[0][: -len("data.pkl")]
        try:
            archive = _Archive(path, zf, prefix, file_map)
            with zf.open(pickles[0]) as pkl:
                return _StateDictUnpickler(pkl, archive.storage).load()
        except _Refused as exc:
            raise ModelError(f"{path}: refused to load this checkpoint: {exc}") from exc
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ModelError(f"{path}: damaged checkpoint, cannot read its contents: {exc}") from exc


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A checkpoint's tensors by name: Meta's {"model": state_dict} layout or a bare state dict."""
    obj = read_checkpoint(path)
    if isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not obj:
        raise ModelError(f"{path}: the checkpoint holds no state dict (a mapping of names to tensors)")
    tensors: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise ModelError(f"{path}: entry {key!r} of the state dict is not a named tensor")
        tensors[key] = value
    return tensors
