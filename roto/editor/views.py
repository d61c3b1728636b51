"""What the canvas shows over a frame, as pure numpy: overlay, matte only, cut-out, outlines only, solo, onion skin.

`compose_view` turns the objects' finished mattes (their matte settings applied, as export writes them) into a
premultiplied RGBA picture laid over the frame and a list of outlines. Outlines are polygons in frame pixels, not
pixels burnt into the picture, so the canvas draws them with a pen of constant screen width: they stay visible at
every zoom, and they are drawn above every fill, so a later object's fill never hides an earlier object's edge.

Given a `Viewport`, only the part of the frame the canvas shows is composed, at the screen's resolution: at 4K
fitted into a window that is a seventh of the pixels, so a click or a propagated frame is drawn in a fraction of
the time a full-resolution picture takes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import cv2
import numpy as np

from roto.editor.refined import RefinedMattes
from roto.matte import CleanCache, FloatImage, MatteOps, MatteSequence
from roto.project import MaskStore, Project, RotoObject, Shot
from roto.refine import RefineMode

CHECKER_PX = 16  # side of a cut-out checkerboard square, in frame pixels
CHECKER_GREYS = (0.40, 0.60)
MAX_ONION_FRAMES = 10
MIN_OPACITY = 0.05  # the overlay never fades out entirely: outlines only is its own view
ONION_OPACITY = 0.7  # of the nearest onion frame; farther ones fade linearly


class ViewMode(StrEnum):
    OVERLAY = "overlay"  # every visible object's fill and outline over the frame
    MATTE = "matte"  # the matte alone, in grey: the current object's, or every visible object's union
    CUTOUT = "cutout"  # the frame through the matte, over a checkerboard or a colour
    OUTLINES = "outlines"  # only the outlines: the footage is unobstructed
    SOLO = "solo"  # the current object's fill and outline only


@dataclass(frozen=True)
class ViewOptions:
    """How the canvas shows the masks; an EditorState field, switched by keys and the View menu."""

    mode: ViewMode = ViewMode.OVERLAY
    opacity: float = 0.45  # overlay fill, 0..1
    all_objects: bool = False  # matte only and cut-out: the union of the visible objects, not the current one
    background: tuple[int, int, int] | None = None  # cut-out backdrop colour; None: a checkerboard
    onion: bool = False  # onion skin: the outlines of neighbouring frames' masks, faded
    onion_frames: int = 2  # how many frames each side

    def __post_init__(self) -> None:
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"overlay opacity must be from 0 to 1, got {self.opacity!r}")
        if not 1 <= self.onion_frames <= MAX_ONION_FRAMES:
            raise ValueError(f"onion skin takes 1 to {MAX_ONION_FRAMES} frames, got {self.onion_frames!r}")

    @property
    def reach(self) -> int:
        """How many frames each side the view shows besides its own (onion skin)."""
        return self.onion_frames if self.onion else 0

    def step_opacity(self, delta: float) -> ViewOptions:
        """The overlay opacity changed by `delta`, kept within MIN_OPACITY..1."""
        return replace(self, opacity=round(min(1.0, max(MIN_OPACITY, self.opacity + delta)), 2))

    def step_onion(self, delta: int) -> ViewOptions:
        """Onion skin on, over `delta` more (or fewer) frames each side, kept within 1..MAX_ONION_FRAMES."""
        return replace(
            self, onion=True, onion_frames=min(MAX_ONION_FRAMES, max(1, self.onion_frames + delta))
        )


@dataclass(frozen=True)
class ObjectLayer:
    """One visible object's finished matte on the frame shown."""

    object_id: int
    color: tuple[int, int, int]
    alpha: FloatImage  # HxW float32 in [0, 1]


@dataclass(frozen=True)
class Outline:
    """An object's edge as closed polygons of (x, y) frame coordinates, for a pen of constant screen width."""

    polygons: tuple[np.ndarray, ...]  # each (N, 2) float32
    color: tuple[int, int, int]
    opacity: float = 1.0
    current: bool = False  # the current object's edge (drawn a little wider)
    offset: int = 0  # onion skin: frames away from the one shown (negative: before it)


