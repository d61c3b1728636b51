"""A Nuke script snippet (.nk): one Roto node whose Bézier shapes are keyed on every exported frame.

The curves knob is written in the layout Nuke saves Roto shapes in (float values as IEEE hex words, y up,
tangents relative to their point, one value pair per key). Holes are separate shapes named ``... hole N``;
Nuke's Roto draws shapes over each other, so set a hole's blending mode to ``minus`` where it matters.
"""

from __future__ import annotations

import struct

import numpy as np

from roto.export.naming import sanitize
from roto.export.vector.document import ShapeDocument, keyed_path
from roto.shapes import AnimatedPath


def _f(value: float) -> str:
    """A float as Nuke writes it in curves knobs: ``0`` or ``x`` and the float32 bits in hex."""
    value = float(np.float32(value))
    if value == 0:
        return "0"
    return "x" + struct.pack(">f", value).hex()


def _curve(document: ShapeDocument, path: AnimatedPath, name: str) -> str:
    height, _ = document.size
    keys = [keyed_path(path, frame) for frame in document.frames]
    rows = []
    for point in range(path.count):
        # Per point: left tangent, point, right tangent; each holds one (x, y) per key. Nuke's y points up,
        # so the point's y is flipped about the frame and the relative tangents' y changes sign.
        left: list[str] = []
        centre: list[str] = []
        right: list[str] = []
        for key in keys:
            anchor = key.anchors[point]
            before, after = key.in_handles[point] - anchor, key.out_handles[point] - anchor
            left += [_f(before[0]), _f(-before[1])]
            centre += [_f(anchor[0]), _f(height - anchor[1])]
            right += [_f(after[0]), _f(-after[1])]
        rows += ["{" + " ".join(values) + "}" for values in (left, centre, right)]
    times = " ".join(_f(number) for number in document.numbers)
    first, last = _f(document.numbers[0]), _f(document.numbers[-1])
    points = "\n         ".join(rows)
    return (
        f"    {{curvegroup {name} 512 bezier\n"
        f"     {{{{cc\n"
        f"       {{f 8192}}\n"
        f"       {{px {times}\n"
        f"         {points}}}}}\n"
        f"      idem}}\n"
        f"     {{tx {_f(document.numbers[0])} 0 0}}\n"
        f"     {{a osw x41200000 osf 0 str 1 tt x40800000 ltn {first} ltm {last}}}}}\n"
    )


def nuke_script(document: ShapeDocument) -> str:
    """The Roto node as text to paste into Nuke's node graph (or File > Import Script)."""
    height, width = document.size
    curves = []
    for layer in document.layers:
        for number, path in enumerate(layer.paths, start=1):
            kind = "hole" if path.is_hole else "part"
            curves.append(_curve(document, path, sanitize(f"{layer.name}_{kind}{number}")))
    return (
        f"# Roto shapes of shot {sanitize(document.shot)}, frames {document.numbers[0]}-{document.numbers[-1]}\n"
        "Roto {\n"
        " inputs 0\n"
        " output alpha\n"
        " cliptype none\n"
        " curves {{{v x3f99999a}\n"
        "  {f 0}\n"
        "  {n\n"
        "   {layer Root\n"
        "    {f 512}\n"
        f"    {{t {_f(width / 2)} {_f(height / 2)}}}\n"
        "    {a}\n" + "".join(curves) + "}}}}\n"
        f' format "{width} {height} 0 0 {width} {height} 1 roto_{width}x{height}"\n'
        f" name Roto_{sanitize(document.shot).replace('.', '_').replace('-', '_')}\n"
        "}\n"
    )
