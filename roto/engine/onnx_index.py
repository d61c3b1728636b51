"""Lookups the CPU rewrites (`conv_fold`, `channel_norm`) both make over an ONNX graph before matching patterns."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def fixed_initializers(graph: Any) -> dict[str, Any]:
    """The graph's initializers by name, less those also listed as graph inputs: a caller may feed those at run
    time, so no rewrite may fold their values in."""
    fed = {value.name for value in graph.input}
    return {init.name: init for init in graph.initializer if init.name not in fed}


def readers_of(graph: Any) -> defaultdict[str, list[Any]]:
    """For each value name, the nodes of `graph` that read it (empty for a value nothing reads)."""
    readers: defaultdict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)
    return readers
