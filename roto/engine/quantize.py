"""An int8 variant of a bundle for CPU users: the image encoder dynamically quantised, other graphs unchanged.

Dynamic quantisation stores MatMul weights as int8 and quantises activations on the fly; only the encoder is
worth it (it is where the time goes). Its accuracy cost is measured by benchmarks/click_latency.py --int8.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from roto.engine.bundle import MANIFEST_NAME, Bundle, load_bundle, verify_bundle
from roto.engine.precision import derive_bundle
from roto.errors import ModelError

SUFFIX = "-int8"


def quantized_bundle(bundle: Bundle, dest: Path | None = None) -> Bundle:
    """Return the int8-encoder sibling of `bundle`, creating it (beside it, or at `dest`) if needed."""
    if bundle.manifest.get("precision") == "int8-encoder":
        return bundle
    dest = dest or bundle.path.with_name(bundle.path.name + SUFFIX)
    if (dest / MANIFEST_NAME).is_file() and not verify_bundle(dest):
        return load_bundle(dest)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelError(f"quantisation needs onnxruntime's quantization tools: {exc}") from exc

    def quantize_encoder(graph: str, source: Path, target: Path) -> None:
        if graph != "image_encoder":
            shutil.copy2(source, target)
            return
        quantize_dynamic(
            str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"]
        )

    return derive_bundle(bundle, dest, "int8-encoder", quantize_encoder)
