"""Shape formats read back by real readers: rsvg-convert (SVG), rlottie (Lottie), Blender (its script), node
(the .jsx syntax), and the .nk structure; each frame's drawing matches the matte it came from."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.export import ExportSpec, InMemorySource, export
from roto.export.vector.sink import ShapeWarning
from roto.shapes import ShapeSettings
from tests.shapes.conftest import HEIGHT, WIDTH, iou, moving_mask

FRAMES = 3
START = 1001
COLOURS = {"hero": (230, 40, 40), "prop": (40, 200, 90)}


def _still_mask(frame: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    if frame != 1:  # no mask on the middle frame: the object's shape is absent there
        mask[700:1000, 100 + 20 * frame : 400 + 20 * frame] = True
    return mask


@pytest.fixture(scope="module")
def shot() -> InMemorySource:
    masks = {
        "hero": [moving_mask(5 * i) for i in range(FRAMES)],
        "prop": [_still_mask(i) for i in range(FRAMES)],
    }
    masks["prop"][1] = None  # type: ignore[call-overload]
    return InMemorySource("sh010", (HEIGHT, WIDTH), masks, fps=Fraction(24), colours=COLOURS)


def _export(shot: InMemorySource, folder: Path, fmt: str) -> list[Path]:
    result = export(shot, ExportSpec(folder, format=fmt, start_frame=START))
    assert result.frames_written == FRAMES
    return result.files


def _expected(shot: InMemorySource, frame: int) -> np.ndarray:
    return np.logical_or(shot.object_masks["hero"][frame], _still_mask(frame))


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (bash scripts/setup-env.sh test installs it)")
    return path


def _rsvg_alpha(svg: Path, out: Path) -> np.ndarray:
    subprocess.run([_need("rsvg-convert"), str(svg), "-o", str(out)], check=True)
    picture = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert picture.shape == (HEIGHT, WIDTH, 4)
    return picture[..., 3] >= 128


def test_svg_per_frame_rendered_by_rsvg_matches_the_matte(shot: InMemorySource, tmp_path: Path) -> None:
    files = _export(shot, tmp_path / "svg", "svg")
    assert [f.name for f in files] == [f"sh010.{START + i}.svg" for i in range(FRAMES)]
    for frame, file in enumerate(files):
        assert iou(_rsvg_alpha(file, tmp_path / f"{frame}.png"), _expected(shot, frame)) >= 0.98
        ids = [path.get("id") for path in ET.parse(file).getroot()]
        assert ids == (["hero"] if frame == 1 else ["hero", "prop"])  # no shape where there is no mask


def test_animated_svg_keys_every_frame_and_each_key_renders_as_the_matte(
    shot: InMemorySource, tmp_path: Path
) -> None:
    (file,) = _export(shot, tmp_path, "svg-animated")
    root = ET.parse(file).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    frames_d: list[list[str]] = []
    for path in root.iter(f"{ns}path"):
        (animate,) = path.iter(f"{ns}animate")
        values = animate.get("values", "").split(";")
        assert len(values) == FRAMES and animate.get("calcMode") == "discrete"
        assert path.get("d") == values[0]
        frames_d.append(values)
    for frame in range(FRAMES):  # each key as a still SVG, drawn by rsvg
        still = tmp_path / f"key{frame}.svg"
        paths = "".join(f'<path fill-rule="evenodd" d="{d[frame]}"/>' for d in frames_d)
        still.write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">{paths}</svg>'
        )
        assert iou(_rsvg_alpha(still, tmp_path / f"key{frame}.png"), _expected(shot, frame)) >= 0.98


def test_lottie_rendered_by_rlottie_matches_the_matte(shot: InMemorySource, tmp_path: Path) -> None:
    rlottie = pytest.importorskip("rlottie_python")
    (file,) = _export(shot, tmp_path, "lottie")
    assert file.name == "sh010.json"
    data = json.loads(file.read_text())
    assert (data["ip"], data["op"], data["w"], data["h"]) == (START, START + FRAMES, WIDTH, HEIGHT)
    animation = rlottie.LottieAnimation.from_data(file.read_text())
    for frame in range(FRAMES):
        pixels = animation.lottie_animation_render(frame_num=frame, width=WIDTH, height=HEIGHT)
        alpha = np.frombuffer(pixels, np.uint8).reshape(HEIGHT, WIDTH, 4)[..., 3] >= 128
        assert iou(alpha, _expected(shot, frame)) >= 0.98


def test_after_effects_script_parses_and_keys_every_mask_on_every_frame(
    shot: InMemorySource, tmp_path: Path
) -> None:
    (file,) = _export(shot, tmp_path, "after-effects")
    syntax = "new Function(require('fs').readFileSync(process.argv[1], 'utf8'))"  # compile, do not run
    subprocess.run([_need("node"), "-e", syntax, str(file)], check=True)
    text = file.read_text()
    data = json.loads(re.search(r"var data = (\{.*\});\n", text).group(1))  # type: ignore[union-attr]
    assert data["frames"] == [START + i for i in range(FRAMES)]
    masks = [path for layer in data["layers"] for path in layer["paths"]]
    assert sorted(path["hole"] for path in masks) == [False, False, False, True]
    for path in masks:
        assert len(path["keys"]) == FRAMES
        assert len({len(vertices) for vertices, _, _ in path["keys"]}) == 1


def test_nuke_roto_node_is_balanced_and_keys_every_shape_on_every_frame(
    shot: InMemorySource, tmp_path: Path
) -> None:
    (file,) = _export(shot, tmp_path, "nuke")
    text = file.read_text()
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    groups = re.findall(
        r"\{curvegroup (\S+) 512 bezier\s+\{\{cc\s+\{f 8192\}\s+\{px ([^{]*)((?:\{[^{}]*\}\s*)+)\}", text
    )
    assert len(groups) == 4
    for _, times, values in groups:
        keys = [struct.unpack(">f", bytes.fromhex(word[1:]))[0] for word in times.split()]
        assert keys == [START + i for i in range(FRAMES)]  # keyed at the export's frame numbers
        for value in re.findall(r"\{([^{}]*)\}", values):
            assert len(value.split()) == 2 * FRAMES  # an (x, y) per key


_RENDER = """
import bpy
scene = bpy.context.scene
mask = bpy.data.masks[-1]
scene.use_nodes = True
tree = scene.node_tree
for node in list(tree.nodes):
    tree.nodes.remove(node)
