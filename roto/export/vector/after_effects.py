"""An After Effects ExtendScript (.jsx): a comp with a solid per object whose masks are keyed on every frame
(parts add, holes subtract); the comp's frame numbering starts at the export's first frame number."""

from __future__ import annotations

import json

from roto.export.vector.document import ShapeDocument, keyed_path, rounded

_SCRIPT = """// Roto shapes of shot %(shot)s, frames %(first)d-%(last)d.
// After Effects: File > Scripts > Run Script File... creates the comp, a solid per object and keyed masks.
(function () {
    var data = %(data)s;
    app.beginUndoGroup("Roto shapes");
    var comp = app.project.items.addComp(
        data.name, data.width, data.height, 1, data.frames.length / data.fps, data.fps);
    try {
        comp.displayStartFrame = data.frames[0];
    } catch (error) {
        // displayStartFrame arrived in After Effects CC 2017; older versions count from 0.
    }
    for (var l = 0; l < data.layers.length; l++) {
        var layerData = data.layers[l];
        var solid = comp.layers.addSolid(layerData.colour, layerData.name, data.width, data.height, 1);
        for (var p = 0; p < layerData.paths.length; p++) {
            var pathData = layerData.paths[p];
            var mask = solid.Masks.addProperty("ADBE Mask Atom");
            mask.name = pathData.name;
            mask.maskMode = pathData.hole ? MaskMode.SUBTRACT : MaskMode.ADD;
            var times = [];
            var shapes = [];
            for (var k = 0; k < pathData.keys.length; k++) {
                var shape = new Shape();
                shape.vertices = pathData.keys[k][0];
                shape.inTangents = pathData.keys[k][1];
                shape.outTangents = pathData.keys[k][2];
                shape.closed = true;
                times.push((data.frames[k] - data.frames[0]) / data.fps);
                shapes.push(shape);
            }
            mask.property("ADBE Mask Shape").setValuesAtTimes(times, shapes);
        }
    }
    app.endUndoGroup();
    comp.openInViewer();
})();
"""


def after_effects_script(document: ShapeDocument) -> str:
    """The script; mask vertices in layer pixels, tangents relative to their vertex, as AE's Shape wants."""
    height, width = document.size
    layers = []
    for layer in document.layers:
        ordered = sorted(
            layer.paths, key=lambda path: path.is_hole
        )  # masks apply in order: parts, then holes
        paths = []
        for number, path in enumerate(ordered, start=1):
            keys = []
            for frame in document.frames:
                bezier = keyed_path(path, frame)
                keys.append(
                    [
                        rounded(bezier.anchors),
                        rounded(bezier.in_handles - bezier.anchors),
                        rounded(bezier.out_handles - bezier.anchors),
                    ]
                )
            kind = "hole" if path.is_hole else "part"
            paths.append({"name": f"{layer.name} {kind} {number}", "hole": path.is_hole, "keys": keys})
        colour = [round(channel / 255, 4) for channel in layer.colour]
        layers.append({"name": layer.name, "colour": colour, "paths": paths})
    data = {
        "name": document.shot,
        "width": width,
        "height": height,
        "fps": float(document.fps),
        "frames": document.numbers,
        "layers": layers,
    }
    # JSON is valid ExtendScript (ES3) literal syntax; ExtendScript itself has no JSON.parse.
    return _SCRIPT % {
        "shot": json.dumps(document.shot),
        "first": document.numbers[0],
        "last": document.numbers[-1],
        "data": json.dumps(data, separators=(",", ":")),
    }
