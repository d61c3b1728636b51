"""Precision variants of a bundle: a sibling folder whose graphs are rewritten, verified, then renamed into place.

fp16 is for GPUs: tensor cores run half precision several times faster than fp32 and the activations take half the
memory. The graphs keep fp32 inputs and outputs (the engine's numpy side and the embedding cache stay fp32) and keep
the operators whose numerics need the range or the precision in fp32: softmax, the normalisations (LayerNorm and
SAM's LayerNorm2d, written as ReduceMean/Pow/Sqrt), the sine/cosine position encodings (arguments far above fp16's
exact range) and the resizes. ONNX Runtime's CPU provider lacks fp16 kernels for most operators and runs such nodes
in fp32 between inserted casts, so an fp16 bundle is correct but not fast on a CPU; `auto` uses it on CUDA only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from roto.engine.bundle import MANIFEST_NAME, Bundle, load_bundle, sha256_file, verify_bundle, write_manifest
from roto.engine.propagator import FrameReader
from roto.engine.session import RuntimeOptions
from roto.errors import ModelError

log = logging.getLogger(__name__)

FP16_SUFFIX = "-fp16"
# Operators left in fp32 in an fp16 bundle (besides onnxruntime's default list: Range, CumSum, Min, Max, TopK...).
FP32_OPS = ("Softmax", "LayerNormalization", "ReduceMean", "Pow", "Sqrt", "Sin", "Cos", "Resize")

GraphRewrite = Callable[[str, Path, Path], None]  # (graph name, source file, destination file)


def derive_bundle(bundle: Bundle, dest: Path, precision: str, rewrite: GraphRewrite) -> Bundle:
    """Write `bundle` rewritten graph by graph to `dest` with `precision` in its manifest, verified before it
    takes its name (an interrupted conversion leaves nothing under it); `rewrite` copies what it leaves alone."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=".derive-", dir=dest.parent))
    except OSError as exc:
        raise ModelError(f"{dest.parent}: cannot write the {precision} bundle there: {exc}") from exc
    try:
        manifest = dict(bundle.manifest)
        files = dict(manifest["files"])
        for graph, entry in manifest["graphs"].items():
            target = staging / entry["file"]
            rewrite(graph, bundle.path / entry["file"], target)
            files[entry["file"]] = {"sha256": sha256_file(target), "size": target.stat().st_size}
        manifest.update(name=dest.name, precision=precision, files=files, derived_from=source_digest(bundle))
        write_manifest(staging / MANIFEST_NAME, manifest)
        problems = verify_bundle(staging)
        if problems:
            raise ModelError(f"{precision} bundle failed verification: " + "; ".join(problems))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return load_bundle(dest)


def source_digest(bundle: Bundle) -> str:
    """Identifies the exact files a variant was made from: a variant of a bundle since reinstalled or converted
    again (same name, other weights) must not be used in its place."""
    files = {name: entry["sha256"] for name, entry in bundle.manifest["files"].items()}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def made_from(variant: Bundle, source: Bundle) -> bool:
    return variant.manifest.get("derived_from") == source_digest(source)


def precision_of(bundle: Bundle) -> str:
    return str(bundle.manifest.get("precision") or "fp32")


def fp16_sibling_path(bundle: Bundle) -> Path:
    """Where the fp16 variant of `bundle` lives: beside it, named NAME-fp16."""
    return bundle.path.with_name(bundle.path.name + FP16_SUFFIX)


def runtime_bundle(bundle: Bundle, options: RuntimeOptions) -> Bundle:
    """The variant of `bundle` the sessions run, by `options.precision` (see RuntimeOptions).

    A bundle that is already a variant (fp16, int8) runs as given whatever the choice. `auto` takes the fp16
    sibling only on a GPU and only when it is installed and loads: converting is `roto models convert`'s job.
    """
    choice = options.resolved_precision()
    if choice == "fp32" or precision_of(bundle) != "fp32":
        return bundle
    if choice == "fp16":
        return fp16_bundle(bundle)
    sibling = fp16_sibling_path(bundle)
    if not options.gpu_offered() or not (sibling / MANIFEST_NAME).is_file():
        return bundle
    try:
        fp16 = load_bundle(sibling)
    except ModelError as exc:
        log.warning("not using the fp16 bundle %s: %s", sibling, exc)
        return bundle
    if not made_from(fp16, bundle):
        log.warning(
            "not using the fp16 bundle %s: it was made from another version of %s; convert again with "
            "`roto models convert %s --precision fp16`",
            sibling,
            bundle.path,
            bundle.name,
        )
        return bundle
    return fp16


