"""The video path: SAM2's memory bank over a shot, on the bundle's ONNX graphs, in bounded memory.

Semantics follow Meta's SAM2VideoPredictor (with `add_all_frames_to_correct_as_cond=True`): frames with prompts
are conditioning memories; tracked frames fill a bank of the most recent memories with temporal position
encodings; object pointers of recent frames and the object-presence score carry identity, and an object judged
absent gets an empty mask. Differences, all for bounded memory on long shots:

- frames are read and encoded as tracking reaches them (through the shared embedding cache), never preloaded;
- each frame's memory and low-res logits live in a `SpillStore`: the most recently used few in RAM, the rest in
  a private temp folder, so every memory SAM2 may read stays reachable while RAM stays flat; object pointers (one
  vector per frame), scores and directions are the only per-frame records held in RAM;
- masks are handed to the caller as they are produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from roto.engine.bundle import Bundle
from roto.engine.device import BoundGraph, Tensor, bf16_round_on, concat_on
from roto.engine.embeddings import EmbeddingCache, FrameEmbedding
from roto.engine.predictor import LOGIT_CLAMP, select_masks
from roto.engine.session import RuntimeOptions
from roto.engine.spill import SpillStore
from roto.engine.transforms import prompts_to_model, resize_plane, validate_mask, validate_prompts
from roto.errors import PromptError
from roto.matte import fill_holes, resize_logits

if TYPE_CHECKING:
    from roto.engine.service import Sam2Graphs

NO_OBJ_SCORE = -1024.0  # SAM2's logit for "object absent"


class FrameReader(Protocol):
    """What propagation needs from media: roto.media sources satisfy it."""

    @property
    def frame_count(self) -> int: ...

    @property
    def media_id(self) -> str: ...

    def read(self, index: int) -> np.ndarray: ...


def bf16_round(x: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 precision (nearest even), as SAM2 stores memories in bfloat16."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return rounded.view(np.float32)


@dataclass(frozen=True)
class FrameOutput:
    """One object's per-frame record kept in RAM; its memory and logits are in the propagator's spill stores."""

    obj_ptr: np.ndarray  # (hidden,)
    object_score: float


@dataclass
class ObjectTrack:
    """Everything propagation remembers about one object."""

    # frame -> (coords, labels) of points and box, or None for a painted mask (kept only as its logits, spilled)
    prompts: dict[int, tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict)
    cond: dict[int, FrameOutput] = field(default_factory=dict)
    tracked: dict[int, FrameOutput] = field(default_factory=dict)  # non-conditioning frames
    reverse: dict[int, bool] = field(default_factory=dict)  # frames tracked so far and their direction
    pending: set[int] = field(default_factory=set)  # prompted frames whose memory is not encoded yet


@dataclass(frozen=True)
class FrameResult:
    """Masks of every requested object on one frame, as low-res logits; upsampled on request."""

    frame: int
    logits: dict[int, np.ndarray]
    object_scores: dict[int, float]
    frame_hw: tuple[int, int]

    def mask(self, obj_id: int) -> np.ndarray:
        return resize_logits(self.logits[obj_id], self.frame_hw) > 0.0


class VideoPropagator:
    """Prompts on any frames of a shot, then propagation forward or backward for several objects at once."""

    def __init__(
        self,
        graphs: Sam2Graphs,
        reader: FrameReader,
        cache: EmbeddingCache | None = None,
        fill_hole_area: int = 8,
        binarize_prompted_masks: bool = True,
        memory_frames: int = 16,
        logit_frames: int = 16,
    ) -> None:
        """Per-shot state over a bundle's shared sessions (`EngineService.video` builds one)."""
        self.graphs = graphs
        self.bundle = graphs.bundle
        self.reader = reader
        self.settings = graphs.settings
        self.cache = cache
        self.num_frames = int(reader.frame_count)
        if self.num_frames < 1:
            raise PromptError("the shot has no frames")
        self.fill_hole_area = fill_hole_area
        self.binarize_prompted_masks = binarize_prompted_masks
        self.memory_frames = memory_frames
        self._memories = SpillStore(max(memory_frames, self.settings.num_maskmem), bfloat16=True)
        self._logits = SpillStore(logit_frames)
        self.report = graphs.report
        self.encoder = graphs.encoder
        self.decoder = graphs.decoder
        self.objects: dict[int, ObjectTrack] = {}
        self._last: tuple[int, FrameEmbedding] | None = None
        self._frame_hw: tuple[int, int] | None = None  # every frame of a shot has one size

    @classmethod
    def open(
        cls,
        bundle: Bundle,
        reader: FrameReader,
        options: RuntimeOptions | None = None,
        cache: EmbeddingCache | None = None,
        **kwargs: Any,
    ) -> VideoPropagator:
        """A propagator with sessions of its own, for one-off use (tests, scripts); keyword arguments as above."""
        from roto.engine.service import Sam2Graphs

        return cls(Sam2Graphs(bundle, options), reader, cache, **kwargs)

    @property
    def memory_encoder(self) -> BoundGraph:
        return self.graphs.memory_encoder

    @property
    def memory_attention(self) -> BoundGraph:
        return self.graphs.memory_attention

    # --- frames --------------------------------------------------------------------------------------------

    def _embedding(self, frame: int) -> FrameEmbedding:
        if self._last is not None and self._last[0] == frame:
            return self._last[1]
        if not 0 <= frame < self.num_frames:
            raise PromptError(f"frame {frame} is outside the shot (0..{self.num_frames - 1})")
        key = self.encoder.key(self.reader.media_id, frame)
        embedding = self.encoder.encode(lambda: self.reader.read(frame), key, self.cache)
        self._last = (frame, embedding)
        self._frame_hw = embedding.frame_hw
        return embedding

    # --- prompts -------------------------------------------------------------------------------------------

    def add_prompts(
        self,
        frame: int,
        obj_id: int,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
    ) -> FrameResult:
        """Set an object's prompts on a frame (replacing earlier ones there); the frame becomes conditioning."""
        embedding = self._embedding(frame)
        pts, lbl, bx = validate_prompts(points, labels, box, embedding.frame_hw)
        coords, codes = prompts_to_model(pts, lbl, bx, embedding.frame_hw, self.settings.image_size)
        track = self._track(obj_id)
        track.prompts[frame] = (coords, codes)
        is_init = frame not in track.reverse
        previous = self._logits.get((obj_id, frame))
        mask_input = None if previous is None else np.clip(previous, -LOGIT_CLAMP, LOGIT_CLAMP)
        reverse = False if is_init else track.reverse[frame]
        out = self._track_frame(
            obj_id, track, frame, embedding, (coords, codes), mask_input, is_init, reverse
        )
        track.cond[frame] = out
        track.pending.add(
            frame
        )  # like SAM2's temporary outputs: joins the memory bank at the next propagation
        logits = self._logits.get((obj_id, frame))
        assert logits is not None
        return FrameResult(frame, {obj_id: logits}, {obj_id: out.object_score}, embedding.frame_hw)

    def add_mask(self, frame: int, obj_id: int, mask: np.ndarray) -> FrameResult:
        """Make a painted mask (frame size, bool) an object's prompt on a frame, replacing earlier prompts there.

        SAM2VideoPredictor.add_new_mask: the mask, resized to the model's input, becomes the frame's output
        as it is (SAM2's use_mask_input_as_output_without_sam), and the frame becomes conditioning, so
        propagation keeps it and tracks from it.
        """
        embedding = self._embedding(frame)
        painted = validate_mask(mask, embedding.frame_hw).astype(np.float32)
        size = self.settings.image_size
        if painted.shape != (size, size):
            painted = (resize_plane(painted, (size, size)) >= 0.5).astype(np.float32)
        track = self._track(obj_id)
        track.prompts[frame] = None
        track.cond[frame] = self._mask_as_output(obj_id, frame, embedding, painted)
        track.pending.add(frame)
        logits = self._logits.get((obj_id, frame))
        assert logits is not None
        score = track.cond[frame].object_score
        return FrameResult(frame, {obj_id: logits}, {obj_id: score}, embedding.frame_hw)

    def _track(self, obj_id: int) -> ObjectTrack:
        """The object's track, made on its first prompt; the memory window grows so that every object's recent
        memories fit in it (else each frame would read some back from disk, on a GPU through the host)."""
        track = self.objects.setdefault(obj_id, ObjectTrack())
        window = self.settings.num_maskmem * len(self.objects)
        self._memories.max_in_memory = max(self._memories.max_in_memory, self.memory_frames, window)
        return track

    def clear_prompts(self, frame: int, obj_id: int) -> None:
        """Remove an object's prompts on a frame: it stops being a conditioning frame and will be re-tracked."""
        track = self.objects.get(obj_id)
        if track is None or frame not in track.prompts:
            return
        del track.prompts[frame]
        track.cond.pop(frame, None)
        track.pending.discard(frame)
        track.reverse.pop(frame, None)
        self._memories.pop((obj_id, frame))
        self._logits.pop((obj_id, frame))
        if not track.prompts:
            del self.objects[obj_id]

    def prompted_frames(self, obj_id: int) -> list[int]:
        track = self.objects.get(obj_id)
        return sorted(track.prompts) if track else []

    # --- propagation ---------------------------------------------------------------------------------------

    def propagate(
        self,
        start: int | None = None,
        end: int | None = None,
        reverse: bool = False,
        obj_ids: Sequence[int] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Iterator[FrameResult]:
        """Track from `start` (default: the first prompted frame) to `end` (inclusive), yielding each frame.

        Prompted frames keep their own masks; every other frame in the range is (re)computed. Stopping the
        iteration or `cancel()` returning True between frames leaves all frames already yielded valid, and a
        later call resumes from where it stopped.
        """
        ids = list(self.objects) if obj_ids is None else list(obj_ids)
        unknown = [i for i in ids if i not in self.objects]
        if not ids or unknown:
            raise PromptError(f"no prompts for object(s) {unknown or 'any'}: add points or a box first")
        for obj_id in ids:
            self._encode_pending(obj_id)
        if start is None:
            start = min(min(self.objects[i].cond) for i in ids)
        if end is None:
            end = 0 if reverse else self.num_frames - 1
        for name, value in (("start", start), ("end", end)):
            if not 0 <= value < self.num_frames:
                raise PromptError(f"{name} frame {value} is outside the shot (0..{self.num_frames - 1})")
        if (end < start and not reverse) or (end > start and reverse):
            raise PromptError(f"frame range {start}..{end} runs against the direction of propagation")
        step = -1 if reverse else 1
        for frame in range(start, end + step, step):
            if cancel is not None and cancel():
                return
            yield self._propagate_frame(frame, ids, reverse)

    def _propagate_frame(self, frame: int, ids: list[int], reverse: bool) -> FrameResult:
        logits: dict[int, np.ndarray] = {}
        scores: dict[int, float] = {}
        for obj_id in ids:
            track = self.objects[obj_id]
            out = track.cond.get(frame)
            if out is None:
                out = self._track_frame(
                    obj_id, track, frame, self._embedding(frame), None, None, False, reverse
                )
                track.tracked[frame] = out
            track.reverse[frame] = reverse
            found = self._logits.get((obj_id, frame))
            assert found is not None
            logits[obj_id] = found
            scores[obj_id] = out.object_score
        return FrameResult(frame, logits, scores, self._frame_hw or self._embedding(frame).frame_hw)

    def _encode_pending(self, obj_id: int) -> None:
        """Encode the memory of prompted frames (SAM2's propagate_in_video_preflight)."""
        track = self.objects[obj_id]
        for frame in sorted(track.pending):
            logits = self._logits.get((obj_id, frame))
            assert logits is not None
            memory = self._encode_memory(self._embedding(frame), logits, track.cond[frame].object_score, True)
            self._memories.put((obj_id, frame), memory)
            track.tracked.pop(frame, None)
        track.pending.clear()

    def close(self) -> None:
        """Delete the spilled memories; the propagator cannot be used afterwards."""
        self._memories.close()
        self._logits.close()

    # --- one SAM2 tracking step ----------------------------------------------------------------------------

    def _track_frame(
        self,
        obj_id: int,
        track: ObjectTrack,
        frame: int,
        embedding: FrameEmbedding,
        prompts: tuple[np.ndarray, np.ndarray] | None,
        mask_input: np.ndarray | None,
        is_init: bool,
        reverse: bool,
    ) -> FrameOutput:
        """SAM2Base.track_step for one object; tracked frames (no prompts) also get their memory encoded."""
        settings = self.settings
        features = None if is_init else self._conditioned_features(obj_id, track, frame, embedding, reverse)
        if prompts is None:  # SAM2 feeds one "not a point" (label -1) when a frame has no prompt
            coords, codes = np.zeros((1, 1, 2), np.float32), -np.ones((1, 1), np.float32)
            num_points = 0
        else:
            coords, codes = prompts
            num_points = coords.shape[1]
        multimask = (
            settings.multimask_output_in_sam
            and (is_init or settings.multimask_output_for_tracking)
            and settings.multimask_min_pt_num <= num_points <= settings.multimask_max_pt_num
        )
        decoded = self.decoder(embedding, coords, codes, mask_input, features=features)
        masks, scores = select_masks(decoded, multimask, settings)
        best = int(np.argmax(scores)) if multimask else 0
        low_res = masks[best]
        if settings.pred_obj_scores and decoded.object_score <= 0:
            low_res = np.full_like(low_res, NO_OBJ_SCORE)
        token = 1 + best if multimask and settings.use_multimask_token_for_obj_ptr else 0
        if prompts is None:
            self._memories.put(
                (obj_id, frame), self._encode_memory(embedding, low_res, decoded.object_score, False)
            )
        self._logits.put((obj_id, frame), self._fill_holes(low_res))
        return FrameOutput(decoded.obj_ptrs[token].copy(), decoded.object_score)

    def _mask_as_output(
        self, obj_id: int, frame: int, embedding: FrameEmbedding, painted: np.ndarray
    ) -> FrameOutput:
        """SAM2Base._use_mask_as_output: logits of +-10 from the mask, the pointer from the decoder reading it."""
        side = self.settings.mask_side
        low_res = resize_plane(painted * 20.0 - 10.0, (side, side))
        mask_input, no_obj_ptr = self.graphs.mask_prompt.run({"mask": painted[None, None]})
        present = bool(painted.any())
        if present:  # the frame's own features, no memory; one "not a point" as on tracked frames
            coords, codes = np.zeros((1, 1, 2), np.float32), -np.ones((1, 1), np.float32)
            decoded = self.decoder(embedding, coords, codes, mask_input, features=embedding.image_embed)
            obj_ptr = decoded.obj_ptrs[0]
        else:
            obj_ptr = no_obj_ptr[0]
        self._logits.put((obj_id, frame), self._fill_holes(low_res))
        return FrameOutput(np.array(obj_ptr, np.float32), 10.0 if present else -10.0)

    def _fill_holes(self, low_res: np.ndarray) -> np.ndarray:
        if self.fill_hole_area <= 0:
            return low_res
        mask = low_res > 0
        filled = fill_holes(mask, self.fill_hole_area)
        return np.where(filled & ~mask, np.float32(0.1), low_res).astype(np.float32)

    def _encode_memory(
        self, embedding: FrameEmbedding, low_res: np.ndarray, score: float, prompted: bool
    ) -> Tensor:
        """The frame's memory (1, mem_dim, h, w), rounded to bfloat16 as SAM2 stores it, on the device."""
        binarize = 1.0 if (prompted and self.binarize_prompted_masks) else 0.0
        features, _ = self.memory_encoder.run(
            {
                "image_embed": embedding.image_embed,
                "mask_logits": low_res[None, None].astype(np.float32),
                "object_score_logits": np.array([[score]], np.float32),
                "binarize": np.array([binarize], np.float32),
            },
            keep=(
                "maskmem_features",
                "maskmem_pos_enc",
            ),  # the position encoding is unused: never download it
        )
        return bf16_round_on(self.memory_encoder, features)

    def _conditioned_features(
        self, obj_id: int, track: ObjectTrack, frame: int, embedding: FrameEmbedding, reverse: bool
    ) -> Tensor:
        """Assemble memories and pointers exactly as SAM2Base._prepare_memory_conditioned_features does; the
        result stays on the device for the prompt decoder."""
        settings = self.settings
        num_maskmem = settings.num_maskmem
        stride = settings.memory_temporal_stride_for_eval
        # max_cond_frames_in_attn is -1 (Sam2Settings refuses other values): every conditioning frame attends,
        # once its memory is encoded.
        cond = {t: out for t, out in track.cond.items() if t not in track.pending}
        memories: list[tuple[int, int]] = [(t, 0) for t in cond]
        for t_pos in range(1, num_maskmem):
            t_rel = num_maskmem - t_pos
            if t_rel == 1:
                prev = frame + t_rel if reverse else frame - t_rel
            elif not reverse:
                prev = ((frame - 2) // stride) * stride - (t_rel - 2) * stride
            else:
                prev = -(-(frame + 2) // stride) * stride + (t_rel - 2) * stride
            if prev in track.tracked:
                memories.append((prev, t_pos))
        spatial = []
        for t, t_pos in memories:
            memory = self._memories.get((obj_id, t))
            assert memory is not None, f"memory of frame {t} missing"
            spatial.append((memory, num_maskmem - t_pos - 1))
        max_ptrs = min(self.num_frames, settings.max_obj_ptrs_in_encoder)
        sign = -1 if reverse else 1
        if settings.only_obj_ptrs_in_the_past_for_eval:
            past = {t: o for t, o in cond.items() if (t >= frame if reverse else t <= frame)}
        else:
            past = dict(cond)
        pointers = [((frame - t) * sign, out.obj_ptr) for t, out in past.items()]
        for t_diff in range(1, max_ptrs):
            t = frame + t_diff if reverse else frame - t_diff
            if t < 0 or t >= self.num_frames:
                break
            out = track.tracked.get(t)
            if out is not None:
                pointers.append((t_diff, out.obj_ptr))
        t_diff_max = max(max_ptrs - 1, 1)
        if not settings.use_signed_tpos_enc_to_obj_ptrs:
            pointers = [(abs(p), ptr) for p, ptr in pointers]
        hidden = settings.hidden_dim
        (pix,) = self.memory_attention.run(
            {
                "image_embed": embedding.image_embed,
                "memory_feats": concat_on(self.memory_attention, [m for m, _ in spatial]),
                "memory_tpos": np.array([t for _, t in spatial], np.int64),
                "obj_ptrs": np.array([p for _, p in pointers], np.float32).reshape(-1, hidden),
                "obj_ptr_tpos": np.array([p / t_diff_max for p, _ in pointers], np.float32),
            },
            keep=("pix_feat_with_mem",),
        )
        return pix
