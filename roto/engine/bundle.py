"""A model bundle on disk: a folder with `manifest.json` and the ONNX graphs it lists with their checksums.

The manifest is the contract between the converter (`export_onnx.py`) and the engine: which graphs exist, their
input/output names and shapes, and the SAM2 settings the numpy side must follow. `verify_bundle` checks all of it
and reports every problem in words a user can act on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from roto.engine.settings import Sam2Settings, settings_problems
from roto.errors import ModelError
from roto.files import check_regular, read_regular

BUNDLE_FORMAT = "roto-sam2-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
PRECISIONS = (
    "fp32",
    "fp16",
    "int8-encoder",
)  # manifest "precision": what the graphs compute in (see precision.py)

# Model families: SAM2.1, and EdgeTAM (SAM2.1's decoder and memory bookkeeping over a RepViT encoder, with each
# memory compressed by a perceiver to a few hundred tokens). A manifest without "family" is SAM2.1 (older bundles).
SAM2 = "sam2.1"
EDGETAM = "edgetam"
FAMILIES = (SAM2, EDGETAM)
# The graph metadata key naming a graph's family (absent: SAM2.1, as in graphs converted before EdgeTAM).
FAMILY_KEY = "roto.family"

# The graphs every bundle holds and the names of their inputs and outputs, in order.
GRAPH_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "image_encoder": (("image",), ("image_embed", "high_res_feats_0", "high_res_feats_1")),
    "prompt_decoder": (
        (
            "image_embed",
            "high_res_feats_0",
            "high_res_feats_1",
            "point_coords",
            "point_labels",
            "mask_input",
            "has_mask_input",
            "no_memory",
        ),
        ("masks", "iou_predictions", "object_score_logits", "obj_ptrs"),
    ),
    "memory_encoder": (
        ("image_embed", "mask_logits", "object_score_logits", "binarize"),
        ("maskmem_features", "maskmem_pos_enc"),
    ),
    "memory_attention": (
        ("image_embed", "memory_feats", "memory_tpos", "obj_ptrs", "obj_ptr_tpos"),
        ("pix_feat_with_mem",),
    ),
    "mask_prompt": (("mask",), ("mask_input", "no_obj_ptr")),
}


@dataclass(frozen=True)
class VariantSpec:
    """One SAM2.1 size Roto knows how to fetch and convert (from models/catalog.json)."""

    key: str
    model_name: str
    config: str
    checkpoint_url: str | None
    checkpoint_sha256: str | None
    bundle_url: str | None
    bundle_sha256: str | None
    reduced: bool = False
    family: str = SAM2
    # measured here (models/catalog.json "measured"): the bundle's size and one object's propagation speed at
    # 1080p on 2 CPU threads; None where not measured
    bundle_mib: float | None = None
    propagation_fps: float | None = None

    @property
    def image_size(self) -> int:
        return 256 if self.reduced else 1024


def catalog_path() -> Path:
    """models/catalog.json: beside the package in a checkout, inside the app folder in a frozen build."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "models" / "catalog.json"
    return Path(__file__).resolve().parents[2] / "models" / "catalog.json"


