"""`roto models ...`, `roto doctor` and `roto segment`, run in-process through roto.cli.main."""

from __future__ import annotations

import functools
import json
import shutil
import urllib.error
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

import roto.engine.install
from roto.cli import main
from roto.engine.bundle import MANIFEST_NAME, load_bundle
from roto.engine.download import download
from roto.engine.predictor import ImagePredictor


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("ROTO_MODELS_DIR", str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where checkpoints would be downloaded
    return folder


@pytest.fixture
def bundle_copy(test_bundle_path: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(test_bundle_path, tmp_path / "src" / "sam2.1-test"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(err: str, *fragments: str) -> None:
    assert err.startswith("roto: error: ")
    assert err.strip().count("\n") == 0, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def _zip_folder(folder: Path, archive: Path, top: str = "sam2.1-test/") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, top + path.name)
    return archive


def _read_image(path: Path, flags: int) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    assert image is not None, f"{path} is not a readable image"
    return image


def _installed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code, out, _ = _run(capsys, "models", "list", "--json")
    assert code == 0
    return list(json.loads(out)["installed"])


def test_import_folder_then_list(
    models_dir: Path, test_bundle_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _installed(capsys) == []
    code, out, _ = _run(capsys, "models", "import", str(test_bundle_path))
    assert code == 0
    assert "installed sam2.1-test" in out
    assert (models_dir / "sam2.1-test" / MANIFEST_NAME).is_file()
    (info,) = _installed(capsys)
    assert info["name"] == "sam2.1-test"
    assert info["variant"] == "test"
    assert info["random_weights"] is True
    assert Path(info["path"]) == models_dir / "sam2.1-test"
    assert [p.name for p in models_dir.iterdir()] == ["sam2.1-test"]  # no staging folder left behind
    code, out, _ = _run(capsys, "models", "verify", "sam2.1-test")
    assert code == 0
    assert "sam2.1-test: OK" in out


def test_import_twice_needs_overwrite(
    models_dir: Path, test_bundle_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "models", "import", str(test_bundle_path))[0] == 0
    code, _, err = _run(capsys, "models", "import", str(test_bundle_path))
    assert code == 1
    _assert_one_line_error(err, "a bundle with this name is installed", "--overwrite")
    assert _run(capsys, "models", "import", str(test_bundle_path), "--overwrite")[0] == 0
    assert _run(capsys, "models", "import", str(test_bundle_path), "--name", "other")[0] == 0
    assert sorted(p.name for p in models_dir.iterdir()) == ["other", "sam2.1-test"]


def test_import_zip(
    models_dir: Path, test_bundle_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _zip_folder(test_bundle_path, tmp_path / "bundle.zip")
    code, _, _ = _run(capsys, "models", "import", str(archive))
    assert code == 0
    installed = models_dir / "sam2.1-test"
    for path in test_bundle_path.iterdir():
        assert (installed / path.name).read_bytes() == path.read_bytes()


def test_import_zip_with_escaping_member_is_refused(
    models_dir: Path, test_bundle_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _zip_folder(test_bundle_path, tmp_path / "evil.zip", top="")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../escaped.onnx", b"payload")
    code, _, err = _run(capsys, "models", "import", str(archive))
    assert code == 1
    _assert_one_line_error(err, "unsafe or unexpected member '../escaped.onnx'")
    assert not (tmp_path / "escaped.onnx").exists()
    assert not (models_dir.parent / "escaped.onnx").exists()
    assert list(models_dir.iterdir()) == []  # staging folder removed, nothing installed


def test_import_damaged_bundle_is_refused(
    models_dir: Path, bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    decoder = bundle_copy / "prompt_decoder.onnx"
    decoder.write_bytes(decoder.read_bytes()[:-10])
    code, _, err = _run(capsys, "models", "import", str(bundle_copy))
    assert code == 1
    assert err.startswith("roto: error: the bundle failed verification")
    assert "prompt_decoder.onnx" in err
    assert list(models_dir.iterdir()) == []


def test_import_of_something_else_is_refused(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "models", "import", str(tmp_path / "absent"))
    assert code == 1
    _assert_one_line_error(err, "absent: not found")
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    code, _, err = _run(capsys, "models", "import", str(text))
    assert code == 1
    _assert_one_line_error(err, "notes.txt: neither a bundle folder nor a .zip")


@pytest.mark.parametrize("bad_name", ["../escaped", "a/b", ".."])
def test_import_name_option_may_not_escape_the_models_folder(
    models_dir: Path, bundle_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_name: str
) -> None:
    code, _, err = _run(capsys, "models", "import", str(bundle_copy), "--name", bad_name, "--overwrite")
    assert code == 1
    _assert_one_line_error(err, f"bundle name {bad_name!r} must be a plain folder name")
    assert not (tmp_path / "escaped").exists()
    assert list(models_dir.iterdir()) == []


@pytest.mark.parametrize("bad_name", ["../escaped", "a/b", "..", ""])
def test_manifest_name_may_not_escape_the_models_folder(
    models_dir: Path, bundle_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_name: str
) -> None:
    """The manifest is not checksummed, so its name is untrusted: with --overwrite it once chose what to delete."""
    manifest = bundle_copy / MANIFEST_NAME
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["name"] = bad_name
    manifest.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = _run(capsys, "models", "import", str(bundle_copy), "--overwrite")
    assert code == 1
    _assert_one_line_error(err, f"bundle name {bad_name!r} must be a plain folder name")
    assert not (tmp_path / "escaped").exists()
    assert list(models_dir.iterdir()) == []


def test_remove(models_dir: Path, test_bundle_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "models", "import", str(test_bundle_path))[0] == 0
    code, out, _ = _run(capsys, "models", "remove", "sam2.1-test")
    assert code == 0
    assert "removed" in out
    assert not (models_dir / "sam2.1-test").exists()
    assert _installed(capsys) == []


@pytest.mark.parametrize("name", ["sam2.1-nothing", "..", "../models"])
def test_remove_unknown_name_fails(
    models_dir: Path, test_bundle_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert _run(capsys, "models", "import", str(test_bundle_path))[0] == 0
    code, _, err = _run(capsys, "models", "remove", name)
    assert code == 1
    _assert_one_line_error(err, f"no installed bundle named {name!r}")
    assert (models_dir / "sam2.1-test" / MANIFEST_NAME).is_file()


def test_install_offline_fails_fast_with_manual_hint(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    requested: list[str] = []

    def offline(request: Any, timeout: float) -> Any:
        requested.append(request.full_url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(roto.engine.install, "download", functools.partial(download, opener=offline))
    code, _, err = _run(capsys, "models", "install", "tiny")
    assert code == 1
    assert requested == ["https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_tiny.pt"]
    _assert_one_line_error(err, "offline?", "roto models import sam2.1_hiera_tiny.pt --variant tiny")
    assert not models_dir.exists() or list(models_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["test", "sam2.1-test", "huge"])
def test_install_refuses_unknown_and_test_variants(
    models_dir: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, _, err = _run(capsys, "models", "install", name)
    assert code == 1
    _assert_one_line_error(err, f"unknown model {name!r}", "tiny, small, base-plus, large")


def test_doctor_json(models_dir: Path, test_bundle_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "doctor", "--json")
    report = json.loads(out)
    assert code == 1  # no bundle installed yet is a problem
    assert any("no model bundle installed" in p for p in report["problems"])
    assert "CPUExecutionProvider" in report["providers"]
    if "CUDAExecutionProvider" not in report["providers"]:
        assert report["cuda"] == {"works": False, "note": report["cuda"]["note"]}
        assert "no CUDA provider" in report["cuda"]["note"]
        assert report["auto"] == {
            "chain": ["CPU"],
            "passed_over": ["no CUDA provider in this ONNX Runtime (onnxruntime-gpu is not installed)"],
        }
        assert report["tensorrt"] == {"offered": False, "note": "no TensorRT provider in this ONNX Runtime"}
    assert report["auto"]["chain"][-1] == "CPU"
    assert report["packages"]["numpy"] == np.__version__

    assert _run(capsys, "models", "import", str(test_bundle_path))[0] == 0
    code, out, _ = _run(capsys, "doctor", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["problems"] == []
    (bundle,) = report["bundles"]
    assert bundle["name"] == "sam2.1-test"
    assert bundle["ok"] is True


@pytest.fixture
def truck(shared_media: Path) -> Path:
    path = shared_media / "truck.jpg"
    if not path.is_file():
        pytest.skip(f"sample image {path} is absent")
    return path


def test_segment_writes_the_predictors_best_mask(
    models_dir: Path, test_bundle_path: Path, truck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_png = tmp_path / "mask.png"
    code, out, _ = _run(
        capsys, "segment", str(truck), "--model", str(test_bundle_path), "--point", "500,375",
        "-o", str(out_png), "--provider", "cpu", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    written = _read_image(out_png, cv2.IMREAD_UNCHANGED)

    rgb = cv2.cvtColor(_read_image(truck, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    predictor = ImagePredictor.open(load_bundle(test_bundle_path))
    predictor.set_frame(rgb)
    prediction = predictor.predict(np.array([[500.0, 375.0]]), np.array([1]))
    expected = prediction.mask()

    assert written.dtype == np.uint8
    assert written.shape == rgb.shape[:2]
    assert set(np.unique(written).tolist()) <= {0, 255}
    np.testing.assert_array_equal(written == 255, expected)
    assert result["area"] == int(expected.sum())
    assert result["score"] == pytest.approx(float(prediction.scores[prediction.best]))
    assert result["provider"] == "CPUExecutionProvider"


def test_segment_by_installed_name_and_box(
    models_dir: Path, test_bundle_path: Path, truck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "models", "import", str(test_bundle_path))[0] == 0
    out_png = tmp_path / "box.png"
    code, out, _ = _run(
        capsys, "segment", str(truck), "--model", "sam2.1-test", "--box", "100,100,900,700",
        "--single", "-o", str(out_png),
    )  # fmt: skip
    assert code == 0
    assert out.startswith(f"wrote {out_png}")
    assert _read_image(out_png, cv2.IMREAD_UNCHANGED).shape == (1200, 1800)


def test_segment_without_model_skips_random_weight_bundles(
    models_dir: Path, test_bundle_path: Path, truck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "models", "import", str(test_bundle_path))[0] == 0
    code, _, err = _run(capsys, "segment", str(truck), "--point", "5,5", "-o", str(tmp_path / "m.png"))
    assert code == 1
    _assert_one_line_error(err, "no model bundle installed", "roto models install tiny")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["segment", "{tmp}/absent.jpg", "--point", "5,5"],
            "absent.jpg: cannot be read (No such file or directory)",
        ),
        (["segment", "{truck}"], "give at least one --point"),
        (["segment", "{truck}", "--point", "5000,5"], "point (5000, 5) lies outside the 1800x1200 frame"),
        (["segment", "{truck}", "--point", "5,5:7"], "point labels must be 0 (exclude) or 1 (include)"),
        (["segment", "{truck}", "--box", "50,50,10,10"], "is empty"),
        (["segment", "{truck}", "--point", "5,5", "--model", "nope"], "no model bundle named 'nope'"),
    ],
)
def test_segment_user_errors(
    models_dir: Path,
    test_bundle_path: Path,
    truck: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    argv = [a.format(tmp=tmp_path, truck=truck) for a in argv]
    if "--model" not in argv:
        argv += ["--model", str(test_bundle_path)]
    code, _, err = _run(capsys, *argv, "-o", str(tmp_path / "m.png"))
    assert code == 1
    _assert_one_line_error(err, message)
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--point", "five,6", "point 'five,6' is not X,Y or X,Y:LABEL"),
        ("--point", "1,2,3", "point '1,2,3' is not X,Y or X,Y:LABEL"),
        ("--box", "1,2,3", "box '1,2,3' is not X0,Y0,X1,Y1"),
    ],
)
def test_segment_unparsable_prompts_are_usage_errors(
    truck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", str(truck), option, value, "-o", str(tmp_path / "m.png")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.strip().splitlines()[-1].startswith("roto segment: error:")
    assert "Traceback" not in err
