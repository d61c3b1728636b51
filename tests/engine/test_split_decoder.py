"""The prompt decoder cut in three (frame, IoU, masks): the whole graph's outputs, segment everything unchanged."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from roto.engine import automask
from roto.engine.automask import AutomaskParams, generate_proposals
from roto.engine.bundle import load_bundle
from roto.engine.service import EngineService, StillImage
from roto.engine.split_decoder import SplitDecoder
from roto.engine.transforms import prompts_to_model


class _Counted:
    """A session whose runs are counted (from any thread)."""

    def __init__(self, session: Any) -> None:
        self.session, self.runs, self.lock = session, 0, threading.Lock()

    def run(self, *args: Any) -> Any:
        with self.lock:
            self.runs += 1
        return self.session.run(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.fixture(scope="module")
def service(test_bundle_path: Path) -> EngineService:
    return EngineService.open(load_bundle(test_bundle_path))


@pytest.fixture
def picture() -> Iterator[StillImage]:
    rng = np.random.default_rng(3)
    yield StillImage(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))


def _counted(service: EngineService, workers: int = 2) -> tuple[SplitDecoder, _Counted, _Counted, _Counted]:
    split = service.graphs.split_decoder
    assert split is not None
    frame, head, tail = _Counted(split.frame), _Counted(split.head), _Counted(split.tail)
    return dataclasses.replace(split, frame=frame, head=head, tail=tail, workers=workers), frame, head, tail


@pytest.mark.parametrize("bundle", ["sam2.1-test", "edgetam-test"])
def test_frame_head_and_tail_give_the_whole_graphs_outputs(
    test_bundle_path: Path, picture: StillImage, bundle: str
) -> None:
    service = EngineService.open(load_bundle(test_bundle_path.parent / bundle))
    split = service.graphs.split_decoder
    assert split is not None and split.carried  # the transformer's outputs cross the cut
    # the image side of the first layer is the frame's: the IoU part never reads the embedding itself
    assert split.frame is not None and "image_embed" in split.frame_inputs
    assert "image_embed" not in split.head_inputs
    decoder = service.graphs.decoder
    embedding = service.encode(picture, 0)
    frame = None
    for x, y in ((10.0, 12.0), (60.0, 40.0)):
        coords, labels = prompts_to_model(
            np.array([[x, y]], np.float32), np.ones(1, np.int64), None, embedding.frame_hw, 1024
        )
        whole = decoder(embedding, coords, labels)
        feeds = decoder.feeds(embedding, coords, labels)
        frame = frame or split.prepare(feeds)  # once for both points
        iou, carried = split.iou(feeds, frame)
        np.testing.assert_allclose(iou[0], whole.iou, atol=1e-5)
        np.testing.assert_allclose(split.masks(feeds, frame, carried)[0], whole.masks, atol=1e-4)


def _whole_graph(service: EngineService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: None))


def _same(ours: list[automask.Proposal], whole: list[automask.Proposal]) -> None:
    assert len(ours) == len(whole)
    for a, b in zip(ours, whole, strict=True):
        # logits agree to ~1e-6: on this noise picture a pixel whose logit is that close to 0 may flip
        assert np.count_nonzero(a.mask != b.mask) <= 2 and a.point == b.point
        assert np.abs(np.subtract(a.box, b.box)).max() <= 1
        assert a.predicted_iou == pytest.approx(b.predicted_iou, abs=1e-5)


def test_masks_only_for_points_that_pass_and_the_same_proposals(
    service: EngineService, picture: StillImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = AutomaskParams(
        points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
    )
    scores = sorted(p.predicted_iou for p in generate_proposals(service, picture, 0, everything))
    # a threshold keeping some candidates and dropping others:
    params = AutomaskParams(
        points_per_side=6,
        points_per_batch=8,
        pred_iou_thresh=scores[len(scores) // 2],
        stability_score_thresh=0.0,
        box_nms_thresh=1.0,
    )
    split, frame, head, tail = _counted(service)
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: split))
    ours = generate_proposals(service, picture, 0, params)
    assert frame.runs == 1  # once for the frame, not per batch of 8 points
    assert head.runs == 36 and 0 < tail.runs < 36  # masks decoded only where a candidate passes
    _whole_graph(service, monkeypatch)
    _same(ours, generate_proposals(service, picture, 0, params))


@pytest.mark.parametrize("workers", [1, 3])
def test_same_proposals_on_any_number_of_workers(
    service: EngineService, picture: StillImage, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Every point passes: masks for all 81 (the cut never costs more than the whole graph), in the grid's order."""
    split, frame, head, tail = _counted(service, workers)
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: split))
    params = AutomaskParams(
        points_per_side=9, points_per_batch=10, pred_iou_thresh=1e-6, stability_score_thresh=0.0
    )
    ours = generate_proposals(service, picture, 0, params)
    assert head.runs == tail.runs == 81 and frame.runs == 1
    _whole_graph(service, monkeypatch)
    _same(ours, generate_proposals(service, picture, 0, params))


@pytest.mark.parametrize(
    "change", [{"multimask_output": False}, {"pred_iou_thresh": 0.0}], ids=["single-mask", "no-iou-filter"]
)
def test_single_mask_and_no_iou_filter_through_the_cut(
    service: EngineService, picture: StillImage, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any]
) -> None:
    """Every point's masks are decoded (SAM2's stability fallback needs token 0's), same proposals as the whole graph."""
    split, frame, head, tail = _counted(service)
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: split))
    base = {"pred_iou_thresh": 0.2, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}
    params = AutomaskParams(points_per_side=5, **{**base, **change})
    ours = generate_proposals(service, picture, 0, params)
    assert head.runs == tail.runs == 25 and frame.runs == 1 and ours
    _whole_graph(service, monkeypatch)
    _same(ours, generate_proposals(service, picture, 0, params))


def test_a_graph_fixed_to_several_points_is_run_whole(tmp_path: Path) -> None:
    """A decoder whose prompt inputs take exactly 3 points cannot be fixed to one: not cut, no error."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    coords = helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, [1, 3, 2])
    labels = helper.make_tensor_value_info("point_labels", TensorProto.FLOAT, [1, 3])
    nodes = [
        helper.make_node("ReduceSum", ["point_coords"], ["iou_predictions"], keepdims=0),
        helper.make_node("Identity", ["point_labels"], ["masks"]),
    ]
    outputs = [
        helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, None),
        helper.make_tensor_value_info("masks", TensorProto.FLOAT, None),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "fixed", [coords, labels], outputs),
        opset_imports=[helper.make_opsetid("", 13)],
    )
    model.ir_version = 9
    path = tmp_path / "prompt_decoder.onnx"
    onnx.save(model, str(path))
    like = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert SplitDecoder.open(path, like, 1) is None