def load_catalog(path: Path | None = None) -> dict[str, VariantSpec]:
    path = path or catalog_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            key: VariantSpec(
                key=key,
                model_name=entry["model_name"],
                config=entry["config"],
                checkpoint_url=entry.get("checkpoint_url"),
                checkpoint_sha256=entry.get("checkpoint_sha256"),
                bundle_url=entry.get("bundle_url"),
                bundle_sha256=entry.get("bundle_sha256"),
                reduced=bool(entry.get("reduced", False)),
                family=entry.get("family", SAM2),
                bundle_mib=entry.get("measured", {}).get("bundle_mib"),
                propagation_fps=entry.get("measured", {}).get("propagation_fps"),
            )
            for key, entry in data["variants"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: model catalog is missing or malformed: {exc}") from exc


VARIANTS: dict[str, VariantSpec] = load_catalog()


@dataclass(frozen=True)
class Bundle:
    """A bundle whose manifest has been read and checked for structure and settings (not yet for checksums)."""

    path: Path
    manifest: dict[str, Any]
    settings: Sam2Settings  # validated from manifest["settings"] by load_bundle

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def variant(self) -> str:
        return str(self.manifest["variant"])

    @property
    def family(self) -> str:
        return manifest_family(self.manifest)

    @property
    def random_weights(self) -> bool:
        return bool(self.manifest.get("random_weights", False))

    @property
    def image_size(self) -> int:
        return self.settings.image_size

    def graph_path(self, graph: str) -> Path:
        return self.path / self.manifest["graphs"][graph]["file"]

    def model_key(self) -> str:
        """Identifies what an embedding depends on (for embedding caches): the encoder's checksum and the
        pre-processing settings, not the folder name, so two bundles share embeddings only when they would
        compute the same ones."""
        encoder_file = self.manifest["graphs"]["image_encoder"]["file"]
        s = self.settings
        text = f"{self.manifest['files'][encoder_file]['sha256']}|{s.image_size}|{s.pixel_mean}|{s.pixel_std}"
        return hashlib.sha256(text.encode()).hexdigest()


def manifest_family(manifest: dict[str, Any]) -> str:
    return str(manifest.get("family", SAM2))


def memory_tokens(manifest: dict[str, Any]) -> int | None:
    """Tokens per memory of an EdgeTAM bundle (its perceiver's latents); None for SAM2.1 (mem_dim x H x W)."""
    perceiver = manifest.get("perceiver")
    if manifest_family(manifest) != EDGETAM or not isinstance(perceiver, dict):
        return None
    return int(perceiver["latents_1d"]) + int(perceiver["latents_2d"])


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write atomically so an interrupted conversion never leaves a half-written manifest."""
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise ModelError(f"{folder}: model bundle folder not found")
    if not path.exists():
        raise ModelError(f"{path}: missing; {folder} is not a Roto model bundle")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ModelError(f"{path}: manifest is implausibly large ({path.stat().st_size} bytes)")
    try:
        data = json.loads(read_regular(path, MAX_MANIFEST_BYTES, ModelError).decode("utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ModelError(f"{path}: not a bundle manifest (nested too deeply to read)") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: manifest must be a JSON object")
    return data


def _structure_problems(folder: Path, data: dict[str, Any]) -> list[str]:
    where = folder / MANIFEST_NAME
    problems: list[str] = []
    if data.get("format") != BUNDLE_FORMAT:
        return [f"{where}: not a Roto model bundle manifest (format is {data.get('format')!r})"]
    version = data.get("format_version")
    if not isinstance(version, int) or version > BUNDLE_FORMAT_VERSION:
        return [
            f"{where}: bundle format {version!r} is newer than this Roto reads ({BUNDLE_FORMAT_VERSION}); upgrade Roto"
        ]
    for key, kind in (("name", str), ("variant", str), ("settings", dict), ("graphs", dict), ("files", dict)):
        if not isinstance(data.get(key), kind):
            problems.append(f"{where}: field {key!r} is missing or not a {kind.__name__}")
    if problems:
        return problems
    if data["variant"] not in VARIANTS:
        problems.append(f"{where}: unknown SAM2 variant {data['variant']!r}")
    if data.get("precision", "fp32") not in PRECISIONS:
        problems.append(f"{where}: unknown precision {data['precision']!r} (one of {', '.join(PRECISIONS)})")
    problems.extend(_family_problems(where, data))
    problems.extend(settings_problems(data["settings"], where))
    for graph in GRAPH_NAMES:
        entry = data["graphs"].get(graph)
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            problems.append(
                f"{where}: graph {graph!r} is not listed (a bundle converted by an older Roto: convert it again, "
                "e.g. `roto models install`)"
            )
            continue
        name = entry["file"]
        if Path(name).name != name or name in ("", ".", ".."):
            problems.append(f"{where}: graph file name {name!r} must be a plain file name inside the bundle")
        elif name not in data["files"]:
            problems.append(f"{where}: graph file {name} has no checksum entry")
    for name, entry in data["files"].items():
        if Path(name).name != name:
            problems.append(f"{where}: file name {name!r} must be a plain file name inside the bundle")
        elif not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            problems.append(f"{where}: file {name} has no sha256")
    return problems


def _family_problems(where: Path, data: dict[str, Any]) -> list[str]:
    """The family must be known, match the variant's, and an EdgeTAM bundle must say how its memory is made."""
    family = data.get("family", SAM2)
    if family not in FAMILIES:
        return [f"{where}: unknown model family {family!r} (this Roto reads {', '.join(FAMILIES)})"]
    spec = VARIANTS.get(data["variant"])
    if spec is not None and spec.family != family:
        return [
            f"{where}: variant {spec.key} is a {spec.family} model, but the manifest says family {family!r}"
        ]
    if family != EDGETAM:
        return []
    perceiver = data.get("perceiver")
    found = [perceiver.get(k) for k in ("latents_1d", "latents_2d")] if isinstance(perceiver, dict) else []
    counts = [c for c in found if isinstance(c, int) and not isinstance(c, bool) and c >= 0]
    if len(counts) != 2:
        return [
            f"{where}: an EdgeTAM bundle needs 'perceiver' with latents_1d and latents_2d (counts of tokens)"
        ]
    if sum(counts) < 1:
        return [f"{where}: 'perceiver' makes memories of no tokens"]
    return []


def load_bundle(folder: Path | str) -> Bundle:
    """Read a bundle's manifest and check its structure; raises ModelError naming the first problem."""
    folder = Path(folder)
    data = _read_manifest(folder)
    problems = _structure_problems(folder, data)
    if problems:
        raise ModelError(problems[0])
    for graph in GRAPH_NAMES:
        path = folder / data["graphs"][graph]["file"]
        if not path.is_file():
            raise ModelError(f"{path}: missing from bundle {folder.name} (run `roto models verify {folder}`)")
    return Bundle(folder, data, Sam2Settings.from_manifest(data["settings"], folder / MANIFEST_NAME))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_input_shapes(
    settings: Sam2Settings, tokens: int | None = None
) -> dict[str, dict[str, list[int | None]]]:
    """The fixed dimensions each graph's inputs must have for these settings (None: any size, e.g. the number of
    points or memories); `tokens`: an EdgeTAM bundle's tokens per memory. A graph of the right names but the
    wrong shapes would fail deep inside a run."""
    side, feat, dim, mem = settings.image_size, settings.feature_side, settings.hidden_dim, settings.mem_dim
    embed: list[int | None] = [1, dim, feat, feat]
    mask: list[int | None] = [1, 1, 4 * feat, 4 * feat]
    memory: list[int | None] = [None, mem, feat, feat] if tokens is None else [None, tokens, mem]
    return {
        "image_encoder": {"image": [1, 3, side, side]},
        "prompt_decoder": {"image_embed": embed, "mask_input": mask, "point_coords": [1, None, 2]},
        "memory_encoder": {"image_embed": embed, "mask_logits": mask},
        "memory_attention": {
            "image_embed": embed,
            "memory_feats": memory,
            "obj_ptrs": [None, dim],
        },
        "mask_prompt": {"mask": [1, 1, side, side]},
    }


def family_problem(path: Path, metadata: dict[str, str], family: str) -> str | None:
    """Why a graph with this metadata cannot serve a bundle of `family` (it was made for the other), or None."""
    found = metadata.get(FAMILY_KEY, SAM2)
    if found == family:
        return None
    return f"{path}: a graph made for {found} in a {family} bundle (model families cannot be mixed)"


def graph_problems(
    path: Path,
    graph: str,
    listed: dict[str, Any],
    settings: Sam2Settings | None = None,
    precision: str | None = None,
    family: str = SAM2,
    tokens: int | None = None,
) -> list[str]:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for foreign or truncated files
        return [f"{path}: not a readable ONNX graph (truncated or foreign file): {exc}"]
    initializers = {init.name for init in model.graph.initializer}
    problems = _external_data_problems(path, model)
    wrong_family = family_problem(path, {p.key: p.value for p in model.metadata_props}, family)
    if wrong_family is not None:
        problems.append(wrong_family)
    inputs = tuple(v.name for v in model.graph.input if v.name not in initializers)
    outputs = tuple(v.name for v in model.graph.output)
    want_in, want_out = GRAPH_NAMES[graph]
    if inputs != want_in:
        problems.append(
            f"{path}: {graph} inputs are {list(inputs)}, expected {list(want_in)} (wrong graph in this slot?)"
        )
    if outputs != want_out:
        problems.append(f"{path}: {graph} outputs are {list(outputs)}, expected {list(want_out)}")
    for side, values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        declared = {io["name"]: io.get("shape") for io in listed.get(side, [])}
        for value in values:
            if value.name in initializers or value.name not in declared:
                continue
            shape = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            if shape != declared[value.name]:
                problems.append(
                    f"{path}: {value.name} has shape {shape}, manifest says {declared[value.name]}"
                )
    expected = expected_input_shapes(settings, tokens)[graph] if settings is not None else {}
    for value in model.graph.input:
        if value.name in expected:
            shape = [d.dim_value or None for d in value.type.tensor_type.shape.dim]
            want = expected[value.name]
            if len(shape) != len(want) or any(
                w is not None and g is not None and g != w for g, w in zip(shape, want, strict=True)
            ):
                problems.append(
                    f"{path}: {graph} input {value.name} has shape {shape}, the bundle's settings need {want}"
                )
    if precision is not None:
        problems.extend(_precision_problems(path, model, listed, precision))
    return problems


def _precision_problems(path: Path, model: Any, listed: dict[str, Any], precision: str) -> list[str]:
    """The graph computes in the precision its manifest declares, with the inputs and outputs it declares
    (an fp16 bundle keeps fp32 ones, so the engine feeds every bundle alike)."""
    import onnx

    problems = []
    declared = {io["name"]: io.get("dtype") for side in ("inputs", "outputs") for io in listed.get(side, [])}
    for value in (*model.graph.input, *model.graph.output):
        dtype = onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type).lower()
        if declared.get(value.name) not in (None, dtype):
            problems.append(f"{path}: {value.name} is {dtype}, the manifest says {declared[value.name]}")
    half = any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    if half != (precision == "fp16"):
        found = "holds fp16 weights" if half else "holds no fp16 weights"
        problems.append(f"{path}: {found}, but the manifest declares precision {precision}")
    return problems


