"""The SAM2 settings a bundle's numpy side must follow, as one frozen record checked when the bundle loads.

The converter (`export_onnx._model_settings`) writes every field below into the manifest's `settings` object,
from Meta's model. `Sam2Settings.from_manifest` checks presence and type of every field and refuses values the
engine does not implement, so a damaged or foreign bundle fails at load with a message naming the manifest and
the key, never mid-tracking. Field comments follow Meta's `sam2/modeling/sam2_base.py`, where the same names are
`SAM2Base.__init__` keyword arguments.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roto.errors import ModelError


@dataclass(frozen=True)
class Sam2Settings:
    """Every SAM2 setting the engine reads; build with `from_manifest`, which validates each one."""

    # --- the image encoder and its pre-processing ---
    # side of the square a frame is resized to before encoding (1024; 256 for the test model)
    image_size: int
    # image pixels per cell of the lowest-resolution feature map (16)
    backbone_stride: int
    # per-channel RGB mean of 0..1 values, subtracted before encoding
    pixel_mean: tuple[float, float, float]
    # per-channel RGB standard deviation, divided by before encoding
    pixel_std: tuple[float, float, float]

    # --- feature sizes ---
    # channels of the image embedding, and length of one object pointer
    hidden_dim: int
    # channels of one memory-bank entry (the memory encoder's output)
    mem_dim: int

    # --- the memory bank ---
    # memories attended per frame: every conditioning frame plus up to num_maskmem - 1 recent tracked frames
    num_maskmem: int
    # stride between the recent memories picked at inference (1: the previous frames)
    memory_temporal_stride_for_eval: int
    # how many conditioning frames attend to a frame; -1: all of them (the only value Roto implements)
    max_cond_frames_in_attn: int
    # object pointers of this many recent frames join the memory attention
    max_obj_ptrs_in_encoder: int
    # only pointers of conditioning frames behind the tracking direction (not those ahead of it)
    only_obj_ptrs_in_the_past_for_eval: bool
    # pointers' temporal distance keeps its sign (SAM2.1: True); False: the absolute distance (SAM2's default)
    use_signed_tpos_enc_to_obj_ptrs: bool

    # --- the mask decoder while tracking ---
    # the decoder may return 3 candidate masks for an ambiguous prompt
    multimask_output_in_sam: bool
    # 3 candidates on tracked frames too, not only on the first prompted frame
    multimask_output_for_tracking: bool
    # multimask only with at least this many points (a box counts as 2) ...
    multimask_min_pt_num: int
    # ... and at most this many
    multimask_max_pt_num: int
    # the object pointer comes from the chosen candidate's output token, not the single-mask token
    use_multimask_token_for_obj_ptr: bool
    # the decoder scores whether the object is present; an absent object gets an empty mask
    pred_obj_scores: bool

    # --- single-mask output (SAM2's MaskDecoder) ---
    # an unstable single mask falls back to the best of the 3 candidates
    dynamic_multimask_via_stability: bool
    # stability: IoU of the mask thresholded at +delta and at -delta (logits)
    dynamic_multimask_stability_delta: float
    # below this stability the single mask is replaced
    dynamic_multimask_stability_thresh: float

    # --- post-processing ---
    # logit above which a pixel is inside the mask (SAM2's predictors use 0.0)
    mask_threshold: float

    @classmethod
    def from_manifest(cls, settings: object, manifest: Path | str) -> Sam2Settings:
        """The record for a manifest's `settings` object; ModelError naming `manifest` and the first bad key."""
        problems = settings_problems(settings, manifest)
        if problems:
            raise ModelError(problems[0])
        assert isinstance(settings, Mapping)
        values: dict[str, Any] = {
            f.name: tuple(float(v) for v in settings[f.name])
            if f.name in _TRIPLES
            else _HINTS[f.name](settings[f.name])
            for f in dataclasses.fields(cls)
        }
        return cls(**values)

    def to_manifest(self) -> dict[str, Any]:
        """The JSON object `from_manifest` reads (what the converter writes)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @property
    def feature_side(self) -> int:
        """Side of the lowest-resolution feature map (the image embedding)."""
        return self.image_size // self.backbone_stride

    @property
    def mask_side(self) -> int:
        """Side of the decoder's low-resolution masks (4x the feature map): the shape of mask_input."""
        return self.feature_side * 4