@dataclass(frozen=True)
class Viewport:
    """The part of the frame on screen (whole frame pixels) and the picture size it fills there."""

    x: int
    y: int
    width: int
    height: int
    out_width: int  # at most `width`: a picture never has more pixels than the frame part it shows
    out_height: int

    @classmethod
    def visible(
        cls, shape: tuple[int, int], rect: tuple[float, float, float, float], zoom: float
    ) -> Viewport | None:
        """The frame part inside `rect` (x0, y0, x1, y1 in frame pixels) shown at `zoom` screen pixels per frame
        pixel; None when none of the frame is visible."""
        x0, y0 = max(0, int(np.floor(rect[0]))), max(0, int(np.floor(rect[1])))
        x1, y1 = min(shape[1], int(np.ceil(rect[2]))), min(shape[0], int(np.ceil(rect[3])))
        if x1 <= x0 or y1 <= y0:
            return None
        width, height = x1 - x0, y1 - y0
        scale = min(1.0, zoom)
        out = (max(1, min(width, round(width * scale))), max(1, min(height, round(height * scale))))
        return cls(x0, y0, width, height, *out)

    @property
    def scale(self) -> tuple[float, float]:
        """Frame pixels per picture pixel, across and down."""
        return self.width / self.out_width, self.height / self.out_height

    def fit(self, image: np.ndarray) -> np.ndarray:
        """The visible part of a frame-sized image at the picture's size.

        Bilinear, not area-averaged: at fractional scales OpenCV's area resize costs ten times as much (34 against
        3.5 ms from 4K to 1380 pixels wide), and the canvas draws the frame itself with nearest-pixel sampling.
        """
        part = image[self.y : self.y + self.height, self.x : self.x + self.width]
        if (self.out_width, self.out_height) == (self.width, self.height):
            return part
        return cv2.resize(part, (self.out_width, self.out_height), interpolation=cv2.INTER_LINEAR)

    def fit_mask(self, mask: np.ndarray) -> FloatImage:
        """`fit` for a boolean mask, as 0..1 floats: resized as bytes, so only the picture-sized result is float
        (a 4K mask as float32 is 33 MB to write and resize)."""
        part = mask[self.y : self.y + self.height, self.x : self.x + self.width].view(np.uint8)
        if (self.out_width, self.out_height) == (self.width, self.height):
            return part.astype(np.float32)
        small = cv2.resize(
            part * np.uint8(255), (self.out_width, self.out_height), interpolation=cv2.INTER_LINEAR
        )
        return small.astype(np.float32) * np.float32(1 / 255)

    def to_frame(self, polygon: np.ndarray) -> np.ndarray:
        """Picture coordinates (x, y) as frame coordinates."""
        sx, sy = self.scale
        return (polygon * np.array([sx, sy], np.float32) + np.array([self.x, self.y], np.float32)).astype(
            np.float32
        )


@dataclass(frozen=True)
class ViewImage:
    """What goes over the frame: a premultiplied RGBA picture (None: nothing) and the outlines above it.

    The picture covers `viewport` (None: the whole frame, one picture pixel per frame pixel).
    """

    picture: np.ndarray | None
    outlines: tuple[Outline, ...]
    viewport: Viewport | None = None


