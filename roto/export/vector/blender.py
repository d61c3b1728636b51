"""A Blender Python script that builds a Mask datablock: a mask layer per object, a cyclic spline per part
(holes filled out by the layer's even-odd fill), one shape key per exported frame.

Blender keys mask splines only through its shape-key operator, which needs an editor: the script borrows the
first area of the open window as a mask editor while it inserts keys, so it runs from the Text Editor or as
``blender --python FILE`` (not ``blender -b``, which has no window).
"""

from __future__ import annotations

import json

import numpy as np

from roto.export.naming import sanitize
from roto.export.vector.document import ShapeDocument, keyed_path

_SCRIPT = '''"""Roto shapes of shot {shot}: builds a Mask of that name with keyed splines (frames {first}-{last}).

Run it in Blender's Text Editor (Run Script) or with `blender --python THIS_FILE`.
"""
import json

import bpy

DATA = json.loads({data!r})


def build():
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = DATA["width"], DATA["height"]
    scene.render.resolution_percentage = 100
    scene.render.fps, scene.render.fps_base = DATA["fps"]
    scene.frame_start, scene.frame_end = DATA["frames"][0], DATA["frames"][-1]
    mask = bpy.data.masks.new(DATA["name"])
    mask.frame_start, mask.frame_end = scene.frame_start, scene.frame_end
    splines = []
    for layer_data in DATA["layers"]:
        layer = mask.layers.new(name=layer_data["name"])
        layer.use_fill_holes = True  # even-odd: a hole inside a part stays empty
        for count in layer_data["counts"]:
            spline = layer.splines.new()
            spline.use_cyclic = True
            spline.points.add(count - 1)
            for point in spline.points:
                point.handle_type = "FREE"
                point.select = True
            splines.append(spline)
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    previous_type = area.type
    area.type = "IMAGE_EDITOR"
    space = area.spaces.active
    previous_mode = space.mode
    space.mode, space.mask = "MASK", mask
    region = next(r for r in area.regions if r.type == "WINDOW")
    try:
        with bpy.context.temp_override(window=window, area=area, region=region):
            for index, frame in enumerate(DATA["frames"]):
                scene.frame_set(frame)
                for spline, points in zip(splines, DATA["keys"][index]):
                    for point, (co, left, right) in zip(spline.points, points):
                        point.co, point.handle_left, point.handle_right = co, left, right
                bpy.ops.mask.shape_key_insert()
    finally:
        space.mode = previous_mode
        area.type = previous_type
    scene.frame_set(DATA["frames"][0])
    return mask


build()
'''


def blender_script(document: ShapeDocument) -> str:
    """The script; coordinates are Blender's mask space (x over the width, y up, scaled by the width about
    the frame's centre, so a non-square frame keeps its aspect)."""
    height, width = document.size

    def to_mask(points: np.ndarray) -> list[list[float]]:
        x = points[:, 0] / width
        y = 0.5 + (height / 2 - points[:, 1]) / width
        return [[round(float(a), 6), round(float(b), 6)] for a, b in zip(x, y, strict=True)]

    layers, paths = [], []
    for layer in document.layers:
        layers.append({"name": layer.name, "counts": [path.count for path in layer.paths]})
        paths += layer.paths
    keys = []
    for frame in document.frames:
        frame_keys = []
        for path in paths:
            bezier = keyed_path(path, frame)
            co, left, right = to_mask(bezier.anchors), to_mask(bezier.in_handles), to_mask(bezier.out_handles)
            frame_keys.append([list(point) for point in zip(co, left, right, strict=True)])
        keys.append(frame_keys)
    fps = document.fps
    data = {
        "name": document.shot,
        "width": width,
        "height": height,
        "fps": [round(float(fps)), round(float(fps)) / float(fps)],  # Blender: fps / fps_base
        "frames": document.numbers,
        "layers": layers,
        "keys": keys,
    }
    return _SCRIPT.format(
        shot=sanitize(document.shot),
        first=document.numbers[0],
        last=document.numbers[-1],
        data=json.dumps(data, separators=(",", ":")),
    )
