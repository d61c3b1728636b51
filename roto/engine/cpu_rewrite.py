"""The rewrites Roto applies to a bundle's graphs when it opens them on a CPU, and which graph gets which.

Each rewrite computes the same function with less work on ONNX Runtime's CPU kernels (`conv_fold`: two pointwise
convs in a row become one; `channel_norm`: SAM2's hand-written LayerNorm2d becomes one LayerNormalization). The
bundles keep Meta's structure (graph templates and parity tests read it), so installed bundles gain without
reconversion; GPU sessions (and TensorRT's engine cache) load the files as they are. Memory attention has nothing
to rewrite and is the biggest graph after the encoder: it is never parsed here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roto.engine.channel_norm import fuse_channel_norms
from roto.engine.conv_fold import fold_pointwise_pairs

log = logging.getLogger(__name__)

Rewrite = Callable[[Any], int]  # rewrites an onnx.ModelProto in place, returns how many places it changed
REWRITES: dict[str, tuple[Rewrite, ...]] = {
    "image_encoder": (fold_pointwise_pairs,),
    "memory_encoder": (fuse_channel_norms,),
    "prompt_decoder": (fuse_channel_norms,),
}


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
