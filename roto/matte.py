"""Matte operations on masks and logits, shared by the engine, the UI preview and export.

Every function is pure (inputs are never modified) and works on one frame: a boolean mask ``HxW``, float
logits ``hxw`` (any resolution; > 0 means "object"), or a float alpha ``HxW`` in [0, 1].
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields

import cv2
import numpy as np
import numpy.typing as npt

from roto.lru import ByteLRU
from roto.refine import RefineMode, check_band, refine_alpha

BoolMask = npt.NDArray[np.bool_]
FloatImage = npt.NDArray[np.float32]

MAX_CHATTER_FRAMES = 12  # reduce chatter's reach each side; more would blur real motion and cost more
# A Gaussian sigma of px/2 makes the visible ramp of a feathered edge about px wide on each side of the edge.
_SIGMA_PER_PX = 0.5


def _check_2d(array: np.ndarray, what: str) -> None:
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array (height x width), got shape {array.shape}")


def _check_mask(mask: np.ndarray) -> BoolMask:
    _check_2d(mask, "mask")
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be boolean, got dtype {mask.dtype}")
    return mask


def _check_px(px: float, what: str, allow_negative: bool = False) -> None:
    if not np.isfinite(px) or (px < 0 and not allow_negative):
        sign = "" if allow_negative else " non-negative"
        raise ValueError(f"{what} must be a finite{sign} number of pixels, got {px!r}")


def _check_size(size: tuple[int, int]) -> None:
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"size must be (height, width) with both positive, got {size!r}")


def threshold(logits: np.ndarray, level: float = 0.0) -> BoolMask:
    """Pixels whose logit is above ``level`` (0.0 is SAM2's own decision boundary, probability 0.5)."""
    _check_2d(logits, "logits")
    return np.asarray(logits > level)


def _components(mask: BoolMask) -> tuple[np.ndarray, np.ndarray]:
    """Labels and areas of the 4-connected components of ``mask`` (label 0 is the rest)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    return labels, stats[:count, cv2.CC_STAT_AREA]


def fill_holes(mask: np.ndarray, max_area: int | None = None) -> BoolMask:
    """Fill background regions enclosed by the mask, up to ``max_area`` pixels each (None fills all).

    Regions touching the image border are never holes: they are the outside.
    """
    mask = _check_mask(mask)
    if max_area is not None and max_area < 0:
        raise ValueError(f"max_area must be None or a non-negative pixel count, got {max_area!r}")
    # Background 8-connectivity pairs with the foreground's 4-connectivity, so a diagonal gap is not a hole.
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=8)
    h, w = mask.shape
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right = left + stats[:, cv2.CC_STAT_WIDTH]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
    enclosed = (left > 0) & (top > 0) & (right < w) & (bottom < h)
    if max_area is not None:
        enclosed &= stats[:, cv2.CC_STAT_AREA] <= max_area
    enclosed[0] = False  # label 0 is the foreground itself
    return mask | enclosed[labels]


def remove_islands(mask: np.ndarray, min_area: int) -> BoolMask:
    """Drop foreground specks smaller than ``min_area`` pixels (model noise away from the object)."""
    mask = _check_mask(mask)
    if min_area < 0:
        raise ValueError(f"min_area must be a non-negative pixel count, got {min_area!r}")
    labels, areas = _components(mask)
    keep = areas >= min_area
    keep[0] = False
    return keep[labels]


def grow_shrink(mask: np.ndarray, px: int) -> BoolMask:
    """Grow (px > 0) or shrink (px < 0) the mask by ``|px|`` pixels with a round brush."""
    mask = _check_mask(mask)
    if isinstance(px, bool) or not isinstance(px, int | np.integer):
        raise ValueError(f"grow/shrink must be a whole number of pixels, got {px!r}")
    if px == 0:
        return mask.copy()
    radius = abs(int(px))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    op = cv2.dilate if px > 0 else cv2.erode
    # Outside the image counts as "unchanged" so shrinking does not eat in from the border.
    out = op(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
    return out.astype(bool)


def smooth_edges(mask: np.ndarray, px: float) -> BoolMask:
    """Round off jagged, noisy edges: blur the mask over about ``px`` pixels and cut it at one half.

    Bumps and notches narrower than about ``px`` go; straight and gently curved edges stay where they were.
    """
    _check_px(px, "edge smoothing")
    mask = _check_mask(mask)
    if px == 0:
        return mask.copy()
    return np.asarray(feather(mask, px) >= 0.5)


def reduce_chatter(masks: list[tuple[BoolMask, float]]) -> BoolMask:
    """The weighted per-pixel majority of neighbouring frames' masks (``(mask, weight)`` pairs).

    An edge that jitters from frame to frame settles where most of its neighbours put it, while an edge that
    moves steadily follows them; the result stays a hard mask.
    """
    if not masks:
        raise ValueError("reduce chatter needs at least one frame's mask")
    total = np.zeros(masks[0][0].shape, np.float32)
    for mask, weight in masks:
        total += np.float32(weight) * _check_mask(mask)
    return np.asarray(total >= 0.5 * sum(weight for _, weight in masks))


def _as_alpha(mask_or_alpha: np.ndarray) -> FloatImage:
    _check_2d(mask_or_alpha, "mask")
    if mask_or_alpha.dtype == np.bool_:
        return mask_or_alpha.astype(np.float32)
    if not np.issubdtype(mask_or_alpha.dtype, np.floating):
        raise ValueError(f"expected a boolean mask or a float alpha, got dtype {mask_or_alpha.dtype}")
    return np.clip(mask_or_alpha, 0.0, 1.0).astype(np.float32, copy=False)


def feather(mask_or_alpha: np.ndarray, px: float) -> FloatImage:
    """Soften the edge over about ``px`` pixels each side (Gaussian, sigma px/2); returns alpha in [0, 1]."""
    _check_px(px, "feather")
    alpha = _as_alpha(mask_or_alpha)
    if px == 0:
        return alpha.copy()
    sigma = px * _SIGMA_PER_PX
    ksize = 2 * max(1, math.ceil(3 * sigma)) + 1  # explicit, so tiny sigmas still get a valid kernel
    blurred = cv2.GaussianBlur(alpha, (ksize, ksize), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    return np.clip(blurred, 0.0, 1.0)


def invert(mask_or_alpha: np.ndarray) -> np.ndarray:
    """Swap object and background: ``~mask`` for a boolean mask, ``1 - alpha`` for a float alpha."""
    _check_2d(mask_or_alpha, "mask")
    if mask_or_alpha.dtype == np.bool_:
        return ~mask_or_alpha
    return 1.0 - _as_alpha(mask_or_alpha)


def resize_logits(logits: np.ndarray, size: tuple[int, int]) -> FloatImage:
    """Bilinear upsampling of low-resolution logits to ``size`` (height, width), as SAM2 itself does."""
    _check_2d(logits, "logits")
    _check_size(size)
    as_float = logits.astype(np.float32, copy=False)
    if as_float.shape == tuple(size):
        return as_float
    resized = cv2.resize(as_float, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return np.asarray(resized, dtype=np.float32)


def clean_logits(
    logits: np.ndarray, frame_hw: tuple[int, int], hole_area: int, island_area: int, level: float = 0.0
) -> FloatImage:
    """Fill holes and drop islands on low-resolution logits before upsampling, as SAM2's postprocess_masks does.

    Holes up to `hole_area` are filled and islands smaller than `island_area` dropped (as `fill_holes` and
    `remove_islands`); areas are in frame pixels, scaled to the logits' grid. Filled pixels are pushed 10 above `level`, removed
    ones 10 below, so the bilinear upsampling that follows keeps the decision.
    """
    _check_2d(logits, "logits")
    _check_size(frame_hw)
    if hole_area < 0 or island_area < 0:
        raise ValueError(f"areas must be >= 0 pixels, got holes {hole_area!r}, islands {island_area!r}")
    scale = logits.shape[0] * logits.shape[1] / (frame_hw[0] * frame_hw[1])
    mask = logits > level
    cleaned = mask
    if hole_area:
        cleaned = fill_holes(cleaned, round(hole_area * scale))
    if island_area:
        cleaned = remove_islands(cleaned, round(island_area * scale))
    out = logits.astype(np.float32, copy=True)
    out[cleaned & ~mask] = level + 10.0
    out[mask & ~cleaned] = level - 10.0
    return out


def soft_from_logits(
    logits: np.ndarray, size: tuple[int, int] | None = None, temperature: float = 1.0
) -> FloatImage:
    """Alpha = sigmoid(upsampled logits / temperature).

    Upsampling happens on the logits, not on the probabilities, so the 0.5 contour is exactly the edge of
    the thresholded mask. A temperature above 1 widens the soft edge, below 1 hardens it.
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    upsampled = resize_logits(logits, size) if size is not None else logits.astype(np.float32)
    _check_2d(upsampled, "logits")
    # exp overflows to inf for very negative logits; 1/(1+inf) is the correct limit 0.
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-upsampled / temperature))).astype(np.float32)


