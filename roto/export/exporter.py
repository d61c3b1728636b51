"""Export orchestration: validate the request, check for clashes, stream frames into the chosen writer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np

from roto.errors import ExportError
from roto.export import images
from roto.export.cel import CelStyle, render_cel
from roto.export.naming import NamePattern
from roto.export.rle import CocoWriter
from roto.export.source import MatteSource
from roto.export.staging import Staging
from roto.export.vector.sink import WHOLE_SHOT_WRITERS, ShapeJob, ShapeSink
from roto.export.video import FFV1, FFV1_16, H264_LUMA, PRORES_4444, VP9_ALPHA, MatteVideoWriter, VideoCodec
from roto.matte import MaskReader, MatteOps, MatteSequence
from roto.refine import RefineMode, estimate_foreground
from roto.shapes import ShapeSettings

ProgressCallback = Callable[[int, int], None]
"""Called after each frame with (frames done, frames in total)."""

CancelToken = threading.Event | Callable[[], bool]
"""Checked before each frame; once set (or returning True) the export stops and leaves nothing behind."""


class ExportFormat(StrEnum):
    PNG = "png"
    EXR = "exr"
    PRORES = "prores"
    FFV1 = "ffv1"
    VP9 = "vp9"
    H264 = "h264"
    COCO = "coco"
    SVG = "svg"  # shapes: one SVG per frame
    SVG_ANIMATED = "svg-animated"  # shapes: one SVG animating every frame
    LOTTIE = "lottie"
    NUKE = "nuke"  # a Roto node (.nk)
    AFTER_EFFECTS = "after-effects"  # an ExtendScript (.jsx) keying masks
    BLENDER = "blender"  # a Python script building a Mask datablock


class Layout(StrEnum):
    PER_OBJECT = "per-object"  # one output per object
    UNION = "union"  # one output: all selected objects merged (max of their alphas)
    LABELS = "labels"  # one paletted PNG per frame: pixel value = object number (PNG only)
    LAYERS = "layers"  # one EXR per frame with a layer per object, channel "<object>.A" (EXR only)


class Content(StrEnum):
    ALPHA = "alpha"  # the matte alone
    STRAIGHT = "rgba-straight"  # source colour, matte as (unassociated) alpha
    PREMULTIPLIED = "rgba-premultiplied"  # source colour multiplied by the matte
    CEL = "cel"  # every object as a flat fill in its colour with an outline (spec.cel), in one picture


_SEQUENCE_SUFFIX = {ExportFormat.PNG: ".png", ExportFormat.EXR: ".exr", ExportFormat.SVG: ".svg"}
_FILE_SUFFIX = {
    ExportFormat.PRORES: ".mov",
    ExportFormat.FFV1: ".mkv",
    ExportFormat.VP9: ".webm",
    ExportFormat.H264: ".mp4",
    ExportFormat.COCO: ".json",
    ExportFormat.SVG_ANIMATED: ".svg",
    ExportFormat.LOTTIE: ".json",
    ExportFormat.NUKE: ".nk",
    ExportFormat.AFTER_EFFECTS: ".jsx",
    ExportFormat.BLENDER: ".py",
}
# Shape formats hold every selected object (or the union) in one file, per frame for SVG.
_SHAPE_FORMATS = {ExportFormat.SVG, *WHOLE_SHOT_WRITERS}
_ONE_FILE = {ExportFormat.COCO, *WHOLE_SHOT_WRITERS}
_ALPHA_ONLY = {ExportFormat.EXR, ExportFormat.H264, *_ONE_FILE, ExportFormat.SVG}
_COMBINED_NAME = {Layout.UNION: "matte", Layout.LABELS: "labels", Layout.LAYERS: "layers"}
_CEL_NAME = "cel"


@dataclass(frozen=True)
class ExportSpec:
    """What to write and where. ``pattern`` defaults to ``{shot}_{object}.{frame:04d}.png`` (sequences)
    or ``{shot}_{object}.mov`` (videos) and ``{shot}.json`` (COCO); union/label outputs use the object
    names ``matte``/``labels``. ``start_frame`` renumbers: file number = start_frame + frame index;
    None keeps the source's own frame numbers. ``bit_depth`` applies to PNG and FFV1.
    """

    output_dir: Path
    format: ExportFormat = ExportFormat.PNG
    layout: Layout = Layout.PER_OBJECT
    content: Content = Content.ALPHA
    pattern: str | None = None
    bit_depth: int = 8
    frames: range | None = None
    objects: Sequence[str] | None = None
    matte_ops: MatteOps = field(default_factory=MatteOps)
    shapes: ShapeSettings = field(default_factory=ShapeSettings)  # tolerance and limits of shape formats
    cel: CelStyle = field(default_factory=CelStyle)  # outline and background of content "cel"
    start_frame: int | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        # Accept plain strings (CLI, settings files) but store the enums so comparisons are exact.
        for name, kind in (("format", ExportFormat), ("layout", Layout), ("content", Content)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                allowed = ", ".join(member.value for member in kind)
                raise ExportError(f"Unknown export {name} '{value}'; choose one of {allowed}") from None
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.objects is not None:
            object.__setattr__(self, "objects", tuple(self.objects))


@dataclass(frozen=True)
class ExportResult:
    files: list[Path]  # final paths written (empty when cancelled)
    frames_written: int
    cancelled: bool


class _Sink(Protocol):
    def write(self, index: int, planes: dict[str, np.ndarray], rgb: np.ndarray | None) -> None: ...

    def close(self) -> None: ...

    def discard(self) -> None: ...


@dataclass(frozen=True)
class _Plan:
    spec: ExportSpec
    source: MatteSource
    frames: range
    objects: list[str]
    targets: list[str]  # one output stream per target name
    pattern: NamePattern
    mattes: dict[str, MatteSequence]  # per object: its matte settings over the source's masks

    @property
    def size(self) -> tuple[int, int]:
        return self.source.frame_size

    def number(self, index: int) -> int:
        start = self.spec.start_frame
        return start + index if start is not None else self.source.frame_number(index)

    def path(self, target: str, index: int | None = None) -> Path:
        number = None if index is None else self.number(index)
        return self.pattern.render(self.spec.output_dir, self.source.shot_name, target, number)

    def colour(self, target: str, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """A cut-out's colour: where the target's object refines its edge, the object's own colour at soft
        edges (estimated), not the frame's mix with the old background."""
        matte = self.mattes.get(target)
        if matte is None or matte.ops.refine is RefineMode.OFF:
            return rgb
        return np.round(estimate_foreground(rgb, alpha) * 255.0).astype(np.uint8)

    def final_paths(self) -> list[Path]:
        if self.spec.format is ExportFormat.SVG:
            return [
                self.path(_COMBINED_NAME.get(self.spec.layout, "objects"), index) for index in self.frames
            ]
        if self.spec.format in _SEQUENCE_SUFFIX:
            return [self.path(target, index) for index in self.frames for target in self.targets]
        if self.spec.format in _ONE_FILE:
            return [self.path(_COMBINED_NAME.get(self.spec.layout, "objects"))]
        return [self.path(target) for target in self.targets]


