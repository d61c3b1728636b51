"""Segment everything: object proposals from a grid of point prompts, as Meta's SAM2AutomaticMaskGenerator.

Follows `sam2/automatic_mask_generator.py` and `sam2/utils/amg.py` step by step (grids, crops, IoU and stability
filters, crop-edge filter, box NMS within and across crops, optional mask-to-mask refinement) on a bundle's
graphs through `EngineService`. Three things differ, none in the result: the prompt decoder takes one prompt per
run (the graph has no batch dimension), so each batch of `points_per_batch` points is decoded one run per point,
spread over the CPU's cores; the decoder runs cut in three (`split_decoder`): its prompt-independent part once per
crop, and masks only for points with a candidate that passes the predicted-IoU filter; and a candidate is upsampled
to the frame only after that filter, where Meta upsamples every candidate.
`min_mask_region_area` is applied as SAM2 applies it: holes and islands up to that area (in cells of the
decoder's low-resolution mask grid) are cleaned before upsampling (Meta's CPU build skips this step silently).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from itertools import product
from typing import Any

import numpy as np

from roto.engine.embeddings import FrameEmbedding
from roto.engine.predictor import LOGIT_CLAMP, select_masks, select_tokens
from roto.engine.propagator import FrameReader
from roto.engine.service import EngineService, StillImage
from roto.engine.split_decoder import Frame, SplitDecoder
from roto.engine.transforms import prompts_to_model
from roto.errors import PromptError, RotoError
from roto.matte import clean_logits, resize_logits

EDGE_TOLERANCE = (
    20.0  # px: a box this close to a crop's inner edge is cut by the crop (amg.is_box_near_crop_edge)
)


Box = tuple[int, int, int, int]


class Cancelled(RotoError):
    """Raised when the caller's `cancel()` asked to stop; nothing partial is returned."""


@dataclass(frozen=True)
class AutomaskParams:
    """SAM2AutomaticMaskGenerator's parameters with its defaults (point_grids and output_mode are not offered)."""

    points_per_side: int = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.8
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0
    mask_threshold: float = 0.0
    box_nms_thresh: float = 0.7
    crop_n_layers: int = 0
    crop_nms_thresh: float = 0.7
    crop_overlap_ratio: float = 512 / 1500
    crop_n_points_downscale_factor: int = 1
    min_mask_region_area: int = 0
    multimask_output: bool = True
    use_m2m: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value: float = getattr(self, f.name)
            kinds: tuple[type, ...] = {"bool": (bool,), "int": (int,), "float": (int, float)}[str(f.type)]
            if isinstance(value, bool) != (f.type == "bool") or not isinstance(value, kinds):
                raise PromptError(f"automask {f.name} must be of type {f.type}, not {value!r}")
            if not math.isfinite(float(value)):
                raise PromptError(f"automask {f.name} must be a finite number, not {value!r}")
        for name in ("points_per_side", "points_per_batch", "crop_n_points_downscale_factor"):
            if getattr(self, name) < 1:
                raise PromptError(f"automask {name} must be at least 1, not {getattr(self, name)!r}")
        for name in ("crop_n_layers", "min_mask_region_area", "stability_score_offset"):
            if getattr(self, name) < 0:
                raise PromptError(f"automask {name} must be at least 0, not {getattr(self, name)!r}")
        for name in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh", "crop_nms_thresh"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise PromptError(f"automask {name} must be between 0 and 1, not {getattr(self, name)!r}")
        if not 0.0 <= self.crop_overlap_ratio < 1.0:
            raise PromptError(
                f"automask crop_overlap_ratio must be in [0, 1), not {self.crop_overlap_ratio!r}"
            )
        if self.points_per_side // self.crop_n_points_downscale_factor**self.crop_n_layers < 1:
            raise PromptError(
                f"automask: {self.crop_n_layers} crop layers downscaled by {self.crop_n_points_downscale_factor} "
                f"leave no points of {self.points_per_side} per side"
            )