@dataclass(frozen=True)
class MatteOps:
    """An ordered matte pipeline, applied the same way in the preview and at export.

    Order: threshold logits -> fill holes -> remove islands -> grow/shrink -> smooth edges -> reduce chatter
    -> soft edges -> refine edge -> feather -> invert. Clean-up runs on the hard mask; soft edges (logits input
    only) then take the sigmoid of the logits wherever clean-up left a pixel unchanged, so filled holes and
    removed islands stay hard. Refine edge (``roto.refine``) re-decides a band of ``refine_band_px`` each side of
    the edge against the frame's picture, so it needs that picture wherever the matte has an edge. Reduce chatter
    needs the neighbouring frames, so only ``MatteSequence`` applies it; ``apply`` works on one frame. Every field
    has a default that changes nothing, so a setting added later reads as "off" from files and settings that
    predate it. ``max_hole_area`` None with ``fill_holes`` fills every hole.
    """

    invert: bool = False
    grow_px: int = 0
    feather_px: float = 0.0
    fill_holes: bool = False
    max_hole_area: int | None = None
    min_island_area: int = 0
    soft_edges: bool = False
    threshold: float = 0.0
    smooth_px: float = 0.0  # edge smoothing, pixels
    chatter_frames: int = 0  # reduce chatter: frames on each side whose masks vote on each edge pixel
    refine: RefineMode = RefineMode.OFF  # refine edge against the frame's picture: off, fast or quality
    refine_band_px: int = 8  # refine edge: pixels each side of the edge that are re-decided

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "refine", RefineMode(self.refine))  # a project file gives it as text
        except ValueError:
            modes = ", ".join(mode.value for mode in RefineMode)
            raise ValueError(f"refine edge must be one of {modes}, got {self.refine!r}") from None
        check_band(self.refine_band_px)
        for name in ("grow_px", "chatter_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{_LABELS[name]} must be a whole number, got {value!r}")
        _check_px(self.feather_px, "feather")
        _check_px(self.smooth_px, "edge smoothing")
        if not 0 <= self.chatter_frames <= MAX_CHATTER_FRAMES:
            raise ValueError(
                f"reduce chatter must be 0 to {MAX_CHATTER_FRAMES} frames each side, got {self.chatter_frames!r}"
            )
        if self.max_hole_area is not None and self.max_hole_area < 0:
            raise ValueError(f"max hole area must be None or non-negative, got {self.max_hole_area!r}")
        if self.min_island_area < 0:
            raise ValueError(f"minimum island area must be non-negative, got {self.min_island_area!r}")
        if not np.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite logit, got {self.threshold!r}")

    def changed(self) -> dict[str, object]:
        """The settings that differ from the defaults (what a project file stores)."""
        default = MatteOps()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def apply(
        self,
        mask_or_logits: np.ndarray,
        size: tuple[int, int] | None = None,
        picture: np.ndarray | None = None,
    ) -> FloatImage:
        """Run the pipeline on a boolean mask or float logits; returns float32 alpha in [0, 1].

        ``size`` (height, width) is the output size: logits are upsampled to it; a mask must already match.
        ``picture``: the frame, which refine edge needs. One frame only: reduce chatter is left out
        (``MatteSequence`` applies it).
        """
        frame = self.clean(mask_or_logits, size)
        return self.finish(frame, frame.mask, picture)

    def clean(self, mask_or_logits: np.ndarray, size: tuple[int, int] | None = None) -> CleanFrame:
        """The per-frame part: threshold, fill holes, remove islands, grow/shrink, smooth edges."""
        _check_2d(mask_or_logits, "mask")
        if size is not None:
            _check_size(size)
        logits: FloatImage | None = None
        if np.issubdtype(mask_or_logits.dtype, np.floating):
            logits = resize_logits(mask_or_logits, size or mask_or_logits.shape)
            raw = threshold(logits, self.threshold)
        elif mask_or_logits.dtype == np.bool_:
            if size is not None and mask_or_logits.shape != tuple(size):
                raise ValueError(f"mask shape {mask_or_logits.shape} does not match the frame size {size}")
            raw = mask_or_logits
        else:
            raise ValueError(f"expected a boolean mask or float logits, got dtype {mask_or_logits.dtype}")

        mask = raw
        if self.fill_holes:
            mask = fill_holes(mask, self.max_hole_area)
        if self.min_island_area:
            mask = remove_islands(mask, self.min_island_area)
        if self.grow_px:
            mask = grow_shrink(mask, self.grow_px)
        if self.smooth_px:
            mask = smooth_edges(mask, self.smooth_px)
        return CleanFrame(raw, mask, logits)

    def finish(self, frame: CleanFrame, mask: BoolMask, picture: np.ndarray | None = None) -> FloatImage:
        """The rest, on ``mask`` (the cleaned mask, or its chatter-reduced version): soft edges, refine edge
        (against ``picture``), feather, invert. A mask with no edge (empty or full) has nothing to refine."""
        alpha = mask.astype(np.float32)
        if self.soft_edges and frame.logits is not None:
            soft = soft_from_logits(frame.logits - self.threshold)
            alpha = np.where(mask == frame.raw, soft, alpha)
        if self.refine is not RefineMode.OFF and mask.any() and not mask.all():
            if picture is None:
                raise ValueError("refine edge needs the frame's picture, and there is none for this frame")
            alpha = refine_alpha(picture, alpha, self.refine, self.refine_band_px)
        if self.feather_px:
            alpha = feather(alpha, self.feather_px)
        if self.invert:
            alpha = 1.0 - alpha
        return alpha.astype(np.float32, copy=False)


