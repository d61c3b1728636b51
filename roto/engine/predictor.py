"""The image path: a frame is encoded once, then every click or box runs only the small prompt decoder.

Mirrors Meta's SAM2ImagePredictor (same preprocessing, prompt encoding, multimask choice and stability
fallback, same upsampling) on the bundle's ONNX graphs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from roto.engine.bundle import Bundle
from roto.engine.device import BoundGraph, Tensor
from roto.engine.embeddings import EmbeddingCache, EmbeddingKey, FrameEmbedding
from roto.engine.session import RuntimeOptions
from roto.engine.settings import Sam2Settings
from roto.engine.transforms import check_frame, preprocess_session, prompts_to_model, validate_prompts
from roto.errors import PromptError
from roto.matte import clean_logits, resize_logits

if TYPE_CHECKING:
    from roto.engine.service import Sam2Graphs

EMBEDDING_OUTPUTS = ("image_embed", "high_res_feats_0", "high_res_feats_1")
LOGIT_CLAMP = 32.0  # Meta clamps the low-res logits it hands back for refinement


@dataclass(frozen=True)
class DecoderOutput:
    """Raw prompt-decoder outputs for all four mask tokens (token 0: single mask, 1-3: multimask)."""

    masks: np.ndarray  # (4, h, w) low-res logits
    iou: np.ndarray  # (4,)
    object_score: float
    obj_ptrs: np.ndarray  # (4, hidden)


@dataclass(frozen=True)
class Prediction:
    """Candidate masks for one prompt; masks are upsampled to the frame only when asked for."""

    low_res_logits: np.ndarray  # (K, h, w), unclamped
    scores: np.ndarray  # (K,) predicted IoU
    frame_hw: tuple[int, int]
    threshold: float = 0.0

    @property
    def best(self) -> int:
        return int(np.argmax(self.scores))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def logits(self, index: int | None = None, hole_area: int = 0, island_area: int = 0) -> np.ndarray:
        """Full-resolution logits of one candidate (the best by default).

        Holes up to `hole_area` and islands under `island_area` (frame pixels) are removed first, on the low-resolution
        logits as SAM2's own post-processing does: near free, where doing it at 4K would cost more than the decoder.
        """
        index = self.best if index is None else index
        low = self.low_res_logits[index]
        if hole_area or island_area:
            low = clean_logits(low, self.frame_hw, hole_area, island_area, self.threshold)
        return resize_logits(low, self.frame_hw)

    def mask(self, index: int | None = None, hole_area: int = 0, island_area: int = 0) -> np.ndarray:
        """Full-resolution boolean mask of one candidate (the best by default); see `logits` for the areas."""
        return self.logits(index, hole_area, island_area) > self.threshold

    def mask_input(self, index: int | None = None) -> np.ndarray:
        """Low-res logits of one candidate, clamped as Meta does, ready to pass back as `mask_input`."""
        index = self.best if index is None else index
        return np.clip(self.low_res_logits[index], -LOGIT_CLAMP, LOGIT_CLAMP)


def stability_scores(logits: np.ndarray, delta: float) -> np.ndarray:
    """SAM2's stability: IoU of the mask thresholded at +delta and at -delta, per mask."""
    flat = logits.reshape(logits.shape[0], -1)
    inner = (flat > delta).sum(axis=1).astype(np.float32)
    outer = (flat > -delta).sum(axis=1).astype(np.float32)
    return np.where(outer > 0, inner / np.maximum(outer, 1), 1.0)


