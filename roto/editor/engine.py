"""The model work the editor asks for, without Qt: answer a prompt request, run a propagation request.

roto.ui.worker runs these on its thread and turns the results into signals; tests and benchmarks call them
directly (`SyncEngine`), so both go through the same code. Frames here are media indices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from roto.editor.propagation import add_frame, track_legs
from roto.editor.proposals import ProposalSet, proposal_set
from roto.editor.requests import (
    ObjectPromptSet,
    PredictRequest,
    PredictResult,
    PropagateRequest,
    ProposeRequest,
)
from roto.engine.automask import Cancelled, generate_proposals
from roto.engine.predictor import Prediction
from roto.engine.propagator import FrameReader, VideoPropagator
from roto.engine.service import EngineService
from roto.project import EncodedMask


class CandidateMasks(Sequence[np.ndarray]):
    """A click's candidate masks, best first, each upsampled to the frame only when first asked for: at 4K one
    costs more than the decoder, and most clicks keep the first."""

    def __init__(self, prediction: Prediction, order: Sequence[int], first: np.ndarray) -> None:
        self._prediction, self._order = prediction, tuple(order)
        self._masks: dict[int, np.ndarray] = {0: first}

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        position = range(len(self))[index]  # negative indices count from the end; IndexError past it
        if position not in self._masks:
            self._masks[position] = self._prediction.mask(self._order[position])
        return self._masks[position]


class EditorEngine:
    """One loaded model (its EngineService) and the tracking state of the latest propagation's prompts."""

    def __init__(self, service: EngineService) -> None:
        self.service = service
        self._video: VideoPropagator | None = None  # per-shot tracking state on the service's sessions
        self._video_key: tuple[str, tuple[ObjectPromptSet, ...]] | None = None

    def predict(self, reader: FrameReader, request: PredictRequest) -> PredictResult:
        """The mask for a frame's prompts; every multimask candidate too, best first, for a single click or a
        box alone."""
        prompts = request.prompts
        prediction = self.service.predict(
            reader,
            prompts.frame,
            *prompts.arrays(),
            # SAM2's advice: several candidates for an ambiguous prompt (a single click, or a box alone: part,
            # whole, ...), one mask once prompts agree.
            multimask=(len(prompts.points), prompts.box is None) in ((1, True), (0, False)),
        )
        order = np.argsort(-prediction.scores) if len(prediction) > 1 else np.array([prediction.best])
        mask = prediction.mask(int(order[0]))
        candidates = CandidateMasks(prediction, order.tolist(), mask) if len(order) > 1 else ()
        # Compressed here, so the GUI thread only files it (RLE and hashing cost ~15 ms at 4K).
        encoded = EncodedMask.from_mask(mask)
        return PredictResult(request, encoded, float(prediction.scores[prediction.best]), candidates)

    def propagate(
        self, reader: FrameReader, request: PropagateRequest, cancel: Callable[[], bool]
    ) -> Iterator[tuple[int, dict[int, EncodedMask]]]:
        """(media index, {object id: mask}) per frame tracked, masks compressed and hashed here (off the GUI
        thread); nothing when cancelled while the prompts are being added."""
        video = self._video_for(reader, request.objects, cancel)
        if video is None:
            return
        for frame, masks in track_legs(video, request, cancel):
            yield frame, {oid: EncodedMask.from_mask(mask) for oid, mask in masks.items()}

    def propose(
        self,
        reader: FrameReader,
        request: ProposeRequest,
        cancel: Callable[[], bool],
        progress: Callable[[int, int], None],
    ) -> ProposalSet:
        """Every object proposal on the request's frame (its embedding from the cache when the frame was encoded),
        outlines traced here; raises `Cancelled` when `cancel()` says so between grid points."""
        proposals = generate_proposals(self.service, reader, request.frame, request.params, progress, cancel)
        return proposal_set(request.job_id, proposals)

    def _video_for(
        self, reader: FrameReader, objects: tuple[ObjectPromptSet, ...], cancel: Callable[[], bool]
    ) -> VideoPropagator | None:
        """The tracking state for these prompts, rebuilt only when they (or the media) changed."""
        key = (reader.media_id, objects)
        if self._video is not None and self._video_key == key:
            return self._video
        self.close()
        video = self.service.video(reader)  # new tracking state, no new sessions
        for obj in objects:
            for prompts in obj.frames:
                if cancel():
                    video.close()
                    return None
                add_frame(video, obj.object_id, prompts)
        self._video, self._video_key = video, key
        return video

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
        self._video, self._video_key = None, None