_LABELS = {"grow_px": "grow/shrink", "chatter_frames": "reduce chatter"}
PictureReader = Callable[[int], np.ndarray | None]


@dataclass(frozen=True)
class CleanFrame:
    """One frame after the per-frame clean-up: the thresholded input, the cleaned mask, the logits if any."""

    raw: BoolMask
    mask: BoolMask
    logits: FloatImage | None


MaskReader = Callable[[int], np.ndarray | None]


class CleanCache(ByteLRU[Hashable, CleanFrame]):
    """Cleaned frames shared by the MatteSequences of a preview, keyed by what names a frame's mask (its digest in
    the project's store) and the settings: a frame shown again, or a neighbour reused by reduce chatter, is not
    cleaned again. Bounded by bytes, least recently used first out."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        super().__init__(max_bytes, _size)


def _size(frame: CleanFrame) -> int:
    return frame.raw.nbytes + frame.mask.nbytes + (frame.logits.nbytes if frame.logits is not None else 0)


class MatteSequence:
    """One object's mattes through a shot: ``MatteOps`` per frame plus reduce chatter across neighbours.

    ``read(index)`` gives the frame's mask or logits (None: no mask there); ``picture(index)`` the frame itself,
    read only when refine edge is on. A frame without a mask stays without one (``alpha`` returns None) and
    takes no part in its neighbours' vote. Cleaned frames are kept for
    the window of ``2 * chatter_frames + 2`` frames last used, so walking the shot cleans each frame once.
    Frame ``index`` votes with weight ``chatter_frames + 1 - distance``: nearer frames count more.
    """

    def __init__(
        self,
        ops: MatteOps,
        read: MaskReader,
        frame_count: int,
        size: tuple[int, int] | None = None,
        shared: tuple[CleanCache, Callable[[int], Hashable]] | None = None,
        picture: PictureReader | None = None,
    ) -> None:
        """`shared`: a CleanCache and the key naming frame `index`'s mask there (None: that frame has none)."""
        self.ops, self._read, self._count, self._size, self._shared = ops, read, frame_count, size, shared
        self._picture = picture
        self._cache: OrderedDict[int, CleanFrame | None] = OrderedDict()

    def _clean(self, index: int) -> CleanFrame | None:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        frame = self._clean_shared(index) if self._shared is not None else self._clean_read(index)
        self._cache[index] = frame
        while len(self._cache) > 2 * self.ops.chatter_frames + 2:
            self._cache.popitem(last=False)
        return frame

    def _clean_read(self, index: int) -> CleanFrame | None:
        data = self._read(index)
        return None if data is None else self.ops.clean(np.asarray(data), self._size)

    def _clean_shared(self, index: int) -> CleanFrame | None:
        assert self._shared is not None
        cache, key_of = self._shared
        name = key_of(index)
        if name is None:
            return None
        key = (name, self.ops, self._size)
        frame = cache.get(key)
        if frame is None:
            frame = self._clean_read(index)
            if frame is not None:
                cache.put(key, frame)
        return frame

    def alpha(self, index: int) -> FloatImage | None:
        """Float32 alpha in [0, 1] of frame ``index``, or None when that frame has no mask."""
        frame = self._clean(index)
        if frame is None:
            return None
        radius = self.ops.chatter_frames
        mask = frame.mask
        if radius:
            votes = []
            for other in range(max(0, index - radius), min(self._count, index + radius + 1)):
                neighbour = self._clean(other)
                if neighbour is not None:
                    votes.append((neighbour.mask, float(radius + 1 - abs(other - index))))
            mask = reduce_chatter(votes)
        return self.ops.finish(frame, mask, self.picture(index))

    def picture(self, index: int) -> np.ndarray | None:
        """Frame ``index``'s picture when refine edge needs it (None when it is off or there is no reader)."""
        if self.ops.refine is RefineMode.OFF or self._picture is None:
            return None
        return self._picture(index)
