"""The prompt decoder cut at its IoU: the same outputs as the whole graph, and segment everything unchanged by it."""

from __future__ import annotations

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
    """A session whose runs are counted."""

    def __init__(self, session: Any) -> None:
        self.session, self.runs = session, 0

    def run(self, *args: Any) -> Any:
        self.runs += 1
        return self.session.run(*args)


@pytest.fixture(scope="module")
def service(test_bundle_path: Path) -> EngineService:
    return EngineService.open(load_bundle(test_bundle_path))


@pytest.fixture
def picture() -> Iterator[StillImage]:
    rng = np.random.default_rng(3)
    yield StillImage(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))


def _counted(service: EngineService) -> tuple[SplitDecoder, _Counted, _Counted]:
    split = service.graphs.split_decoder
    assert split is not None
    head, tail = _Counted(split.head), _Counted(split.tail)
    return SplitDecoder(head, tail, split.carried, split.tail_inputs), head, tail


def test_head_and_tail_give_the_whole_graphs_outputs(service: EngineService, picture: StillImage) -> None:
    split = service.graphs.split_decoder
    assert split is not None and split.carried  # the transformer's outputs cross the cut
    decoder = service.graphs.decoder
    embedding = service.encode(picture, 0)
    for x, y in ((10.0, 12.0), (60.0, 40.0)):
        coords, labels = prompts_to_model(
            np.array([[x, y]], np.float32), np.ones(1, np.int64), None, embedding.frame_hw, 1024
        )
        whole = decoder(embedding, coords, labels)
        feeds = decoder.feeds(embedding, coords, labels)
        iou, carried = split.iou(feeds)
        np.testing.assert_allclose(iou[0], whole.iou, atol=1e-5)
        np.testing.assert_allclose(split.masks(feeds, carried)[0], whole.masks, atol=1e-4)


def _whole_graph(service: EngineService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: None))


def _same(ours: list[automask.Proposal], whole: list[automask.Proposal]) -> None:
    assert len(ours) == len(whole)
    for a, b in zip(ours, whole, strict=True):
        assert np.array_equal(a.mask, b.mask) and a.box == b.box and a.point == b.point
        assert a.predicted_iou == pytest.approx(b.predicted_iou, abs=1e-5)


def test_masks_only_for_points_that_pass_and_the_same_proposals(
    service: EngineService, picture: StillImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    split, head, tail = _counted(service)
    everything = AutomaskParams(
        points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
    )
    scores = sorted(p.predicted_iou for p in generate_proposals(service, picture, 0, everything))
    # the 0.0 filter runs the whole graph; a threshold keeping some candidates and dropping others:
    params = AutomaskParams(
        points_per_side=6,
        pred_iou_thresh=scores[len(scores) // 2],
        stability_score_thresh=0.0,
        box_nms_thresh=1.0,
    )
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: split))
    ours = generate_proposals(service, picture, 0, params)
    assert head.runs == 36 and 0 < tail.runs < 36  # masks decoded only where a candidate passes
    _whole_graph(service, monkeypatch)
    _same(ours, generate_proposals(service, picture, 0, params))


def test_whole_graph_once_most_points_pass(
    service: EngineService, picture: StillImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    split, head, tail = _counted(service)
    monkeypatch.setattr(type(service.graphs), "split_decoder", property(lambda _graphs: split))
    params = AutomaskParams(points_per_side=9, pred_iou_thresh=1e-6, stability_score_thresh=0.0)
    ours = generate_proposals(service, picture, 0, params)
    assert head.runs == tail.runs == automask.SPLIT_TRIAL  # then the whole graph for the other 17 points
    _whole_graph(service, monkeypatch)
    _same(ours, generate_proposals(service, picture, 0, params))