@dataclass
class SyncEngine:
    """An EngineClient that does the work when asked to (`run_pending`), on the caller's thread.

    What tests and benchmarks drive the editor with: the same requests and answers as the window's worker, in a
    deterministic order; the latest request per target wins, as in the worker's queue.
    """

    engine: EditorEngine
    on_mask: Callable[[PredictResult], None] = lambda _result: None
    on_propagated: Callable[[int, int, dict[int, EncodedMask]], None] = lambda _run, _frame, _masks: None
    on_done: Callable[[int, bool], None] = lambda _run, _cancelled: None
    on_proposals: Callable[[ProposalSet], None] = lambda _result: None
    on_proposal_progress: Callable[[int, int, int], None] = lambda _job, _done, _total: None
    on_proposals_cancelled: Callable[[int], None] = lambda _job: None
    source: FrameReader | None = None
    encoded: list[int] = field(default_factory=list)  # every frame asked to be encoded, in order
    asked: list[PredictRequest] = field(default_factory=list)  # every prompt request, in order
    _predicts: dict[object, PredictRequest] = field(default_factory=dict)
    _runs: list[PropagateRequest] = field(default_factory=list)
    _cancelled: bool = False
    _proposes: list[ProposeRequest] = field(default_factory=list)
    _proposals_cancelled: bool = False

    def set_source(self, source: FrameReader | None) -> None:
        self.source = source

    def encode(self, index: int) -> None:
        if self.source is not None:
            self.engine.service.encode(self.source, index)
            self.encoded.append(index)

    def predict(self, request: PredictRequest) -> None:
        self.asked.append(request)
        self._predicts[request.target] = request

    def propagate(self, request: PropagateRequest) -> None:
        self._cancelled = False
        self._runs.append(request)

    def cancel_propagation(self) -> None:
        self._cancelled = True

    def propose(self, request: ProposeRequest) -> None:
        self._proposals_cancelled = False
        self._proposes.append(request)

    def cancel_proposals(self) -> None:
        self._proposals_cancelled = True

    def run_pending(self, stop_after: int | None = None) -> None:
        """Answer the waiting prompt requests, run the waiting segment-everything jobs, then the waiting
        propagations (cancelled after `stop_after` frames when given)."""
        assert self.source is not None
        predicts, self._predicts = list(self._predicts.values()), {}
        for request in predicts:
            self.on_mask(self.engine.predict(self.source, request))
        proposes, self._proposes = self._proposes, []
        for job in proposes:

            def progress(done: int, total: int, job_id: int = job.job_id) -> None:
                self.on_proposal_progress(job_id, done, total)

            try:
                result = self.engine.propose(self.source, job, lambda: self._proposals_cancelled, progress)
            except Cancelled:
                self.on_proposals_cancelled(job.job_id)
                continue
            self.on_proposals(result)
        runs, self._runs = self._runs, []
        for run in runs:
            frames = self.engine.propagate(self.source, run, lambda: self._cancelled)
            for done, (frame, masks) in enumerate(frames, start=1):
                self.on_propagated(run.run_id, frame, masks)
                if stop_after is not None and done >= stop_after:
                    self._cancelled = True
            self.on_done(run.run_id, self._cancelled)