def select_masks(
    out: DecoderOutput, multimask: bool, settings: Sam2Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Pick the mask tokens Meta's MaskDecoder returns: tokens 1-3, or token 0 with the stability fallback."""
    return select_tokens(out.masks, out.iou, multimask, settings)


def select_tokens(
    masks: np.ndarray, iou: np.ndarray, multimask: bool, settings: Sam2Settings
) -> tuple[np.ndarray, np.ndarray]:
    """`select_masks` on the four tokens' low-res logits (4, h, w) and predicted IoU (4,)."""
    if multimask:
        return masks[1:], iou[1:]
    if settings.dynamic_multimask_via_stability:
        stable = stability_scores(masks[:1], settings.dynamic_multimask_stability_delta)[0]
        if stable < settings.dynamic_multimask_stability_thresh:
            best = 1 + int(np.argmax(iou[1:]))
            return masks[best : best + 1], iou[best : best + 1]
    return masks[:1], iou[:1]


class PromptDecoder:
    """Runs the prompt-decoder graph's session; shared by clicks and video propagation (see service.Sam2Graphs)."""

    def __init__(self, graph: BoundGraph, settings: Sam2Settings) -> None:
        self.graph = graph
        self.session = graph.session
        self.settings = settings
        self.mask_side = settings.mask_side  # low-res mask grid: the side of mask_input and of the masks
        self._no_mask = np.zeros((1, 1, self.mask_side, self.mask_side), np.float32)

    def __call__(
        self,
        embedding: FrameEmbedding,
        coords: np.ndarray,
        labels: np.ndarray,
        mask_input: np.ndarray | None = None,
        features: Tensor | None = None,
    ) -> DecoderOutput:
        """`features` replaces the frame's own (memory-conditioned features in video); else no-memory embedding.
        Every output comes to the host: they are small (low-res logits, scores, pointers)."""
        feeds = self.feeds(embedding, coords, labels, mask_input, features)
        masks, iou, object_score, obj_ptrs = self.graph.run(feeds)
        return DecoderOutput(masks[0], iou[0], float(object_score.reshape(-1)[0]), obj_ptrs[0])

    def feeds(
        self,
        embedding: FrameEmbedding,
        coords: np.ndarray,
        labels: np.ndarray,
        mask_input: np.ndarray | None = None,
        features: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """The graph's inputs for these prompts (also what `split_decoder.SplitDecoder` runs on)."""
        if mask_input is not None:
            mask_input = np.asarray(mask_input, np.float32).reshape(self._no_mask.shape)
        return {
            "image_embed": embedding.image_embed if features is None else features,
            "high_res_feats_0": embedding.high_res_feats_0,
            "high_res_feats_1": embedding.high_res_feats_1,
            "point_coords": coords,
            "point_labels": labels,
            "mask_input": self._no_mask if mask_input is None else mask_input,
            "has_mask_input": np.array([0.0 if mask_input is None else 1.0], np.float32),
            "no_memory": np.array([1.0 if features is None else 0.0], np.float32),
        }


class ImageEncoder:
    """Runs the image-encoder graph's session, through an embedding cache when a key and a cache are given."""

    def __init__(self, graph: BoundGraph, bundle: Bundle, threads: int) -> None:
        self.graph = graph
        self.session = graph.session
        self.settings = bundle.settings
        s = bundle.settings
        gpu = graph.device != "cpu"
        pre = preprocess_session(s.image_size, s.pixel_mean, s.pixel_std, threads, gpu)
        self.preprocess = BoundGraph(pre, graph.keep_on_device)
        self.model_key = bundle.model_key()
        self.runs = 0  # encoder runs so far (cache hits excluded): for tests and benchmarks
        self._lock = threading.Lock()  # one encode at a time: ORT already uses every core

    def key(self, media_id: str, frame: int) -> EmbeddingKey:
        return EmbeddingKey(media_id, frame, self.model_key)

    def encode(
        self, read: Callable[[], np.ndarray], key: EmbeddingKey | None, cache: EmbeddingCache | None
    ) -> FrameEmbedding:
        """The embedding under `key` from `cache`, else encode `read()` (the frame is read only on a miss)."""
        if key is not None and cache is not None:
            cached = cache.get(key)
            if cached is not None:
                return cached
        rgb = check_frame(read())
        (image,) = self.preprocess.run({"rgb": rgb}, keep=("image",))  # stays on the device for the encoder
        with self._lock:
            image_embed, feats_0, feats_1 = self.graph.run({"image": image}, keep=EMBEDDING_OUTPUTS)
            self.runs += 1
        embedding = FrameEmbedding(image_embed, feats_0, feats_1, (int(rgb.shape[0]), int(rgb.shape[1])))
        if key is not None and cache is not None:
            cache.put(key, embedding)
        return embedding

    def __call__(
        self, rgb: np.ndarray, key: EmbeddingKey | None = None, cache: EmbeddingCache | None = None
    ) -> FrameEmbedding:
        return self.encode(lambda: rgb, key, cache)


def decode_prompts(
    decoder: PromptDecoder,
    embedding: FrameEmbedding,
    points: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    box: np.ndarray | None = None,
    mask_input: np.ndarray | None = None,
    multimask: bool = True,
) -> Prediction:
    """Masks for points (x, y in frame pixels; label 1 include, 0 exclude) and/or a box (x0, y0, x1, y1)."""
    settings = decoder.settings
    frame_hw = embedding.frame_hw
    pts, lbl, bx = validate_prompts(points, labels, box, frame_hw)
    if mask_input is not None:
        mask_input = np.asarray(mask_input, np.float32)
        side = decoder.mask_side
        if mask_input.size != side * side or not np.all(np.isfinite(mask_input)):
            raise PromptError(
                f"mask_input must be finite low-res logits of {side}x{side}, got {mask_input.shape}"
            )
    coords, codes = prompts_to_model(pts, lbl, bx, frame_hw, settings.image_size)
    out = decoder(embedding, coords, codes, mask_input)
    masks, scores = select_masks(out, multimask, settings)
    return Prediction(masks, scores, frame_hw, settings.mask_threshold)


class ImagePredictor:
    """Click-to-mask on single frames: `set_frame` once (cached), then `predict` per prompt.

    Runs on a bundle's shared `Sam2Graphs`; `ImagePredictor.open` opens graphs of its own for one-off use
    (tests, scripts). The editor and the CLI go through `roto.engine.service.EngineService`.
    """

    def __init__(self, graphs: Sam2Graphs, cache: EmbeddingCache | None = None) -> None:
        self.graphs = graphs
        self.bundle = graphs.bundle
        self.settings = graphs.settings
        self.report = graphs.report
        self.encoder = graphs.encoder
        self.decoder = graphs.decoder
        self.cache = cache
        self._embedding: FrameEmbedding | None = None

    @classmethod
    def open(
        cls, bundle: Bundle, options: RuntimeOptions | None = None, cache: EmbeddingCache | None = None
    ) -> ImagePredictor:
        """A predictor with sessions of its own (not shared with anything else)."""
        from roto.engine.service import Sam2Graphs

        return cls(Sam2Graphs(bundle, options), cache)

    def set_frame(self, rgb: np.ndarray, media_id: str | None = None, frame: int = 0) -> FrameEmbedding:
        """Encode a frame (or fetch it from the cache when `media_id` names it) and make it current."""
        key = self.encoder.key(media_id, frame) if media_id is not None else None
        self._embedding = self.encoder(rgb, key, self.cache)
        return self._embedding

    def predict(
        self,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """Masks for points (x, y in frame pixels; label 1 include, 0 exclude) and/or a box (x0, y0, x1, y1)."""
        if self._embedding is None:
            raise PromptError("no frame is set: call set_frame before predicting")
        return decode_prompts(self.decoder, self._embedding, points, labels, box, mask_input, multimask)
