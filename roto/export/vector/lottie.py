"""Lottie JSON (Bodymovin 5.x) for motion designers: a shape layer per object, a path per part, keyed on
every frame with hold keys so each frame shows exactly its fitted shape."""

from __future__ import annotations

import json
from typing import Any

from roto.export.vector.document import ShapeDocument, ShapeLayer, keyed_path, rounded
from roto.shapes import AnimatedPath, BezierPath

_STATIC_TRANSFORM = {
    "a": {"a": 0, "k": [0, 0]},
    "p": {"a": 0, "k": [0, 0]},
    "s": {"a": 0, "k": [100, 100]},
    "r": {"a": 0, "k": 0},
    "o": {"a": 0, "k": 100},
}


def _shape(path: BezierPath) -> dict[str, Any]:
    return {
        "c": True,
        "v": rounded(path.anchors),
        "i": rounded(path.in_handles - path.anchors),
        "o": rounded(path.out_handles - path.anchors),
    }


def _path_item(document: ShapeDocument, path: AnimatedPath, index: int) -> dict[str, Any]:
    keys = []
    for frame, number in zip(document.frames, document.numbers, strict=True):
        keys.append({"t": number, "s": [_shape(keyed_path(path, frame))], "h": 1})
    del keys[-1]["h"]
    kind = "hole" if path.is_hole else "part"
    return {"ty": "sh", "nm": f"{kind} {index}", "ks": {"a": 1, "k": keys}}


def _layer(document: ShapeDocument, layer: ShapeLayer, number: int, first: int, end: int) -> dict[str, Any]:
    r, g, b = (channel / 255 for channel in layer.colour)
    items: list[dict[str, Any]] = [_path_item(document, path, i) for i, path in enumerate(layer.paths, 1)]
    items.append(
        {"ty": "fl", "nm": "fill", "c": {"a": 0, "k": [r, g, b, 1]}, "o": {"a": 0, "k": 100}, "r": 2}
    )
    items.append({"ty": "tr", "nm": "transform", **_STATIC_TRANSFORM})
    return {
        "ddd": 0,
        "ind": number,
        "ty": 4,
        "nm": layer.name,
        "sr": 1,
        "ks": _STATIC_TRANSFORM,
        "ao": 0,
        "ip": first,
        "op": end,
        "st": 0,
        "bm": 0,
        "shapes": [{"ty": "gr", "nm": layer.name, "it": items}],
    }


def lottie(document: ShapeDocument) -> str:
    """The whole shot as one Lottie animation; frame numbers are the export's (``ip`` is the first)."""
    height, width = document.size
    first, end = document.numbers[0], document.numbers[-1] + 1
    layers = [
        _layer(document, layer, number, first, end)
        for number, layer in enumerate(document.layers, start=1)
        if layer.paths
    ]
    data = {
        "v": "5.7.0",
        "fr": float(document.fps),
        "ip": first,
        "op": end,
        "w": width,
        "h": height,
        "nm": document.shot,
        "ddd": 0,
        "assets": [],
        "layers": layers,
    }
    return json.dumps(data, separators=(",", ":"))