def outline_polygons(mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """The boundaries of a boolean mask (holes included), through the centres of its edge pixels."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return _each(contours, lambda points: points.reshape(-1, 2).astype(np.float32) + 0.5)


def _each(
    polygons: Sequence[np.ndarray], change: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, ...]:
    """`change` applied to all the polygons' points at once, split back into polygons.

    A noisy mask has thousands of small contours: one numpy call per contour held the interpreter (and with it
    the GUI thread) for milliseconds per view.
    """
    if not polygons:
        return ()
    sizes = [len(polygon) for polygon in polygons]
    points = change(np.concatenate([np.asarray(p).reshape(-1, 2) for p in polygons]))
    return tuple(np.split(points, np.cumsum(sizes[:-1])))


@functools.lru_cache(maxsize=2)
def checkerboard(shape: tuple[int, int]) -> np.ndarray:
    """Grey squares of CHECKER_PX frame pixels, HxWx3 float32 in 0..255 (read-only, made once per frame size)."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    odd = ((yy // CHECKER_PX) + (xx // CHECKER_PX)) % 2
    grey = np.where(odd == 1, CHECKER_GREYS[1] * 255, CHECKER_GREYS[0] * 255).astype(np.float32)
    board = cv2.merge([grey, grey, grey])
    board.flags.writeable = False
    return board


def _box(alpha: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of the non-zero pixels, so fills cost their object's area, not the frame's."""
    x, y, w, h = cv2.boundingRect((alpha > 0).astype(np.uint8))
    return None if w == 0 else (slice(y, y + h), slice(x, x + w))


_WEIGHT = np.float32(1024)


def _overlay(layers: Sequence[ObjectLayer], shape: tuple[int, int], opacity: float) -> np.ndarray:
    """Translucent fills composited in order ("over", premultiplied): where objects overlap both show.

    Each fill is blended within its own bounding box only, by OpenCV's per-pixel weighted blend in uint8 (the
    same result as blending in float32, in less than half the time: a 4K view with five noisy masks took 100 ms).
    """
    out = np.zeros((*shape, 4), np.uint8)
    for layer in layers:
        box = _box(layer.alpha)
        if box is None:
            continue
        # blendLinear divides by the weights' sum plus 1e-5: weights summing to 1024 put that below float32's
        # precision, so a fill is what blending in float32 gives, to the rounding.
        a = layer.alpha[box] * np.float32(opacity * _WEIGHT)
        region = out[box]
        colour = np.empty_like(region)
        colour[:] = (*layer.color, 255)
        out[box] = cv2.blendLinear(region, colour, _WEIGHT - a, a)
    return out


def _opaque(rgb: np.ndarray) -> np.ndarray:
    """An RGB float image in 0..255 as an opaque RGBA picture that hides the frame."""
    return cv2.cvtColor(cv2.convertScaleAbs(rgb), cv2.COLOR_RGB2RGBA)


def _matte(layers: Sequence[ObjectLayer], shape: tuple[int, int]) -> FloatImage:
    if not layers:
        return np.zeros(shape, np.float32)
    return np.maximum.reduce([layer.alpha for layer in layers])


def _outlines(
    layers: Sequence[ObjectLayer], current_id: int | None, opacity: float = 1.0, offset: int = 0
) -> list[Outline]:
    return [
        Outline(
            outline_polygons(layer.alpha >= 0.5), layer.color, opacity, layer.object_id == current_id, offset
        )
        for layer in layers
    ]


def _fitted(layers: Sequence[ObjectLayer], viewport: Viewport) -> list[ObjectLayer]:
    return [replace(layer, alpha=viewport.fit(layer.alpha)) for layer in layers]


def compose_view(
    options: ViewOptions,
    layers: Sequence[ObjectLayer],
    current_id: int | None,
    frame_rgb: np.ndarray | None,
    onion: Sequence[tuple[int, Sequence[ObjectLayer]]] = (),
    shape: tuple[int, int] | None = None,
    viewport: Viewport | None = None,
    fitted: bool = False,
) -> ViewImage:
    """The picture and outlines for `options` over one frame, or only over `viewport`, at its picture size.

    `layers` are the visible objects in document order; `onion` pairs a frame offset (-2, -1, 1, 2, ...) with its
    layers. The frame's pixels are needed only for the cut-out; `shape` (height, width) is taken from the layers
    or the frame when not given. With `fitted`, the layers given with a `viewport` are already its part at the
    picture's size (`ViewRequest` resizes plain masks before they become floats).
    """
    if viewport is not None:
        view = compose_view(
            options,
            layers if fitted else _fitted(layers, viewport),
            current_id,
            None if frame_rgb is None else viewport.fit(frame_rgb),
            [(offset, part if fitted else _fitted(part, viewport)) for offset, part in onion],
            (viewport.out_height, viewport.out_width),
        )
        in_frame = tuple(
            replace(outline, polygons=_each(outline.polygons, viewport.to_frame)) for outline in view.outlines
        )
        return ViewImage(view.picture, in_frame, viewport)
    if shape is None:
        shape = layers[0].alpha.shape if layers else frame_rgb.shape[:2] if frame_rgb is not None else None
    if shape is None:
        return ViewImage(None, ())
    mode = options.mode
    current = [layer for layer in layers if layer.object_id == current_id]
    shown = current if mode is ViewMode.SOLO else list(layers)
    picked = shown if options.all_objects else current
    outlines: list[Outline] = []
    for offset, onion_layers in onion:
        fade = ONION_OPACITY * (1.0 - (abs(offset) - 1) / max(1, options.onion_frames))
        keep = [layer for layer in onion_layers if mode is not ViewMode.SOLO or layer.object_id == current_id]
        outlines += _outlines(keep, current_id, fade, offset)
    if mode is ViewMode.MATTE:
        grey = cv2.convertScaleAbs(_matte(picked, shape), alpha=255.0)
        return ViewImage(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGBA), tuple(outlines))
    if mode is ViewMode.CUTOUT:
        alpha = cv2.merge([_matte(picked, shape)] * 3)
        if options.background is None:
            backdrop = checkerboard(shape)
        else:
            backdrop = np.empty((*shape, 3), np.float32)
            backdrop[:] = options.background
        frame = frame_rgb.astype(np.float32) if frame_rgb is not None else np.zeros((*shape, 3), np.float32)
        return ViewImage(_opaque(backdrop + cv2.multiply(frame - backdrop, alpha)), tuple(outlines))
    outlines += _outlines(shown, current_id)
    picture = None if mode is ViewMode.OUTLINES or not shown else _overlay(shown, shape, options.opacity)
    return ViewImage(picture, tuple(outlines))


# -- from the document ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectMasks:
    """One visible object's masks near one frame, by digest: what composing its layer reads from the document.

    Taken on the thread that owns the document, it can be composed on another while the document changes: a digest
    always names the same pixels in the store (blobs never change once stored, and the store is thread-safe).
    """

    object_id: int
    color: tuple[int, int, int]
    matte: MatteOps
    digests: Mapping[int, str]  # frame number -> mask digest, for every frame the matte reads
    finished: FloatImage | None = None  # the matte itself, worked out elsewhere (quality refine edge)

    @classmethod
    def of(cls, obj: RotoObject, frame: int, reach: int) -> ObjectMasks:
        """The object's digests on frames `frame - reach` to `frame + reach` (those that have a mask)."""
        entries = ((f, obj.masks.get(f)) for f in range(frame - reach, frame + reach + 1))
        return cls(obj.id, obj.color, obj.matte, {f: e.digest for f, e in entries if e is not None})

    def alpha(
        self,
        store: MaskStore,
        shot: ShotFrames,
        frame: int,
        cache: CleanCache | None = None,
        picture: np.ndarray | None = None,
    ) -> FloatImage | None:
        """The matte on frame `frame` as export writes it (the matte settings applied), or None without a mask.

        With `cache`, frames already cleaned with these settings (by mask digest) are not cleaned again. Refine
        edge needs the frame's full-size `picture`; without it (a scrubbing preview) the matte is shown unrefined.
        """
        if self.finished is not None:
            return self.finished
        ops = self.matte if picture is not None else replace(self.matte, refine=RefineMode.OFF)
        first = shot.frames.start

        def read(index: int) -> np.ndarray | None:
            digest = self.digests.get(first + index)
            return None if digest is None else store.get(digest, shot.shape)

        sequence = MatteSequence(
            ops,
            read,
            len(shot.frames),
            shared=None if cache is None else (cache, lambda index: self.digests.get(first + index)),
            picture=lambda _index: picture,  # asked for `frame` only: neighbours vote with their masks
        )
        return sequence.alpha(frame - first)

    def bare(
        self, store: MaskStore, shot: ShotFrames, frame: int, viewport: Viewport | None = None
    ) -> FloatImage | None:
        """The mask itself on frame `frame`, as 0/1 floats (onion skin shows masks, not mattes), or its part in
        `viewport` at the picture's size."""
        digest = self.digests.get(frame)
        if digest is None:
            return None
        mask = store.get(digest, shot.shape)
        return mask.astype(np.float32) if viewport is None else viewport.fit_mask(mask)

    def plain(self, picture: np.ndarray | None) -> bool:
        """Whether the matte is the mask itself: no setting changes a stored (boolean) mask here."""
        ops = self.matte
        refines = ops.refine is not RefineMode.OFF and picture is not None
        changes = (ops.grow_px, ops.feather_px, ops.fill_holes, ops.min_island_area, ops.smooth_px)
        return self.finished is None and not (ops.invert or ops.chatter_frames or refines or any(changes))


@dataclass(frozen=True)
class ShotFrames:
    """The shot's frame numbers and frame size (height, width)."""

    frames: range
    shape: tuple[int, int]


@dataclass(frozen=True)
class ViewRequest:
    """Everything composing the view over one frame needs, taken from the document by `view_request`: composing
    (`compose`) may then run on another thread while the document goes on changing."""

    options: ViewOptions
    current_id: int | None
    frame: int  # frame number
    shot: ShotFrames
    store: MaskStore
    objects: tuple[ObjectMasks, ...]  # the visible objects, in document order
    onion: tuple[tuple[int, tuple[ObjectMasks, ...]], ...] = ()  # (frame offset, objects), nearest first
    picture: np.ndarray | None = None  # the frame's full-size pixels; None for a preview
    viewport: Viewport | None = None

    def layers(self, cache: CleanCache | None = None, viewport: Viewport | None = None) -> list[ObjectLayer]:
        """The visible objects' finished mattes on the frame (refined against `picture` where asked for), or their
        part in `viewport` at the picture's size (a plain matte is the mask, resized as bytes)."""
        layers = []
        for o in self.objects:
            if viewport is not None and o.plain(self.picture):
                alpha = o.bare(self.store, self.shot, self.frame, viewport)
            else:
                alpha = o.alpha(self.store, self.shot, self.frame, cache, self.picture)
                alpha = alpha if alpha is None or viewport is None else viewport.fit(alpha)
            if alpha is not None:
                layers.append(ObjectLayer(o.object_id, o.color, alpha))
        return layers

    def onion_layers(self, viewport: Viewport | None = None) -> list[tuple[int, list[ObjectLayer]]]:
        """The bare masks of the onion-skin frames (their part in `viewport`, at the picture's size)."""
        result = []
        for offset, objects in self.onion:
            alphas = ((o, o.bare(self.store, self.shot, self.frame + offset, viewport)) for o in objects)
            result.append(
                (offset, [ObjectLayer(o.object_id, o.color, a) for o, a in alphas if a is not None])
            )
        return result

    def compose(self, cache: CleanCache | None = None) -> ViewImage:
        """The view (`compose_view`) over the frame, or over the viewport at its picture size."""
        return compose_view(
            self.options,
            self.layers(cache, self.viewport),
            self.current_id,
            self.picture,
            self.onion_layers(self.viewport),
            self.shot.shape,
            self.viewport,
            fitted=True,
        )


def view_request(
    project: Project,
    shot: Shot,
    frame: int,
    options: ViewOptions,
    current_id: int | None,
    picture: np.ndarray | None = None,
    viewport: Viewport | None = None,
    refined: RefinedMattes | None = None,
) -> ViewRequest:
    """What composing the view of shot frame `frame` reads, taken now (cheap: digests, no pixels).

    With `refined`, a refinement too slow for the window's thread (quality mode) comes from there when done, and
    is shown unrefined until then (`refined` notes the job).
    """
    visible = [obj for obj in shot.objects if obj.visible]

    def masks_of(obj: RotoObject) -> ObjectMasks:
        masks = ObjectMasks.of(obj, frame, obj.matte.chatter_frames)
        if refined is None or picture is None or not refined.deferred(obj.matte) or frame not in obj.masks:
            return masks
        alpha = refined.lookup(project, shot, obj, frame, picture)
        if alpha is not None:
            return replace(masks, finished=alpha)
        return replace(masks, matte=replace(obj.matte, refine=RefineMode.OFF))

    offsets = [sign * distance for distance in range(1, options.reach + 1) for sign in (-1, 1)]
    return ViewRequest(
        options,
        current_id,
        frame,
        ShotFrames(shot.frames, shot.frame_shape),
        project.masks,
        tuple(masks_of(obj) for obj in visible),
        tuple(
            (offset, tuple(ObjectMasks.of(obj, frame + offset, 0) for obj in visible))
            for offset in offsets
            if frame + offset in shot.frames
        ),
        picture,
        viewport,
    )


def object_alpha(
    project: Project,
    shot: Shot,
    obj: RotoObject,
    frame: int,
    cache: CleanCache | None = None,
    picture: np.ndarray | None = None,
) -> FloatImage | None:
    """The object's matte on shot frame `frame` as export writes it (see `ObjectMasks.alpha`), or None."""
    masks = ObjectMasks.of(obj, frame, obj.matte.chatter_frames)
    return masks.alpha(project.masks, ShotFrames(shot.frames, shot.frame_shape), frame, cache, picture)


def frame_layers(
    project: Project,
    shot: Shot,
    frame: int,
    finished: bool = True,
    cache: CleanCache | None = None,
    picture: np.ndarray | None = None,
    refined: RefinedMattes | None = None,
) -> list[ObjectLayer]:
    """The visible objects' layers on shot frame `frame`: finished mattes (refined against `picture`, the
    frame itself, where an object refines its edge; slow refinements through `refined`, see `view_request`),
    or (`finished` False) the bare masks."""
    request = view_request(project, shot, frame, ViewOptions(), None, picture, refined=refined)
    if finished:
        return request.layers(cache)
    alphas = ((o, o.bare(request.store, request.shot, frame)) for o in request.objects)
    return [ObjectLayer(o.object_id, o.color, alpha) for o, alpha in alphas if alpha is not None]


def onion_layers(project: Project, shot: Shot, frame: int, count: int) -> list[tuple[int, list[ObjectLayer]]]:
    """The masks `count` frames before and after shot frame `frame` (those inside the shot), nearest first."""
    options = ViewOptions(onion=count > 0, onion_frames=max(1, count))
    return view_request(project, shot, frame, options, None).onion_layers()
