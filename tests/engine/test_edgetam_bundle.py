"""The committed reduced EdgeTAM bundle (tests/data/bundles/edgetam-test) used like any bundle, without torch:
verified, tracked through the propagator with perceiver memories, and driven by `roto track` and `roto segment`.

Regenerate it with (EdgeTAM's code installed by scripts/setup-env.sh):
    python -m roto models export --variant edgetam-test --random-weights --name edgetam-test \
        --out tests/data/bundles/edgetam-test --overwrite
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.cli import main
from roto.engine.bundle import load_bundle, verify_bundle
from roto.engine.propagator import VideoPropagator
from roto.media import open_media
from tests.conftest import ROOT

EDGETAM_BUNDLE = ROOT / "tests" / "data" / "bundles" / "edgetam-test"


def test_the_committed_edgetam_bundle_is_sound() -> None:
    assert verify_bundle(EDGETAM_BUNDLE) == []
    bundle = load_bundle(EDGETAM_BUNDLE)
    assert (bundle.family, bundle.variant, bundle.random_weights) == ("edgetam", "edgetam-test", True)
    memory_feats = next(
        io for io in bundle.manifest["graphs"]["memory_attention"]["inputs"] if io["name"] == "memory_feats"
    )
    assert memory_feats["shape"] == ["num_memories", 32, 16]  # 16 global + 16 grid latents of 16 channels


def test_two_objects_track_with_perceiver_memories(small_clip: Path) -> None:
    with open_media(small_clip) as source:
        ours = VideoPropagator.open(load_bundle(EDGETAM_BUNDLE), source, memory_frames=3)
        ours.add_prompts(0, 1, np.array([[50.0, 50.0]], np.float32), np.array([1]))
        ours.add_prompts(0, 2, box=np.array([0.0, 0.0, 30.0, 30.0], np.float32))
        results = list(ours.propagate())
        assert [r.frame for r in results] == list(range(source.frame_count))
        assert all(r.mask(1).any() and r.mask(2).any() for r in results)
        memory = ours._memories.get((1, 1))
        assert memory is not None and memory.shape[-2:] == (32, 16)
        assert len(ours._memories) > ours._memories.in_memory  # spilled beyond the RAM budget, like SAM2.1's
        ours.close()


def test_roto_track_and_segment_use_the_edgetam_bundle(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["track", str(small_clip), "--out", str(tmp_path / "track"), "--model", str(EDGETAM_BUNDLE),
         "--object", "square", "--point", "0:50,50", "--format", "png8", "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["frames_written"] == len(list((tmp_path / "track").iterdir())) > 1
    with open_media(small_clip) as source:
        cv2.imwrite(str(tmp_path / "frame.png"), np.array(source.read(0))[:, :, ::-1])
    code = main(
        ["segment", str(tmp_path / "frame.png"), "-o", str(tmp_path / "mask.png"), "--model", str(EDGETAM_BUNDLE),
         "--point", "50,50"]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 0, err
    assert (tmp_path / "mask.png").is_file()


def test_converting_edgetam_without_its_code_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROTO_EDGETAM_PATH", str(tmp_path / "nowhere"))
    code = main(
        ["models", "export", "--variant", "edgetam-test", "--random-weights", "--out", str(tmp_path / "out")]
    )
    _, err = capsys.readouterr()
    assert code != 0
    assert f"{tmp_path / 'nowhere'}: EdgeTAM's model code is not installed there" in err
    assert "setup-env.sh convert" in err and "edgetam-dimos==1.0.1" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_models_list_offers_edgetam_with_its_measured_size_and_speed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "list", "--json"]) == 0
    available = {a["variant"]: a for a in json.loads(capsys.readouterr().out)["available"]}
    assert available["edgetam"]["family"] == "edgetam" and available["tiny"]["family"] == "sam2.1"
    for variant in ("edgetam", "tiny"):
        assert available[variant]["bundle_mib"] > 0 and available[variant]["propagation_fps"] > 0
    assert main(["models", "list"]) == 0
    fps = available["edgetam"]["propagation_fps"]  # the catalog's figure, as the human listing prints it
    assert (
        f"edgetam    edgetam (from Meta's checkpoint): 92 MiB, {fps:.2f} frames/s" in capsys.readouterr().out
    )