def _external_data_problems(path: Path, model: Any) -> list[str]:
    """Weights stored beside a graph must be plain files of the bundle: ONNX Runtime would otherwise read
    whatever path the graph names (``../../home/user/...``)."""
    problems = []
    for tensor in model.graph.initializer:
        if tensor.data_location != tensor.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        if Path(location).name != location or location in ("", ".", ".."):
            problems.append(
                f"{path}: tensor {tensor.name} keeps its data in {location!r}, outside the bundle"
            )
        elif os.path.dirname(os.path.realpath(path.parent / location)) != os.path.realpath(path.parent):
            problems.append(
                f"{path}: tensor {tensor.name} keeps its data in {location}, a link out of the bundle"
            )
    return problems


def file_place_problem(folder: Path, name: str) -> str | None:
    """Why bundle file ``name`` is not a regular file inside ``folder`` (a link out of it, a FIFO...), or None."""
    path = folder / name
    real = os.path.realpath(path)
    if os.path.dirname(real) != os.path.realpath(folder):
        return f"{path}: links to {real}, outside the bundle"
    try:
        check_regular(path, ModelError)
    except ModelError as exc:
        return str(exc)
    except OSError:
        return f"{path}: missing"
    return None


def verify_bundle(folder: Path | str) -> list[str]:
    """Every problem found with a bundle, as messages naming the file and what is wrong; empty if sound."""
    folder = Path(folder)
    try:
        data = _read_manifest(folder)
    except ModelError as exc:
        return [str(exc)]
    problems = _structure_problems(folder, data)
    if problems:
        return problems
    for name, entry in data["files"].items():
        path = folder / name
        problem = file_place_problem(folder, name)
        if problem is not None:
            problems.append(problem)
            continue
        size = path.stat().st_size
        if "size" in entry and size != entry["size"]:
            problems.append(f"{path}: {size} bytes, manifest says {entry['size']} (truncated or replaced)")
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: SHA-256 does not match the manifest (damaged or swapped file)")
    settings = Sam2Settings.from_manifest(data["settings"], folder / MANIFEST_NAME)
    for graph in GRAPH_NAMES:
        path = folder / data["graphs"][graph]["file"]
        if file_place_problem(folder, path.name) is None:
            precision = str(data.get("precision", "fp32"))
            problems.extend(
                graph_problems(
                    path,
                    graph,
                    data["graphs"][graph],
                    settings,
                    precision,
                    family=manifest_family(data),
                    tokens=memory_tokens(data),
                )
            )
    spec = VARIANTS.get(data["variant"])
    encoder_inputs = data["graphs"]["image_encoder"].get("inputs", [])
    if spec is not None and encoder_inputs:
        size = data["settings"].get("image_size")
        if size != spec.image_size or encoder_inputs[0].get("shape", [None] * 4)[-1] != size:
            problems.append(
                f"{folder / MANIFEST_NAME}: variant {spec.key} takes {spec.image_size} px input, "
                f"bundle declares {size} (wrong variant)"
            )
    return problems


