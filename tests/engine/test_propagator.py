"""VideoPropagator behaviour on the committed test bundle: streaming, cancel and resume, errors, bounded RAM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from roto.engine.bundle import load_bundle
from roto.engine.propagator import VideoPropagator, bf16_round
from roto.engine.spill import SpillStore
from roto.errors import PromptError


class MovingSquare:
    """A synthetic shot: a bright square sliding right over a dark background; counts reads."""

    def __init__(self, frames: int = 12) -> None:
        self.frames = frames
        self.reads: list[int] = []
        self.media_id = f"moving-square-{frames}"

    @property
    def frame_count(self) -> int:
        return self.frames

    def read(self, index: int) -> np.ndarray:
        self.reads.append(index)
        image = np.full((240, 320, 3), 30, np.uint8)
        x = 40 + 10 * index
        image[80:160, x : x + 80] = (230, 200, 40)
        return image


@pytest.fixture()
def propagator(test_bundle_path: Path) -> Iterator[VideoPropagator]:
    prop = VideoPropagator.open(
        load_bundle(test_bundle_path), MovingSquare(), memory_frames=7, logit_frames=2
    )
    prop.add_prompts(0, 1, np.array([[80.0, 120.0]]), np.array([1]))
    prop.add_prompts(0, 2, box=np.array([30.0, 70.0, 130.0, 170.0]))
    yield prop
    prop.close()


def test_streams_every_frame_once_per_frame_for_all_objects(propagator: VideoPropagator) -> None:
    reader = propagator.reader
    assert isinstance(reader, MovingSquare)
    reader.reads.clear()
    results = list(propagator.propagate())
    assert [r.frame for r in results] == list(range(12))
    for result in results:
        assert set(result.logits) == {1, 2}
        assert result.mask(1).shape == (240, 320)
    # Each frame is read and encoded once for both objects; frame 0 was read when prompting, not again.
    assert reader.reads == list(range(1, 12))


def test_cancel_keeps_done_frames_and_resume_matches_uninterrupted(test_bundle_path: Path) -> None:
    bundle = load_bundle(test_bundle_path)
    point, label = np.array([[80.0, 120.0]]), np.array([1])
    whole = VideoPropagator.open(bundle, MovingSquare(), memory_frames=7)
    whole.add_prompts(0, 1, point, label)
    expected = {r.frame: r.logits[1] for r in whole.propagate()}

    parts = VideoPropagator.open(bundle, MovingSquare(), memory_frames=7)
    parts.add_prompts(0, 1, point, label)
    done: dict[int, np.ndarray] = {}
    for result in parts.propagate(cancel=lambda: len(done) >= 5):
        done[result.frame] = result.logits[1]
    assert sorted(done) == [0, 1, 2, 3, 4]
    for result in parts.propagate(start=5):
        done[result.frame] = result.logits[1]
    assert sorted(done) == sorted(expected)
    for frame, logits in expected.items():
        np.testing.assert_array_equal(done[frame], logits)
    whole.close()
    parts.close()


def test_prompted_frames_are_never_replaced_by_propagation(propagator: VideoPropagator) -> None:
    list(propagator.propagate())
    corrected = propagator.add_prompts(6, 1, np.array([[150.0, 120.0], [20.0, 20.0]]), np.array([1, 0]))
    rerun = {r.frame: r for r in propagator.propagate(start=0)}
    np.testing.assert_array_equal(rerun[6].logits[1], corrected.logits[1])
    assert propagator.prompted_frames(1) == [0, 6]


def test_backward_from_a_later_prompt(test_bundle_path: Path) -> None:
    prop = VideoPropagator.open(load_bundle(test_bundle_path), MovingSquare())
    prop.add_prompts(11, 3, np.array([[190.0, 120.0]]), np.array([1]))
    frames = [r.frame for r in prop.propagate(reverse=True)]
    assert frames == list(range(11, -1, -1))
    prop.close()


def test_memory_beyond_ram_budget_is_spilled_not_lost(propagator: VideoPropagator) -> None:
    list(propagator.propagate())
    memories = propagator._memories
    assert memories.in_memory == 7 * 2  # the window: num_maskmem recent memories per object
    assert len(memories) == 2 * 12  # one memory per object and frame, the rest on disk


def test_errors_are_clear(propagator: VideoPropagator, test_bundle_path: Path) -> None:
    with pytest.raises(PromptError, match="outside the shot"):
        propagator.add_prompts(12, 1, np.array([[10.0, 10.0]]), np.array([1]))
    with pytest.raises(PromptError, match="no prompts for object"):
        list(propagator.propagate(obj_ids=[9]))
    with pytest.raises(PromptError, match="against the direction"):
        list(propagator.propagate(start=5, end=2))
    with pytest.raises(PromptError, match="outside the 320x240 frame"):
        propagator.add_prompts(3, 1, np.array([[400.0, 10.0]]), np.array([1]))
    with pytest.raises(PromptError, match=r"must be 240x320 like the frame, got shape \(240, 300\)"):
        propagator.add_mask(3, 1, np.zeros((240, 300), bool))
    with pytest.raises(PromptError, match="boolean or 0/1"):
        propagator.add_mask(3, 1, np.full((240, 320), 0.5))
    assert propagator.prompted_frames(1) == [0]  # refused masks leave the prompts as they were
    empty = VideoPropagator.open(load_bundle(test_bundle_path), MovingSquare())
    with pytest.raises(PromptError, match="add points or a box first"):
        list(empty.propagate())
    empty.close()


def test_clearing_the_only_prompt_forgets_the_object(propagator: VideoPropagator) -> None:
    propagator.clear_prompts(0, 2)
    assert propagator.prompted_frames(2) == []
    assert [set(r.logits) for r in propagator.propagate(end=1)] == [{1}, {1}]


def test_bf16_rounding_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 100
    expected = torch.from_numpy(values).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(bf16_round(values), expected)


def test_spill_store_round_trips_through_disk() -> None:
    store = SpillStore(max_in_memory=2, bfloat16=True)
    arrays = {
        (1, i): bf16_round(np.random.default_rng(i).standard_normal((4, 8, 8)).astype(np.float32))
        for i in range(5)
    }
    for key, value in arrays.items():
        store.put(key, value)
    assert store.in_memory == 2 and len(store) == 5
    for key, value in arrays.items():
        np.testing.assert_array_equal(store.get(key), value)
    store.pop((1, 0))
    assert store.get((1, 0)) is None and (1, 0) not in store
    store.close()


def test_object_prompted_later_than_the_start_has_no_pointers_yet(test_bundle_path: Path) -> None:
    """Object 2's only prompt is on frame 6: tracking it from frame 0 attends to that future memory alone."""
    prop = VideoPropagator.open(load_bundle(test_bundle_path), MovingSquare())
    prop.add_prompts(0, 1, np.array([[80.0, 120.0]]), np.array([1]))
    prop.add_prompts(6, 2, np.array([[140.0, 120.0]]), np.array([1]))
    results = list(prop.propagate(end=8))
    assert [r.frame for r in results] == list(range(9))
    assert all(set(r.logits) == {1, 2} for r in results)
    prop.close()


def test_every_graph_allocates_from_the_one_shared_arena(propagator: VideoPropagator) -> None:
    """One arena for the process: a graph's buffers are reused by the next graph and the next frame instead of
    being paged in afresh (no arena) or held once per session (an arena each); weights stay outside it."""
    sessions = [
        propagator.encoder.session,
        propagator.decoder.session,
        propagator.memory_encoder.session,
        propagator.memory_attention.session,
    ]
    for session in sessions:
        options = session.get_session_options()
        assert options.get_session_config_entry("session.use_env_allocators") == "1"
        assert options.get_session_config_entry("session.use_device_allocator_for_initializers") == "1"
