"""A bundle's files checked against its manifest before its graphs run, cheaply: once per change, then sealed.

`roto models verify` hashes every file, which takes seconds for the large models; running that on every
`segment` would make each call slow, and not running it let a graph with one flipped byte run. So the first
load after a file changed hashes it (and checks where its graph keeps its weights), and records the file's
size, mtime, ctime and inode in a seal in the user cache folder; later loads compare those with a ``stat()``.
Rewriting a file changes its ctime, which no user can set back, so a sealed file cannot be swapped unseen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from roto.engine.bundle import (
    GRAPH_NAMES,
    Bundle,
    file_place_problem,
    graph_problems,
    memory_tokens,
    sha256_file,
)
from roto.engine.embeddings import user_cache_root
from roto.errors import ModelError
from roto.files import read_regular, replace_file

MAX_SEAL_BYTES = 1 << 20


def check_integrity(bundle: Bundle) -> None:
    """Raise ModelError naming the first file of ``bundle`` that no longer matches its manifest."""
    folder = bundle.path
    graphs = {bundle.manifest["graphs"][graph]["file"]: graph for graph in GRAPH_NAMES}
    seal_path = _seal_path(folder)
    sealed = _read_seal(seal_path)
    stamps: dict[str, list[Any]] = {}
    for name, entry in bundle.manifest["files"].items():
        path = folder / name
        problem = file_place_problem(folder, name)
        if problem is not None:
            raise ModelError(f"{problem} (run `roto models verify {folder}`)")
        info = path.stat()
        if "size" in entry and info.st_size != entry["size"]:
            raise ModelError(
                f"{path}: {info.st_size} bytes, the manifest says {entry['size']} (truncated or replaced): "
                "reinstall the model"
            )
        stamp = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, entry["sha256"]]
        if sealed.get(name) != stamp:
            if sha256_file(path) != entry["sha256"]:
                raise ModelError(
                    f"{path}: SHA-256 does not match the manifest (damaged or swapped file): reinstall the model"
                )
            if name in graphs:
                problems = graph_problems(
                    path,
                    graphs[name],
                    bundle.manifest["graphs"][graphs[name]],
                    bundle.settings,
                    family=bundle.family,
                    tokens=memory_tokens(bundle.manifest),
                )
                if problems:
                    raise ModelError(problems[0])
        stamps[name] = stamp
    if stamps != sealed:
        _write_seal(seal_path, stamps)


def _seal_path(folder: Path) -> Path:
    key = hashlib.sha256(os.path.realpath(folder).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return user_cache_root() / "bundle-seals" / f"{key}.json"


def _read_seal(path: Path) -> dict[str, Any]:
    """The stamps recorded at the last check; empty when there is none or it is unreadable (hash again)."""
    try:
        data = json.loads(read_regular(path, MAX_SEAL_BYTES, ModelError))
    except (OSError, ValueError, RecursionError, ModelError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_seal(path: Path, stamps: dict[str, list[Any]]) -> None:
    """Best effort: without a writable cache folder every load hashes again, which is slow but safe."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps(stamps).encode("utf-8"))