def _make_plan(source: MatteSource, spec: ExportSpec) -> _Plan:
    fmt, layout, content = spec.format, spec.layout, spec.content
    if spec.bit_depth not in (8, 16):
        raise ExportError(f"Bit depth must be 8 or 16, got {spec.bit_depth}")
    if fmt in _ALPHA_ONLY and content is not Content.ALPHA:
        raise ExportError(
            f"{fmt.value} export writes mattes only; RGBA cut-outs need PNG, ProRes, FFV1 or VP9"
        )
    if layout is Layout.LABELS and (fmt is not ExportFormat.PNG or content is not Content.ALPHA):
        raise ExportError("Label maps are written as PNG mattes only (format png, content alpha)")
    if layout is Layout.LAYERS and fmt is not ExportFormat.EXR:
        raise ExportError("Layers (one layer per object in each file) are written as EXR only (format exr)")
    if layout is not Layout.PER_OBJECT and content is Content.CEL:
        raise ExportError("The cel look draws every selected object in one picture: use layout per-object")
    needs_pictures = content is not Content.ALPHA and (content is not Content.CEL or spec.cel.needs_frame)
    if needs_pictures and not source.has_images:
        raise ExportError(
            f"Shot '{source.shot_name}' has no source pictures, so RGBA cut-outs cannot be made"
        )

    frames = spec.frames if spec.frames is not None else range(source.frame_count)
    if len(frames) == 0 or min(frames) < 0 or max(frames) >= source.frame_count:
        raise ExportError(
            f"Frame range {frames.start}..{frames.stop - 1} is empty or outside the shot "
            f"(frames 0..{source.frame_count - 1})"
        )
    objects = list(spec.objects) if spec.objects is not None else list(source.object_names)
    unknown = [name for name in objects if name not in source.object_names]
    if unknown:
        raise ExportError(f"Shot '{source.shot_name}' has no object named {', '.join(map(repr, unknown))}")
    if not objects or len(set(objects)) != len(objects):
        raise ExportError("Select at least one object to export, each at most once")
    if layout is Layout.LAYERS and len({images.exr_layer(name) for name in objects}) != len(objects):
        raise ExportError(
            "Two selected objects differ only by dots, which EXR layer names cannot hold: rename one"
        )
    if layout is Layout.LABELS and len(objects) > images.MAX_LABELS:
        raise ExportError(f"A label map holds at most {images.MAX_LABELS} objects, {len(objects)} selected")

    is_sequence = fmt in _SEQUENCE_SUFFIX
    suffix = _SEQUENCE_SUFFIX.get(fmt) or _FILE_SUFFIX[fmt]
    one_name = fmt in _ONE_FILE or fmt in _SHAPE_FORMATS  # every object in one file (per frame for SVG)
    default = ("{shot}" if one_name else "{shot}_{object}") + (".{frame:04d}" if is_sequence else "") + suffix
    pattern = NamePattern(spec.pattern or default)
    if not pattern.pattern.lower().endswith(suffix):
        raise ExportError(
            f"File name pattern '{pattern.pattern}' must end in {suffix} for {fmt.value} export"
        )
    if is_sequence != ("frame" in pattern.fields):
        need = "needs a {frame} field" if is_sequence else "writes one file, so it cannot use {frame}"
        raise ExportError(f"File name pattern '{pattern.pattern}': {fmt.value} export {need}")

    targets = objects if layout is Layout.PER_OBJECT else [_COMBINED_NAME[layout]]
    if content is Content.CEL:
        targets = [_CEL_NAME]
    mattes = {
        name: MatteSequence(
            source.matte_ops(name) or spec.matte_ops,
            _reader(source, name),
            source.frame_count,
            source.frame_size,
            picture=source.image,  # refine edge re-decides the edge against the frame
        )
        for name in objects
    }
    return _Plan(spec, source, frames, objects, targets, pattern, mattes)