MAX_IMAGE_SIZE = 4096  # SAM2 models take 1024 px; a bigger side only makes every buffer huge
_HINTS: dict[str, Any] = {
    name: (hint if hint in (int, float, bool) else tuple)
    for name, hint in typing.get_type_hints(Sam2Settings).items()
}
_TRIPLES = {name for name, hint in _HINTS.items() if hint is tuple}
SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Sam2Settings))


def _type_problem(key: str, value: Any) -> str | None:
    """Why `value` is not of the field's type (JSON: true/false are not numbers), or None."""
    kind = _HINTS[key]
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is bool:
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if kind is int:
        return None if is_number and isinstance(value, int) else f"must be an integer, not {value!r}"
    if kind is float:
        return None if is_number else f"must be a number, not {value!r}"
    triple = isinstance(value, (list, tuple)) and len(value) == 3
    if triple and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    return f"must be a list of 3 numbers (R, G, B), not {value!r}"


def _value_problems(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, why) for values that are well typed but that the engine does not implement or cannot use."""
    found: list[tuple[str, str]] = []
    for key, kind in _HINTS.items():
        values = s[key] if kind is tuple else (s[key],)
        if kind in (float, tuple) and not all(math.isfinite(v) for v in values):
            found.append((key, f"must be a finite number, not {s[key]!r}"))
    for key in ("image_size", "backbone_stride", "hidden_dim", "mem_dim", "num_maskmem"):
        if s[key] < 1:
            found.append((key, f"must be at least 1, not {s[key]!r}"))
    if s["image_size"] > MAX_IMAGE_SIZE:
        found.append(
            ("image_size", f"{s['image_size']} is larger than any SAM2 model ({MAX_IMAGE_SIZE} at most)")
        )
    if not found and s["image_size"] % s["backbone_stride"]:
        found.append(
            ("image_size", f"{s['image_size']} is not a multiple of backbone_stride {s['backbone_stride']}")
        )
    if s["memory_temporal_stride_for_eval"] < 1:
        found.append(
            (
                "memory_temporal_stride_for_eval",
                f"must be at least 1, not {s['memory_temporal_stride_for_eval']!r}",
            )
        )
    if s["max_cond_frames_in_attn"] != -1:
        found.append(
            (
                "max_cond_frames_in_attn",
                f"is {s['max_cond_frames_in_attn']!r}; Roto implements only -1 (every conditioning frame attends)",
            )
        )
    if s["max_obj_ptrs_in_encoder"] < 1:
        found.append(("max_obj_ptrs_in_encoder", f"must be at least 1, not {s['max_obj_ptrs_in_encoder']!r}"))
    if not 0 <= s["multimask_min_pt_num"] <= s["multimask_max_pt_num"]:
        found.append(
            (
                "multimask_min_pt_num",
                f"{s['multimask_min_pt_num']!r} must be between 0 and multimask_max_pt_num "
                f"({s['multimask_max_pt_num']!r})",
            )
        )
    if any(v <= 0 for v in s["pixel_std"]):
        found.append(("pixel_std", f"must be positive, not {list(s['pixel_std'])!r}"))
    return found


def settings_problems(settings: object, manifest: Path | str) -> list[str]:
    """Every problem with a manifest's `settings` object, each naming the manifest and the key; empty if sound."""
    where = f"{manifest}: settings"
    if not isinstance(settings, Mapping):
        return [f"{manifest}: field 'settings' is missing or not a dict"]
    problems = [f"{where} lack {key!r}" for key in SETTING_NAMES if key not in settings]
    for key in SETTING_NAMES:
        if key in settings and (why := _type_problem(key, settings[key])) is not None:
            problems.append(f"{where}: {key!r} {why}")
    if not problems:
        problems.extend(f"{where}: {key!r} {why}" for key, why in _value_problems(settings))
    return problems
