"""SVG: one file per frame, and one animated SVG whose paths change every frame (SMIL, discrete)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from roto.export.vector.document import ShapeDocument, ShapeLayer, svg_path_data


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _header(document: ShapeDocument) -> str:
    height, width = document.size
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n'
    )


def _frame_data(layer: ShapeLayer, frame: int) -> str:
    return svg_path_data([path.keys[frame] for path in layer.paths if frame in path.keys])


def svg_frame(document: ShapeDocument, frame: int) -> str:
    """One frame: a path per object (its parts and holes, even-odd filled in the object's colour)."""
    body = []
    for layer in document.layers:
        data = _frame_data(layer, frame)
        if data:
            body.append(
                f"  <path id={quoteattr(layer.name)} fill={quoteattr(_hex(layer.colour))} "
                f'fill-rule="evenodd" d="{data}"/>\n'
            )
    return _header(document) + "".join(body) + "</svg>\n"


def svg_animated(document: ShapeDocument) -> str:
    """All frames in one file: each object's path data is animated frame by frame (``calcMode="discrete"``),
    looping at the shot's frame rate; frames where the object has no shape draw nothing."""
    count = len(document.frames)
    duration = float(count / document.fps)
    key_times = ";".join(f"{i / count:.6f}" for i in range(count))
    body = []
    for layer in document.layers:
        values = [_frame_data(layer, frame) or "M0 0Z" for frame in document.frames]
        body.append(
            f"  <path id={quoteattr(layer.name)} fill={quoteattr(_hex(layer.colour))} "
            f'fill-rule="evenodd" d="{values[0]}">\n'
            f'    <animate attributeName="d" calcMode="discrete" dur="{duration:.6f}s" '
            f'repeatCount="indefinite" keyTimes="{key_times}" values="{";".join(values)}"/>\n'
            "  </path>\n"
        )
    return _header(document) + "".join(body) + "</svg>\n"