def _reader(source: MatteSource, name: str) -> MaskReader:
    """One object's masks by frame index, as MatteSequence reads them."""
    return lambda index: source.masks(index, [name]).get(name)


def _check_destinations(paths: list[Path], overwrite: bool) -> None:
    seen: set[Path] = set()
    for path in paths:
        if path in seen:
            raise ExportError(
                f"Two outputs would both be written to {path}; add {{object}} or {{frame}} to the pattern"
            )
        seen.add(path)
    for folder in dict.fromkeys(path.parent for path in paths):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise ExportError(f"{blocker} is a file, not a folder: choose another output folder")
    if not overwrite:
        clashes = [path for path in paths if path.exists()]
        if clashes:
            more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
            raise ExportError(
                f"{clashes[0]} already exists{more}; choose overwrite to replace existing files"
            )


def _alphas(plan: _Plan, index: int) -> dict[str, np.ndarray]:
    """Matte-processed float alpha per selected object for one frame (each object's own settings, if any)."""
    alphas = {}
    for name in plan.objects:
        try:
            alpha = plan.mattes[name].alpha(index)
            if alpha is None:  # no mask here: an empty matte, which the settings still finish (invert)
                alpha = plan.mattes[name].ops.apply(np.zeros(plan.size, dtype=bool))
            alphas[name] = alpha
        except ValueError as exc:
            raise ExportError(
                f"Shot '{plan.source.shot_name}', object '{name}', frame {index}: bad mask ({exc})"
            ) from None
    return alphas


