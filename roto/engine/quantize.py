"""An int8 variant of a bundle for CPU users: the image encoder dynamically quantised, other graphs unchanged.

Dynamic quantisation stores MatMul weights as int8 and quantises activations on the fly; only the encoder is
worth it (it is where the time goes). Its accuracy cost is measured by benchmarks/click_latency.py --int8.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from roto.engine.bundle import MANIFEST_NAME, Bundle, load_bundle, sha256_file, verify_bundle, write_manifest
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
    staging = Path(tempfile.mkdtemp(prefix=".quantize-", dir=dest.parent))
    try:
        manifest = dict(bundle.manifest)
        files = dict(manifest["files"])
        for graph, entry in manifest["graphs"].items():
            source = bundle.path / entry["file"]
            if graph == "image_encoder":
                quantize_dynamic(
                    str(source),
                    str(staging / entry["file"]),
                    weight_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul", "Gemm"],
                )
            else:
                shutil.copy2(source, staging / entry["file"])
            target = staging / entry["file"]
            files[entry["file"]] = {"sha256": sha256_file(target), "size": target.stat().st_size}
        manifest.update(name=bundle.name + SUFFIX, precision="int8-encoder", files=files)
        write_manifest(staging / MANIFEST_NAME, manifest)
        problems = verify_bundle(staging)
        if problems:
            raise ModelError("quantised bundle failed verification: " + "; ".join(problems))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return load_bundle(dest)