@dataclass(frozen=True)
class Proposal:
    """One proposed object on the frame: Meta's annotation record with the mask as a frame-size bool array."""

    mask: np.ndarray  # (H, W) bool
    box: Box  # x0, y0, x1, y1: first and last pixel column and row of the mask (Meta's XYXY)
    area: int
    predicted_iou: float
    stability_score: float
    point: tuple[float, float]  # the grid point (frame pixels) that prompted it
    crop_box: Box  # x0, y0, x1, y1 of the crop it was found in


@dataclass
class _Candidate:
    low_res: np.ndarray  # (h, w) logits, cleaned when asked: the mask is their upsampling to the crop
    iou: float
    stability: float
    point: tuple[float, float]  # frame pixels
    box: Box  # frame pixels
    crop_box: Box


def point_grid(per_side: int) -> np.ndarray:
    """(per_side**2, 2) points x, y evenly spaced in [0, 1], row by row (amg.build_point_grid)."""
    offset = 1 / (2 * per_side)
    side = np.linspace(offset, 1 - offset, per_side)
    return np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)


def crop_boxes(frame_hw: tuple[int, int], n_layers: int, overlap_ratio: float) -> list[tuple[Box, int]]:
    """The whole frame, then (2**i)**2 overlapping crops for layer i, each with its layer (amg.generate_crop_boxes)."""
    height, width = frame_hw
    boxes: list[tuple[Box, int]] = [((0, 0, width, height), 0)]
    for layer in range(n_layers):
        per_side = 2 ** (layer + 1)
        overlap = int(overlap_ratio * min(height, width) * (2 / per_side))
        crop_w = math.ceil((overlap * (per_side - 1) + width) / per_side)
        crop_h = math.ceil((overlap * (per_side - 1) + height) / per_side)
        xs = [(crop_w - overlap) * i for i in range(per_side)]
        ys = [(crop_h - overlap) * i for i in range(per_side)]
        for x0, y0 in product(xs, ys):
            boxes.append(((x0, y0, min(x0 + crop_w, width), min(y0 + crop_h, height)), layer + 1))
    return boxes


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS, best score first: torchvision's nms (float32, ties in input order)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float32), kind="stable")
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0) * (y1 - y0)
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for position, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[position + 1 :]
        w = np.maximum(np.float32(0), np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        h = np.maximum(np.float32(0), np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[iou > iou_threshold]] = True
    return np.array(keep, np.int64)


def mask_box(mask: np.ndarray) -> Box:
    """x0, y0, x1, y1 of the mask's first and last column and row; zeros for an empty mask (amg.batched_mask_to_box)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1]))


def _near_crop_edge(box: Box, crop_box: Box, frame_box: Box) -> bool:
    """Whether the box touches an inner edge of the crop, one that is not the frame's edge."""
    near_crop = np.abs(np.subtract(box, crop_box)) <= EDGE_TOLERANCE
    near_frame = np.abs(np.subtract(box, frame_box)) <= EDGE_TOLERANCE
    return bool(np.any(near_crop & ~near_frame))


def _stability(logits: np.ndarray, threshold: float, offset: float) -> float:
    """IoU of the mask cut at threshold + offset and at threshold - offset (amg.calculate_stability_score)."""
    inner = np.count_nonzero(logits > threshold + offset)
    outer = np.count_nonzero(logits > threshold - offset)
    return float(np.float32(inner) / np.float32(outer)) if outer else math.nan


class _CropDecoder:
    """Decodes grid points on one encoded crop, one prompt per run of the decoder graph, a batch at a time.

    Without m2m it runs the decoder cut in three (`split_decoder.SplitDecoder`): the prompt-independent part once for
    the crop, then per point the IoU part and, with multimask output and an IoU filter (Meta's defaults), the masks
    only for a point with a candidate that passes the filter; the points of a batch are spread over the split
    decoder's workers. The candidates are the same as the whole graph's.
    """

    def __init__(self, service: EngineService, embedding: FrameEmbedding, params: AutomaskParams) -> None:
        self.decoder = service.graphs.decoder
        self.settings = service.settings
        self.embedding = embedding
        self.params = params
        # m2m feeds each candidate back as a mask input, which the cut takes as the frame's: the whole graph then
        self.split = None if params.use_m2m else service.graphs.split_decoder
        self.frame: Frame | None = None  # the split decoder's frame part, run at the first batch

    def _prompt(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One include point in crop pixels as the decoder's coordinates and labels."""
        return prompts_to_model(
            point.reshape(1, 2).astype(np.float32),
            np.ones(1, np.int64),
            None,
            self.embedding.frame_hw,
            self.settings.image_size,
        )

    def decode(
        self, point: np.ndarray, mask_input: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Low-res logits (K, h, w) and predicted IoU (K,) for one include point in crop pixels."""
        out = self.decoder(self.embedding, *self._prompt(point), mask_input)
        multimask = self.params.multimask_output and mask_input is None
        return select_masks(out, multimask, self.settings)

    def each(self, points: np.ndarray) -> Iterator[tuple[np.ndarray, list[tuple[np.ndarray, float]]]]:
        """Each point with its candidates, decoded `points_per_batch` points at a time (lazily, batch by batch)."""
        per_batch = self.params.points_per_batch
        for start in range(0, len(points), per_batch):
            batch = points[start : start + per_batch]
            yield from zip(batch, self.batch(batch), strict=True)

    def batch(self, points: np.ndarray) -> list[list[tuple[np.ndarray, float]]]:
        """(low-res logits, predicted IoU) per candidate mask of each point, refined once by m2m when asked."""
        if self.split is not None:
            return self._split_batch(self.split, points)
        return [list(self._candidates(point)) for point in points]

    def _candidates(self, point: np.ndarray) -> Iterator[tuple[np.ndarray, float]]:
        masks, scores = self.decode(point)
        for low, score in zip(masks, scores, strict=True):
            if self.params.use_m2m:
                refined, refined_score = self.decode(point, np.clip(low, -LOGIT_CLAMP, LOGIT_CLAMP))
                low, score = refined[0], refined_score[0]
            yield low, float(score)

    def _split_batch(self, split: SplitDecoder, points: np.ndarray) -> list[list[tuple[np.ndarray, float]]]:
        """The candidates (as `select_masks`); with multimask output, masks decoded only if one passes the filter."""
        feeds = [self.decoder.feeds(self.embedding, *self._prompt(point)) for point in points]
        if self.frame is None:
            self.frame = split.prepare(feeds[0])
        frame = self.frame

        multimask, threshold = self.params.multimask_output, self.params.pred_iou_thresh

        def decode(point_feeds: dict[str, Any]) -> list[tuple[np.ndarray, float]]:
            iou, carried = split.iou(point_feeds, frame)
            if multimask and threshold > 0.0 and not np.any(iou[0][1:] > threshold):
                return []  # every candidate fails the IoU filter: its masks are never looked at
            masks = split.masks(point_feeds, frame, carried)[0]
            lows, scores = select_tokens(masks, iou[0], multimask, self.settings)
            return [(low, float(score)) for low, score in zip(lows, scores, strict=True)]

        return split.map_runs(decode, feeds)


def _clean(low: np.ndarray, params: AutomaskParams, level: float) -> np.ndarray:
    """SAM2's postprocess_masks: holes and islands of at most min_mask_region_area low-res cells cleaned."""
    area = params.min_mask_region_area
    if not area:
        return low
    return clean_logits(low, (low.shape[0], low.shape[1]), area, area + 1, level)


def _process_crop(
    service: EngineService,
    embedding: FrameEmbedding,
    crop_box: Box,
    grid: np.ndarray,
    frame_hw: tuple[int, int],
    params: AutomaskParams,
    step: Callable[[], None],
) -> list[_Candidate]:
    """One crop's candidates that pass the filters, after box NMS within the crop (Meta's _process_crop)."""
    crop_hw = embedding.frame_hw
    x_off, y_off = crop_box[0], crop_box[1]
    frame_box: Box = (0, 0, frame_hw[1], frame_hw[0])
    decoder = _CropDecoder(service, embedding, params)
    level = service.settings.mask_threshold
    points = (grid * np.array(crop_hw)[None, ::-1]).astype(np.float32)
    found: list[_Candidate] = []
    for point, candidates in decoder.each(points):
        for low, iou in candidates:
            if params.pred_iou_thresh > 0.0 and not iou > params.pred_iou_thresh:
                continue
            low = _clean(low, params, level)
            logits = resize_logits(low, crop_hw)
            stability = _stability(logits, params.mask_threshold, params.stability_score_offset)
            if params.stability_score_thresh > 0.0 and not stability >= params.stability_score_thresh:
                continue
            x0, y0, x1, y1 = mask_box(logits > params.mask_threshold)
            box = (x0 + x_off, y0 + y_off, x1 + x_off, y1 + y_off)
            if _near_crop_edge(box, crop_box, frame_box):
                continue
            frame_point = (float(point[0]) + x_off, float(point[1]) + y_off)
            found.append(_Candidate(low, iou, stability, frame_point, box, crop_box))
        step()
    if not found:
        return []
    keep = box_nms(np.array([c.box for c in found]), np.array([c.iou for c in found]), params.box_nms_thresh)
    return [found[i] for i in keep]


def _frame_mask(candidate: _Candidate, frame_hw: tuple[int, int], threshold: float) -> np.ndarray:
    """The candidate's mask on the whole frame (its crop's upsampled logits placed at the crop)."""
    x0, y0, x1, y1 = candidate.crop_box
    crop = resize_logits(candidate.low_res, (y1 - y0, x1 - x0)) > threshold
    if (x0, y0, x1, y1) == (0, 0, frame_hw[1], frame_hw[0]):
        return crop
    mask = np.zeros(frame_hw, bool)
    mask[y0:y1, x0:x1] = crop
    return mask


def generate_proposals(
    service: EngineService,
    reader: FrameReader,
    frame: int,
    params: AutomaskParams | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[Proposal]:
    """Every object proposal on one frame, in Meta's order (best predicted IoU first within the whole frame).

    The whole frame's embedding comes through the service's cache (a frame the editor already encoded is not
    encoded again); crops are encoded as images of their own. `progress(done, total)` counts grid points;
    `cancel()` returning True between points raises `Cancelled`.
    """
    params = params or AutomaskParams()
    whole = service.encode(reader, frame)
    crops = crop_boxes(whole.frame_hw, params.crop_n_layers, params.crop_overlap_ratio)
    frame_hw = (crops[0][0][3], crops[0][0][2])
    grids = [
        point_grid(int(params.points_per_side / params.crop_n_points_downscale_factor**layer))
        for layer in range(params.crop_n_layers + 1)
    ]
    total = sum(len(grids[layer]) for _, layer in crops)
    done = 0

    def step() -> None:
        nonlocal done
        if cancel is not None and cancel():
            raise Cancelled("segment everything was cancelled")
        done += 1
        if progress is not None:
            progress(done, total)

    found: list[_Candidate] = []
    for crop_box, layer in crops:
        if layer == 0:
            embedding = whole
        else:
            x0, y0, x1, y1 = crop_box
            embedding = service.encode(StillImage(np.ascontiguousarray(reader.read(frame)[y0:y1, x0:x1])), 0)
        found.extend(_process_crop(service, embedding, crop_box, grids[layer], frame_hw, params, step))
    if len(crops) > 1 and found:
        areas = np.array([(c.crop_box[2] - c.crop_box[0]) * (c.crop_box[3] - c.crop_box[1]) for c in found])
        keep = box_nms(np.array([c.box for c in found]), 1 / areas.astype(np.float32), params.crop_nms_thresh)
        found = [found[i] for i in keep]
    proposals = []
    for candidate in found:
        mask = _frame_mask(candidate, frame_hw, params.mask_threshold)
        proposals.append(
            Proposal(
                mask,
                candidate.box,
                int(np.count_nonzero(mask)),
                candidate.iou,
                candidate.stability,
                candidate.point,
                candidate.crop_box,
            )
        )
    return proposals