def _planes(plan: _Plan, alphas: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per output target: float alpha, or the uint8 label map for label layout."""
    layout = plan.spec.layout
    if layout in (Layout.PER_OBJECT, Layout.LAYERS):  # layers: every object's alpha goes into one file
        return alphas
    if layout is Layout.UNION:
        return {plan.targets[0]: np.maximum.reduce(list(alphas.values()))}
    labels = np.zeros(plan.size, dtype=np.uint8)
    for number, name in enumerate(plan.objects, start=1):
        labels[alphas[name] >= 0.5] = number  # later objects are drawn over earlier ones
    return {plan.targets[0]: labels}


def _source_rgb(plan: _Plan, index: int) -> np.ndarray | None:
    content = plan.spec.content
    if content is Content.ALPHA or (content is Content.CEL and not plan.spec.cel.needs_frame):
        return None
    rgb = plan.source.image(index)
    if rgb is None or rgb.shape != (*plan.size, 3) or rgb.dtype != np.uint8:
        got = "nothing" if rgb is None else f"{rgb.dtype} {rgb.shape}"
        raise ExportError(
            f"Shot '{plan.source.shot_name}', frame {index}: expected an RGB uint8 picture of "
            f"{plan.size[1]}x{plan.size[0]}, got {got}"
        )
    return rgb


class _SequenceSink:
    """One PNG or EXR file per frame and target."""

    def __init__(self, plan: _Plan, staging: Staging):
        self._plan, self._staging = plan, staging

    def write(self, index: int, planes: dict[str, np.ndarray], rgb: np.ndarray | None) -> None:
        spec = self._plan.spec
        if spec.layout is Layout.LAYERS:
            final = self._plan.path(self._plan.targets[0], index)
            images.write_exr_layers(planes, self._staging.temp_path(final), final)
            return
        for target, plane in planes.items():
            final = self._plan.path(target, index)
            temp = self._staging.temp_path(final)
            if spec.format is ExportFormat.EXR:
                images.write_exr(plane, temp, final)
            elif spec.layout is Layout.LABELS:
                images.write_bytes(images.encode_label_png(plane, len(self._plan.objects)), temp, final)
            else:
                premultiplied = spec.content is Content.PREMULTIPLIED
                pixels = (
                    images.quantize(plane, spec.bit_depth)
                    if rgb is None
                    else images.cutout(
                        self._plan.colour(target, rgb, plane), plane, spec.bit_depth, premultiplied
                    )
                )
                images.write_bytes(images.encode_png(pixels, final), temp, final)

    def close(self) -> None:
        return None

    def discard(self) -> None:
        return None


class _VideoSink:
    """One matte video per target, all encoded in step."""

    def __init__(self, plan: _Plan, staging: Staging):
        codec = _video_codec(plan.spec)
        self._plan = plan
        self._premultiplied = plan.spec.content is Content.PREMULTIPLIED
        self._writers: dict[str, MatteVideoWriter] = {}
        for target in plan.targets:
            final = plan.path(target)
            self._writers[target] = MatteVideoWriter(
                staging.temp_path(final), final, codec, plan.size, plan.source.fps
            )

    def write(self, index: int, planes: dict[str, np.ndarray], rgb: np.ndarray | None) -> None:
        for target, alpha in planes.items():
            colour = None if rgb is None else self._plan.colour(target, rgb, alpha)
            self._writers[target].write(alpha, colour, self._premultiplied)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def discard(self) -> None:
        for writer in self._writers.values():
            writer.discard()


class _CocoSink:
    def __init__(self, plan: _Plan, staging: Staging):
        self._plan = plan
        final = plan.final_paths()[0]
        self._writer = CocoWriter(
            staging.temp_path(final), final, plan.source.shot_name, plan.targets, plan.size
        )

    def write(self, index: int, planes: dict[str, np.ndarray], rgb: np.ndarray | None) -> None:
        self._writer.write(index, self._plan.number(index), self._plan.source.frame_time(index), planes)

    def close(self) -> None:
        self._writer.close()

    def discard(self) -> None:
        self._writer.discard()


def _video_codec(spec: ExportSpec) -> VideoCodec:
    if spec.format is ExportFormat.FFV1:
        return FFV1_16 if spec.bit_depth == 16 else FFV1
    return {ExportFormat.PRORES: PRORES_4444, ExportFormat.VP9: VP9_ALPHA, ExportFormat.H264: H264_LUMA}[
        spec.format
    ]


def _colours(plan: _Plan, names: list[str]) -> dict[str, tuple[int, int, int]]:
    """Each object's own colour (the label colours where it has none); white for the merged matte."""
    palette = images.label_palette(len(names) + 1)
    colours = {}
    for number, name in enumerate(names, start=1):
        own = plan.source.object_colour(name) if name in plan.objects else (255, 255, 255)
        colours[name] = own or (palette[3 * number], palette[3 * number + 1], palette[3 * number + 2])
    return colours


class _CelSink:
    """Draws each frame's objects in the cel look and hands the picture to the PNG or video sink."""

    def __init__(self, plan: _Plan, inner: _Sink):
        self._plan, self._inner = plan, inner
        self._colours = _colours(plan, plan.objects)

    def write(self, index: int, planes: dict[str, np.ndarray], rgb: np.ndarray | None) -> None:
        spec = self._plan.spec
        colour, alpha = render_cel(planes, self._colours, rgb, spec.cel, spec.shapes)
        self._inner.write(index, {_CEL_NAME: alpha}, colour)

    def close(self) -> None:
        self._inner.close()

    def discard(self) -> None:
        self._inner.discard()


def _shape_job(plan: _Plan) -> ShapeJob:
    """The shape sink's inputs: a layer per target, in the object's colour."""
    return ShapeJob(
        plan.spec.format.value,
        plan.source.shot_name,
        plan.size,
        plan.source.fps,
        plan.frames,
        [plan.number(index) for index in plan.frames],
        _colours(plan, plan.targets),
        plan.spec.shapes,
        plan.final_paths(),
    )


def _make_sink(plan: _Plan, staging: Staging) -> _Sink:
    if plan.spec.format in _SHAPE_FORMATS:
        return ShapeSink(_shape_job(plan), staging)
    if plan.spec.format in _SEQUENCE_SUFFIX:
        sink: _Sink = _SequenceSink(plan, staging)
    elif plan.spec.format is ExportFormat.COCO:
        sink = _CocoSink(plan, staging)
    else:
        sink = _VideoSink(plan, staging)
    return _CelSink(plan, sink) if plan.spec.content is Content.CEL else sink


def _is_cancelled(cancel: CancelToken | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def planned_files(source: MatteSource, spec: ExportSpec) -> list[Path]:
    """The files an export would write, in order, writing nothing: what the editor's dialog previews. Raises
    the ExportError the export itself would raise for the request."""
    return _make_plan(source, spec).final_paths()


def export(
    source: MatteSource,
    spec: ExportSpec,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Write the requested mattes, one frame at a time; all files appear together at the end or not at all.

    Raises ExportError before writing anything if the request is invalid or (without ``overwrite``)
    any output file already exists.
    """
    plan = _make_plan(source, spec)
    _check_destinations(plan.final_paths(), spec.overwrite)
    staging = Staging()
    sink: _Sink | None = None
    done = 0
    try:
        sink = _make_sink(plan, staging)
        for index in plan.frames:
            if _is_cancelled(cancel):
                break
            sink.write(index, _planes(plan, _alphas(plan, index)), _source_rgb(plan, index))
            done += 1
            if progress is not None:
                progress(done, len(plan.frames))
        else:
            sink.close()
            return ExportResult(files=staging.commit(), frames_written=done, cancelled=False)
    except BaseException:
        if sink is not None:
            sink.discard()
        staging.abort()
        raise
    sink.discard()
    staging.abort()
    return ExportResult(files=[], frames_written=done, cancelled=True)
