"""Bundles built from graph templates and a checkpoint, without torch, equal the converter's bundles.

Each case saves a random-weight SAM2.1 model with torch.save (seed 1, every weight randomised, so no two weights
are equal and a weight mapped to another of the same shape would show; the committed templates were traced from
seed 0, so nothing of those weights can hide in a template), converts the same model with the torch exporter,
builds a bundle from the template and the saved file, and compares the two: graph nodes, signatures, settings,
every initializer, and the outputs of every graph and the masks of the same prompts.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from roto.engine import edgetam_env
from roto.engine.bundle import EDGETAM, GRAPH_NAMES, MANIFEST_NAME, load_bundle, verify_bundle
from roto.engine.install import import_checkpoint
from roto.engine.predictor import ImagePredictor
from roto.engine.templates import bundle_from_checkpoint, load_template
from roto.errors import ModelError

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")

COMPUTED_TOL = 1e-6  # initializers ONNX Runtime recomputes from several weights (products, interpolation)
OUTPUT_TOL = 1e-5
LOGIT_TOL = 1e-4
SEED = 1


def _save_checkpoint(model: Any, path: Path) -> Path:
    torch.save({"model": model.state_dict()}, path)
    return path


def _torch_and_template_bundles(variant: str, root: Path) -> tuple[Path, Path, Path]:
    from roto.engine.export_onnx import ExportRequest, build_sam2_model, export_bundle
    from roto.engine.template_export import randomise

    model = randomise(build_sam2_model(variant, None, seed=SEED), SEED)
    checkpoint = _save_checkpoint(model, root / f"sam2.1_{variant}.pt")
    converted = export_bundle(ExportRequest(variant=variant, out_dir=root / "torch", seed=SEED), model=model)
    built = root / "template"
    built.mkdir()
    bundle_from_checkpoint(checkpoint, variant, built, f"sam2.1-{variant}")
    return checkpoint, converted, built


def _initializers(model: onnx.ModelProto) -> list[tuple[str, int, list[int], np.ndarray]]:
    return [(i.name, i.data_type, list(i.dims), numpy_helper.to_array(i)) for i in model.graph.initializer]


def _random_inputs(entry: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    feeds = {}
    for spec in entry["inputs"]:
        shape = [d if isinstance(d, int) else 3 for d in spec["shape"]]
        if spec["dtype"] == "int64":
            feeds[spec["name"]] = rng.integers(0, 7, shape).astype(np.int64)
        else:
            feeds[spec["name"]] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _assert_same_bundle(converted: Path, built: Path, variant: str) -> None:
    ours, theirs = (json.loads((p / MANIFEST_NAME).read_text()) for p in (built, converted))
    assert ours["graphs"] == theirs["graphs"]
    assert ours["settings"] == theirs["settings"]
    assert ours["variant"] == theirs["variant"] == variant
    assert ours["family"] == theirs["family"] and ours.get("perceiver") == theirs.get("perceiver")
    assert verify_bundle(built) == []
    recipes = {name: entry["weights"] for name, entry in load_template(variant).meta["graphs"].items()}
    rng = np.random.default_rng(0)
    for graph in GRAPH_NAMES:
        a, b = (onnx.load(p / f"{graph}.onnx") for p in (built, converted))
        assert [n.SerializeToString() for n in a.graph.node] == [n.SerializeToString() for n in b.graph.node]
        assert a.graph.input == b.graph.input and a.graph.output == b.graph.output
        mine, reference = _initializers(a), _initializers(b)
        assert [x[:3] for x in mine] == [x[:3] for x in reference], graph
        for (name, _, _, got), (_, _, _, want) in zip(mine, reference, strict=True):
            if "computed_from" in recipes[graph].get(name, {}):
                assert np.abs(got - want).max(initial=0) <= COMPUTED_TOL, name
            else:  # a state-dict tensor as it is, or a weight-free constant: bit for bit
                assert got.tobytes() == want.tobytes(), name
        feeds = _random_inputs(ours["graphs"][graph], rng)
        sessions = [
            ort.InferenceSession(str(p / f"{graph}.onnx"), providers=["CPUExecutionProvider"])
            for p in (built, converted)
        ]
        for x, y in zip(*(s.run(None, feeds) for s in sessions), strict=True):
            np.testing.assert_allclose(x, y, rtol=0, atol=OUTPUT_TOL)


def _assert_same_masks(converted: Path, built: Path) -> None:
    size = load_bundle(built).image_size
    rgb = np.random.default_rng(3).integers(0, 255, (size * 3 // 4, size, 3), dtype=np.uint8)
    predictors = [ImagePredictor.open(load_bundle(p)) for p in (built, converted)]
    for predictor in predictors:
        predictor.set_frame(rgb)
    prompts = [
        {"points": np.array([[size * 0.3, size * 0.4]]), "labels": np.array([1])},
        {
            "points": np.array([[size * 0.5, size * 0.2], [size * 0.6, size * 0.5]]),
            "labels": np.array([1, 0]),
        },
        {"box": np.array([size * 0.1, size * 0.1, size * 0.7, size * 0.6])},
    ]
    for prompt in prompts:
        ours, theirs = (p.predict(**prompt) for p in predictors)
        np.testing.assert_allclose(ours.scores, theirs.scores, rtol=0, atol=OUTPUT_TOL)
        if np.sort(theirs.scores)[-1] - np.sort(theirs.scores)[-2] > 2 * OUTPUT_TOL:  # a clear best
            assert ours.best == theirs.best
        for index in range(len(ours)):
            np.testing.assert_allclose(ours.logits(index), theirs.logits(index), rtol=0, atol=LOGIT_TOL)
            # A pixel whose logit is within rounding of zero may fall either side; nothing else may differ.
            differ = ours.mask(index) != theirs.mask(index)
            assert np.all(np.abs(theirs.logits(index)[differ]) <= LOGIT_TOL), f"{int(differ.sum())} pixels"


def test_template_bundle_equals_the_converted_bundle_test_variant(tmp_path: Path) -> None:
    _, converted, built = _torch_and_template_bundles("test", tmp_path)
    _assert_same_bundle(converted, built, "test")
    _assert_same_masks(converted, built)


# The larger variants take minutes each to convert on two cores: run with ROTO_TEST_ALL_VARIANTS=1.
ALL_VARIANTS = os.environ.get("ROTO_TEST_ALL_VARIANTS") == "1"


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [
        "tiny",
        *(
            pytest.param(v, marks=pytest.mark.skipif(not ALL_VARIANTS, reason="set ROTO_TEST_ALL_VARIANTS=1"))
            for v in ("small", "base-plus", "large")
        ),
    ],
)
def test_template_bundle_equals_the_converted_bundle(tmp_path: Path, variant: str) -> None:
    _, converted, built = _torch_and_template_bundles(variant, tmp_path)
    _assert_same_bundle(converted, built, variant)
    _assert_same_masks(converted, built)


# --- EdgeTAM: its PyTorch code runs in a child Python (edgetam_env); building from its template needs none ------

needs_edgetam_code = pytest.mark.skipif(
    not edgetam_env.fork_available(), reason=f"EdgeTAM's code is not installed: {edgetam_env.INSTALL_HINT}"
)


def _edgetam_sides(variant: str, out: Path) -> tuple[Path, Path]:
    """(a random-weight EdgeTAM saved as a checkpoint, the same model converted by the torch exporter)."""
    edgetam_env.run_in_fork("tests.engine.edgetam_checkpoint", [str(out), variant, str(SEED)])
    return out / f"{variant}.pt", out / "torch"


@pytest.fixture(scope="module")
def edgetam_sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _edgetam_sides("edgetam-test", tmp_path_factory.mktemp("edgetam-template"))


def _assert_same_edgetam_bundle(converted: Path, built: Path, variant: str) -> None:
    _assert_same_bundle(converted, built, variant)
    _assert_same_masks(converted, built)
    assert load_bundle(built).family == EDGETAM


@needs_edgetam_code
def test_edgetam_template_bundle_equals_the_converted_bundle_test_variant(
    tmp_path: Path, edgetam_sides: tuple[Path, Path]
) -> None:
    checkpoint, converted = edgetam_sides
    bundle_from_checkpoint(checkpoint, "edgetam-test", tmp_path, "edgetam-test")
    _assert_same_edgetam_bundle(converted, tmp_path, "edgetam-test")


@pytest.mark.slow
@needs_edgetam_code
def test_edgetam_installs_from_its_template_without_converter_or_edgetam_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full-size template: what `roto models install edgetam` builds from Meta's checkpoint, where neither the
    converter nor EdgeTAM's code is importable (the frozen app), equals the converter's bundle."""
    checkpoint, converted = _edgetam_sides("edgetam", tmp_path)
    monkeypatch.setenv("ROTO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setitem(sys.modules, "roto.engine.export_onnx", None)  # import now raises ImportError
    monkeypatch.setenv(edgetam_env.FORK_DIR_ENV, str(tmp_path / "no-edgetam-code"))
    installed = import_checkpoint(checkpoint, "edgetam", progress=False)
    assert installed == tmp_path / "models" / "edgetam"
    _assert_same_edgetam_bundle(converted, installed, "edgetam")


@needs_edgetam_code
def test_an_edgetam_checkpoint_without_batchnorm_counters_builds(
    tmp_path: Path, edgetam_sides: tuple[Path, Path]
) -> None:
    """PyTorch loads a BatchNorm without its batch counter (unused in inference); so does the template."""
    state = torch.load(edgetam_sides[0])["model"]
    counters = [k for k in state if k.endswith("num_batches_tracked")]
    assert counters
    checkpoint = _save_checkpoint_state(
        {k: v for k, v in state.items() if k not in counters}, tmp_path / "edgetam.pt"
    )
    built = tmp_path / "built"
    built.mkdir()
    bundle_from_checkpoint(checkpoint, "edgetam-test", built, "edgetam-test")
    assert verify_bundle(built) == []


@needs_edgetam_code
def test_checkpoints_of_the_other_family_are_refused(
    tmp_path: Path, models_dir: Path, tiny_state: dict[str, Any], edgetam_sides: tuple[Path, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    tiny = _save_checkpoint_state(tiny_state, tmp_path / "sam2.1_hiera_tiny.pt")
    with pytest.raises(
        ModelError, match=r"sam2\.1_hiera_tiny\.pt: not an EdgeTAM \(edgetam-test\) checkpoint"
    ):
        bundle_from_checkpoint(tiny, "edgetam-test", out, "edgetam-test")
    with pytest.raises(ModelError, match=r"edgetam-test\.pt: not a SAM2\.1 tiny checkpoint"):
        import_checkpoint(edgetam_sides[0], "tiny", progress=False)
    state = torch.load(edgetam_sides[0])["model"]
    counter = next(k for k in state if k.endswith("num_batches_tracked"))
    state[counter] = state[counter].float()
    odd = _save_checkpoint_state(state, tmp_path / "odd.pt")
    with pytest.raises(
        ModelError, match=r"odd\.pt: .* of another shape or type \(.*num_batches_tracked is float32"
    ):
        bundle_from_checkpoint(odd, "edgetam-test", out, "edgetam-test")
    assert list(out.iterdir()) == []
    _assert_nothing_installed(models_dir)


# --- bad input: refused with the file named, nothing installed -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_state() -> dict[str, Any]:
    from roto.engine.export_onnx import build_sam2_model

    return dict(build_sam2_model("tiny", None, seed=SEED).state_dict())


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("ROTO_MODELS_DIR", str(folder))
    return folder


def _assert_nothing_installed(models_dir: Path) -> None:
    assert not models_dir.exists() or list(models_dir.iterdir()) == []


def test_a_good_checkpoint_installs_under_the_variant_name(
    tmp_path: Path, models_dir: Path, tiny_state: dict[str, Any]
) -> None:
    checkpoint = _save_checkpoint_state(tiny_state, tmp_path / "sam2.1_hiera_tiny.pt")
    installed = import_checkpoint(checkpoint, "tiny", progress=False)
    assert installed == models_dir / "sam2.1-tiny"
    bundle = load_bundle(installed)
    assert not bundle.random_weights and bundle.variant == "tiny"
    source = bundle.manifest["source"]
    assert source["checkpoint"] == "sam2.1_hiera_tiny.pt" and source["built_from"] == "graph template"
    from roto.engine.bundle import sha256_file

    assert source["checkpoint_sha256"] == sha256_file(checkpoint)
    assert sorted(p.name for p in models_dir.iterdir()) == ["sam2.1-tiny"]


def test_roto_models_import_builds_from_the_template(
    tmp_path: Path, models_dir: Path, tiny_state: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from roto.cli import main

    checkpoint = _save_checkpoint_state(tiny_state, tmp_path / "sam2.1_hiera_tiny.pt")
    assert main(["models", "import", str(checkpoint), "--variant", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"installed": str(models_dir / "sam2.1-tiny")}
    assert main(["models", "verify", "sam2.1-tiny", "--json"]) == 0


def _save_checkpoint_state(state: dict[str, Any], path: Path) -> Path:
    torch.save({"model": state}, path)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", r"1 tensors missing \(no_mem_embed\)"),
        ("extra", r"1 tensors unexpected \(extra\.weight\)"),
        ("shape", r"no_mem_embed is float32\[1, 1, 128\], expected float32\[1, 1, 256\]"),
        ("dtype", r"no_mem_embed is float16\[1, 1, 256\], expected float32\[1, 1, 256\]"),
    ],
)
def test_a_checkpoint_that_is_not_exactly_tiny_is_refused(
    tmp_path: Path, models_dir: Path, tiny_state: dict[str, Any], change: str, message: str
) -> None:
    state = copy.copy(tiny_state)
    if change == "missing":
        del state["no_mem_embed"]
    elif change == "extra":
        state["extra.weight"] = torch.zeros(2)
    elif change == "shape":
        state["no_mem_embed"] = torch.zeros(1, 1, 128)
    else:
        state["no_mem_embed"] = state["no_mem_embed"].half()
    checkpoint = _save_checkpoint_state(state, tmp_path / "odd.pt")
    with pytest.raises(ModelError, match=r"odd\.pt: not a SAM2\.1 tiny checkpoint .*" + message):
        import_checkpoint(checkpoint, "tiny", progress=False)
    _assert_nothing_installed(models_dir)


def test_another_variants_checkpoint_is_refused(tmp_path: Path, models_dir: Path) -> None:
    from roto.engine.export_onnx import build_sam2_model

    checkpoint = _save_checkpoint(build_sam2_model("test", None, seed=SEED), tmp_path / "reduced.pt")
    with pytest.raises(ModelError, match=r"reduced\.pt: not a SAM2\.1 tiny checkpoint .*of another shape"):
        import_checkpoint(checkpoint, "tiny", progress=False)
    _assert_nothing_installed(models_dir)


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("echo pwned",))


def test_malicious_truncated_and_foreign_checkpoints_install_nothing(
    tmp_path: Path, models_dir: Path
) -> None:
    evil = _save_checkpoint_state({"w": torch.ones(1), "x": _RunsCode()}, tmp_path / "evil.pt")  # type: ignore[dict-item]
    with pytest.raises(ModelError, match=r"evil\.pt: refused to load this checkpoint"):
        import_checkpoint(evil, "tiny", progress=False)
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(evil.read_bytes()[:100])
    with pytest.raises(ModelError, match=r"cut\.pt: not a PyTorch checkpoint"):
        import_checkpoint(truncated, "tiny", progress=False)
    foreign = tmp_path / "bundle.pt"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("manifest.json", "{}")
    with pytest.raises(ModelError, match=r"bundle\.pt: not a PyTorch checkpoint"):
        import_checkpoint(foreign, "tiny", progress=False)
    _assert_nothing_installed(models_dir)


@pytest.mark.slow
def test_release_script_zips_a_verified_bundle_with_its_catalog_entry(
    tmp_path: Path, models_dir: Path, tiny_state: dict[str, Any]
) -> None:
    import subprocess
    import sys

    from roto.engine.bundle import sha256_file
    from roto.engine.install import import_bundle

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    checkpoint = _save_checkpoint_state(tiny_state, checkpoints / "sam2.1_hiera_tiny.pt")
    script = Path(__file__).resolve().parents[2] / "scripts" / "release_bundles.py"
    out = tmp_path / "release"
    argv = [sys.executable, str(script), "--checkpoints", str(checkpoints), "--out", str(out)]
    argv += ["--base-url", "https://example.invalid/v1/", "--variants", "tiny"]
    subprocess.run(argv, check=True, capture_output=True)
    entry = json.loads((out / "catalog-entries.json").read_text())["tiny"]
    archive = out / "sam2.1-tiny.zip"
    assert entry == {
        "bundle_url": "https://example.invalid/v1/sam2.1-tiny.zip",
        "bundle_sha256": sha256_file(archive),
        "checkpoint_sha256": sha256_file(checkpoint),
    }
    assert (out / "SHA256SUMS").read_text() == f"{entry['bundle_sha256']}  sam2.1-tiny.zip\n"
    installed = import_bundle(archive)
    assert (
        verify_bundle(installed) == []
        and load_bundle(installed).manifest["source"]["checkpoint_sha256"] == (entry["checkpoint_sha256"])
    )
    first = entry["bundle_sha256"]
    subprocess.run(argv, check=True, capture_output=True)
    assert sha256_file(archive) == first, "the same checkpoint must give the same archive"