def user_models_dir() -> Path:
    """Where `roto models install/import` put bundles: the user's data directory (ROTO_MODELS_DIR overrides)."""
    override = os.environ.get("ROTO_MODELS_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("roto", appauthor=False)) / "models"


def search_dirs() -> list[Path]:
    """Folders searched for bundles, in order: the user's models folder, then `models/` beside a frozen app."""
    dirs = [user_models_dir()]
    if getattr(sys, "frozen", False):
        dirs.append(Path(sys.executable).resolve().parent / "models")
    return dirs


def installed_bundles() -> list[Path]:
    """Bundle folders found in the search directories (by manifest presence; use verify for soundness)."""
    found: list[Path] = []
    for root in search_dirs():
        try:
            found.extend(sorted(p for p in root.iterdir() if (p / MANIFEST_NAME).exists()))
        except OSError:
            continue  # missing or unreadable: no bundles there
    return found


def find_bundle(name_or_path: str) -> Path:
    """Resolve a bundle given by folder path or by installed name."""
    candidate = Path(name_or_path)
    if (candidate / MANIFEST_NAME).exists():
        return candidate
    for folder in installed_bundles():
        if folder.name == name_or_path:
            return folder
    installed = ", ".join(p.name for p in installed_bundles()) or "none"
    raise ModelError(
        f"no model bundle named {name_or_path!r} (installed: {installed}); see `roto models list`"
    )


def choose_bundle(preferred: str = "") -> Path | None:
    """The bundle to use: ROTO_MODEL (a folder or an installed name) when set, else `preferred`, else the first
    installed bundle with real weights (None when there is none). The editor and the CLI both choose this way."""
    explicit = os.environ.get("ROTO_MODEL") or preferred
    if explicit:
        return find_bundle(explicit)
    for folder in installed_bundles():
        try:
            if not load_bundle(folder).random_weights:
                return folder
        except ModelError as exc:  # a broken bundle is `roto models verify`'s business; the next may do
            logging.getLogger(__name__).warning("skipping model bundle %s: %s", folder, exc)
    return None