source = tree.nodes.new("CompositorNodeMask")
source.mask, source.use_feather = mask, False
tree.links.new(source.outputs[0], tree.nodes.new("CompositorNodeComposite").inputs[0])
scene.render.image_settings.file_format, scene.render.image_settings.color_mode = "PNG", "BW"
for frame in range(scene.frame_start, scene.frame_end + 1):
    scene.frame_set(frame)
    scene.render.filepath = OUT + f"/{frame}.png"
    bpy.ops.render.render(write_still=True)
"""


@pytest.mark.slow
def test_blender_script_builds_a_mask_whose_render_matches_the_matte(
    shot: InMemorySource, tmp_path: Path
) -> None:
    blender, xvfb = _need("blender"), _need("xvfb-run")
    (file,) = _export(shot, tmp_path, "blender")
    runner = tmp_path / "run.py"
    runner.write_text(
        "import bpy, runpy, traceback\ntry:\n"
        f"    runpy.run_path({str(file)!r})\n"
        f"    OUT = {str(tmp_path)!r}\n"
        + "".join(f"    {line}\n" for line in _RENDER.splitlines() if line)
        + "except Exception:\n    traceback.print_exc()\nbpy.ops.wm.quit_blender()\n"
    )
    # Blender keys mask shapes through an editor operator, so it runs with a (virtual) window, not -b.
    command = [
        xvfb,
        "-a",
        "-s",
        "-screen 0 1280x800x24",
        blender,
        "--factory-startup",
        "--python",
        str(runner),
    ]
    subprocess.run(command, check=True, timeout=300, capture_output=True)
    for frame in range(FRAMES):
        picture = cv2.imread(str(tmp_path / f"{START + frame}.png"), cv2.IMREAD_GRAYSCALE)
        assert picture is not None, f"Blender rendered no frame {START + frame}"
        assert iou(picture >= 128, _expected(shot, frame)) >= 0.97


def test_thousands_of_specks_export_a_bounded_file_with_a_warning(tmp_path: Path) -> None:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    for dy in range(5):
        for dx in range(5):
            mask[40 + dy : HEIGHT - 40 : 24, 40 + dx : WIDTH - 40 : 24] = True  # thousands of 25-pixel specks
    source = InMemorySource("specks", (HEIGHT, WIDTH), {"dust": [mask]})
    spec = ExportSpec(tmp_path, format="svg", shapes=ShapeSettings(max_paths=64))
    with pytest.warns(ShapeWarning, match=r"object 'dust'.*only the 64 largest"):
        (file,) = export(source, spec).files
    assert len(ET.parse(file).getroot()[0].get("d", "").split("M")) - 1 == 64
    assert file.stat().st_size < 200_000


def test_a_100_frame_lottie_keeps_each_path_s_point_count_and_its_points_follow_the_object(
    tmp_path: Path,
) -> None:
    source = InMemorySource("run", (HEIGHT, WIDTH), {"hero": [moving_mask(i) for i in range(100)]})
    (file,) = export(source, ExportSpec(tmp_path, format="lottie")).files
    (layer,) = json.loads(file.read_text())["layers"]
    paths = [item for item in layer["shapes"][0]["it"] if item["ty"] == "sh"]
    assert len(paths) == 3
    for path in paths:
        keys = [np.array(key["s"][0]["v"]) for key in path["ks"]["k"]]
        assert len(keys) == 100 and len({len(v) for v in keys}) == 1
        moved = np.mean([np.linalg.norm(b - a, axis=1).mean() for a, b in itertools.pairwise(keys)])
        centroid = np.mean([np.linalg.norm(b.mean(0) - a.mean(0)) for a, b in itertools.pairwise(keys)])
        assert moved <= 1.5 * centroid