def fp16_bundle(bundle: Bundle, dest: Path | None = None) -> Bundle:
    """Return the fp16 variant of `bundle`, converting it (beside it, or at `dest`) unless a sound one is there."""
    if precision_of(bundle) == "fp16":
        return bundle
    if precision_of(bundle) != "fp32":
        raise ModelError(
            f"{bundle.path}: only an fp32 bundle converts to fp16 (this one is {precision_of(bundle)})"
        )
    dest = dest or fp16_sibling_path(bundle)
    if (dest / MANIFEST_NAME).is_file() and not verify_bundle(dest):
        existing = load_bundle(dest)
        if made_from(existing, bundle):
            return existing
    try:
        import onnx
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16
    except ImportError as exc:
        raise ModelError(f"fp16 conversion needs onnx and onnxruntime's transformer tools: {exc}") from exc
    block = sorted({*DEFAULT_OP_BLOCK_LIST, *FP32_OPS})

    def to_half(graph: str, source: Path, target: Path) -> None:
        model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True, op_block_list=block)
        onnx.save(model, str(target))

    return derive_bundle(bundle, dest, "fp16", to_half)


@dataclass(frozen=True)
class Agreement:
    """How far a precision variant's masks are from its source's, on the same frames and prompt."""

    click_iou: float  # the lowest IoU of the best click mask over the frames (full resolution)
    click_logit_max: float  # the largest absolute difference of the low-res logits of any candidate
    click_logit_mean: float
    video_iou: float  # the lowest IoU of the propagated masks over the frames
    video_logit_max: float
    frames: int

    def as_dict(self) -> dict[str, float | int]:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def measure_agreement(
    reference: Bundle,
    candidate: Bundle,
    reader: FrameReader,
    point: tuple[float, float],
    options: RuntimeOptions | None = None,
) -> Agreement:
    """Click `point` on every frame of `reader` with both bundles, then track it from frame 0 through all of
    them; compare the masks (IoU) and the low-res logits. The CI test and benchmarks/gpu.py both report it."""
    from roto.engine.service import EngineService

    as_given = replace(options or RuntimeOptions(), precision="fp32")  # no swapping in the fp16 sibling
    engines = [EngineService.open(b, as_given) for b in (reference, candidate)]
    points, labels = np.array([point], np.float32), np.array([1])
    click_iou, logit_max, logit_sum, count = 1.0, 0.0, 0.0, 0
    for frame in range(reader.frame_count):
        ref, cand = (e.predict(reader, frame, points, labels) for e in engines)
        click_iou = min(click_iou, mask_iou(ref.mask(), cand.mask(ref.best)))
        diff = np.abs(ref.low_res_logits - cand.low_res_logits)
        logit_max, logit_sum, count = (
            max(logit_max, float(diff.max())),
            logit_sum + float(diff.sum()),
            count + diff.size,
        )
    videos = [e.video(reader) for e in engines]
    video_iou, video_max = 1.0, 0.0
    try:
        for video in videos:
            video.add_prompts(0, 1, points, labels)
        for ref_frame, cand_frame in zip(*(v.propagate() for v in videos), strict=True):
            video_iou = min(video_iou, mask_iou(ref_frame.mask(1), cand_frame.mask(1)))
            diff = np.abs(ref_frame.logits[1] - cand_frame.logits[1])
            video_max = max(video_max, float(diff.max()))
    finally:
        for video in videos:
            video.close()
    return Agreement(
        click_iou, logit_max, logit_sum / max(count, 1), video_iou, video_max, reader.frame_count
    )
