"""The rewrites Roto applies to a bundle's graphs when it opens them on a CPU, and which graph gets which.

Each rewrite computes the same function with less work on ONNX Runtime's CPU kernels (`conv_fold`: two pointwise
convs in a row become one; `channel_norm`: SAM2's hand-written LayerNorm2d becomes one LayerNormalization). The
bundles keep Meta's structure (graph templates and parity tests read it), so installed bundles gain without
reconversion; GPU sessions (and TensorRT's engine cache) load the files as they are. Memory attention has nothing
to rewrite and is the biggest graph after the encoder: it is never parsed here.

A rewritten graph is kept in the user cache folder under its source file's SHA-256 (which `seal.check_integrity`
has just checked): rewriting parses and serialises the whole graph, about 0.26 s and a transient twice the file's
size for SAM2.1-tiny's encoder (roughly 1.6 GiB for SAM2.1-large's), paid once per file instead of at every open.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from roto.engine.channel_norm import fuse_channel_norms
from roto.engine.conv_fold import fold_pointwise_pairs
from roto.engine.embeddings import user_cache_root
from roto.files import replace_file

log = logging.getLogger(__name__)

Rewrite = Callable[[Any], int]  # rewrites an onnx.ModelProto in place, returns how many places it changed
REWRITES: dict[str, tuple[Rewrite, ...]] = {
    "image_encoder": (fold_pointwise_pairs,),
    "memory_encoder": (fuse_channel_norms,),
    "prompt_decoder": (fuse_channel_norms,),
}
# Part of every cached graph's name: raise it whenever a rewrite would write a different graph, so that graphs
# rewritten by an older Roto are not loaded.
REWRITES_VERSION = 1
CACHE_FOLDER = "cpu-graphs"
_SHA256 = re.compile("[0-9a-f]{64}")


def rewritten_graph(path: Path, graph: str) -> bytes | None:
    """The bundle graph `graph` at `path` with its CPU rewrites applied, serialised; None when it has none, when
    nothing matched, or when the file cannot be rewritten (ONNX Runtime then loads the file as it is)."""
    rewrites = REWRITES.get(graph, ())
    if not rewrites:
        return None
    import onnx

    try:
        model = onnx.load(str(path))
        counts = {rewrite.__name__: rewrite(model) for rewrite in rewrites}
        if not any(counts.values()):
            return None
        log.info("%s rewritten for the CPU: %s", path.name, counts)
        return bytes(model.SerializeToString())
    except Exception as exc:  # never worse than the file as it is: ONNX Runtime reports real problems itself
        log.warning("%s: loaded without the CPU rewrites: %s", path.name, exc)
        return None


def _cache_stem(sha256: str, graph: str) -> str:
    return f"{sha256}-{graph}-v{REWRITES_VERSION}"


def cpu_graph(path: Path, graph: str, sha256: str) -> Path | bytes | None:
    """What a CPU session of bundle graph `graph` loads: its rewritten form as a file in the user cache (made on
    first use), the rewritten bytes when that folder cannot be written, or None for the file as it is.

    `sha256` is the file's checked SHA-256 from the bundle manifest: it names the cached graph, so a changed or
    reinstalled file is rewritten afresh. A graph with nothing to rewrite leaves an empty marker instead, so it is
    not parsed again either."""
    if not REWRITES.get(graph):
        return None
    if not _SHA256.fullmatch(sha256):  # names a file in the cache: nothing but a digest may
        return rewritten_graph(path, graph)
    folder = user_cache_root() / CACHE_FOLDER
    cached = folder / f"{_cache_stem(sha256, graph)}.onnx"
    unchanged = folder / f"{_cache_stem(sha256, graph)}.unchanged"
    if cached.is_file():
        return cached
    if unchanged.is_file():
        return None
    data = rewritten_graph(path, graph)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if data is None:
            unchanged.touch()
            return None
        replace_file(cached, data)
    except OSError as exc:  # no writable cache: rewrite at every open, as before
        log.info("%s: rewritten graph not cached (%s)", path.name, exc)
        return data
    return cached


def forget_cpu_graphs(sha256s: Iterable[str]) -> None:
    """Delete the cached rewritten graphs of these source files (a removed bundle's); best effort."""
    folder = user_cache_root() / CACHE_FOLDER
    for sha256 in filter(_SHA256.fullmatch, sha256s):
        for entry in folder.glob(f"{sha256}-*"):
            with contextlib.suppress(OSError):
                entry.unlink()
