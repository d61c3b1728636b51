"""QThreads and signals: frame decoding and the model's work (roto.editor.engine) run off the GUI thread.

Each background thread owns a `LatestJobQueue`: a job posted under a key replaces the one still waiting under
that key, so scrubbing decodes only the frame the user stopped on and the latest click wins over stale ones.
Results and errors come back as Qt signals carrying plain data (queued into the GUI thread by Qt). Exports run
as roto.ui.operations. Quality-mode refine edge for the preview runs on its own thread (MatteRefiner), so a slow
refinement never delays a decoded frame or a mask.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from roto.editor.engine import EditorEngine
from roto.editor.jobs import LatestJobQueue, TaskState
from roto.editor.refined import RefineJob
from roto.editor.requests import (
    EngineInfo,
    PredictRequest,
    PropagateRequest,
    ProposeRequest,
)
from roto.engine.automask import Cancelled
from roto.engine.bundle import Bundle, load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.service import EngineService
from roto.engine.session import RuntimeOptions
from roto.errors import RotoError, failure_message
from roto.media import MediaSource

EMBEDDING_CACHE_BYTES = 1 << 30
BACKGROUND_NICE = 10
"""How much less CPU priority the background threads get than the window's thread (Linux nice levels)."""


def run_in_background() -> None:
    """Lower the calling thread's CPU priority below the window's thread.

    With the model, the decoder and the composer all runnable on two cores, the window's thread waited for a core
    for tens of milliseconds at a time while a 4K run was tracked (docs/ui.md, Large frames). On Linux this is the
    thread's own nice value (threads it starts, such as ONNX Runtime's workers for the sessions it opens, inherit
    it); elsewhere Qt's LowPriority. The background threads still get every core the window leaves idle.
    """
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):  # not allowed (a sandbox): the thread keeps the window's priority
            os.setpriority(
                os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICE)
            )
    else:
        QThread.currentThread().setPriority(QThread.Priority.LowPriority)


class JobThread(QThread):
    """Runs queued jobs one at a time; a RotoError (or any bug) is reported by `failed`, never fatal."""

    failed = Signal(str)
    idle = Signal()  # the queue ran dry: nothing started now delays the next request

    def __init__(self) -> None:
        super().__init__()
        self.queue = LatestJobQueue()

    def run(self) -> None:
        run_in_background()
        while (job := self.queue.take()) is not None:
            try:
                job()
            except Exception as exc:  # a bug must not kill the thread the editor depends on
                self.failed.emit(failure_message(exc, "background job"))
            if self.queue.empty():
                self.idle.emit()

    def stop(self) -> None:
        """Drop waiting jobs, let the running one finish, and join the thread."""
        self.queue.close()
        self.wait()


class FrameLoader(JobThread):
    """Decodes the frame to show, so seeking in a long-GOP video never stalls the GUI; while scrubbing, a preview
    shrunk to `max_side` (a 4K frame is then a fraction of the pixels to convert, hand over and draw), and the next
    few previews in the direction of the drag while nothing else waits (decode ahead)."""

    frame_loaded = Signal(int, object)  # frame index, RGB uint8 (H, W, 3): the full frame, or a preview
    AHEAD = 4  # previews decoded ahead of the drag

    _FRAME, _AHEAD = 0, 1  # the frame asked for always before decoding ahead

    def __init__(self) -> None:
        super().__init__()
        self._source: MediaSource | None = None
        self._last = 0  # the frame last asked for: the drag's direction is from there

    def set_source(self, source: MediaSource | None) -> None:
        self.queue.discard("frame")
        self.queue.discard("ahead")
        self._source = source

    def request(self, index: int, max_side: int | None = None) -> None:
        """Decode frame `index`, shrunk so its longer side is at most `max_side` when given (a preview, followed
        by previews of the frames after it in the direction the requests move)."""
        source = self._source
        step = 1 if index >= self._last else -1
        self._last = index
        if max_side is None:
            self.queue.discard("ahead")  # the drag is over
        if source is not None:
            self.queue.put("frame", lambda: self._load(source, index, max_side, step), self._FRAME)

    def _load(self, source: MediaSource, index: int, max_side: int | None, step: int) -> None:
        if source is not self._source:
            return
        if max_side is None:
            self.frame_loaded.emit(index, source.read(index))  # after a preview, a video only converts it
            return
        self.frame_loaded.emit(index, source.thumbnail(index, max_side))
        self._ahead(source, index + step, max_side, step, self.AHEAD)

    def _ahead(self, source: MediaSource, index: int, max_side: int, step: int, left: int) -> None:
        """Queue the preview of frame `index` into the cache, then the next one, until `left` are done."""
        if left and 0 <= index < source.frame_count:
            self.queue.put(
                "ahead", lambda: self._load_ahead(source, index, max_side, step, left), self._AHEAD
            )

    def _load_ahead(self, source: MediaSource, index: int, max_side: int, step: int, left: int) -> None:
        if source is self._source:
            source.thumbnail(index, max_side)
            self._ahead(source, index + step, max_side, step, left - 1)


class MatteRefiner(JobThread):
    """Refines the preview's mattes too slow for the GUI thread (roto.editor.refined), each object's latest
    request winning over one still waiting: the window keeps drawing while quality mode works."""

    refined = Signal(object, object)  # RefineJob, its float32 alpha

    def request(self, job: RefineJob) -> None:
        self.queue.put(("refine", job.object_id), lambda: self.refined.emit(job, job.run()))


class EngineWorker(JobThread):
    """Owns the SAM2 image predictor: encodes frames as they are shown and answers prompt requests."""

    engine_ready = Signal(object)  # EngineInfo
    engine_failed = Signal(str)
    encoding = Signal(int)  # frame index being encoded
    frame_encoded = Signal(int)
    mask_ready = Signal(object)  # PredictResult
    predict_failed = Signal(object, str)  # PredictRequest, message
    propagated = Signal(int, int, object)  # run id, media index, {object id: EncodedMask} (prompted left out)
    propagation_progress = Signal(int, int, int)  # run id, frames done, frames in the run
    propagation_done = Signal(int, bool)  # run id, cancelled
    propagation_failed = Signal(int, str)  # run id, message
    proposals_ready = Signal(object)  # ProposalSet
    proposal_progress = Signal(int, int, int)  # job id, grid points done, grid points in all
    proposals_cancelled = Signal(int)  # job id
    proposals_failed = Signal(int, str)  # job id, message

    _PREDICT, _LOAD, _ENCODE, _ENCODE_AHEAD = (
        0,
        1,
        2,
        3,
    )  # clicks first: encoding ahead must never delay a mask
    AHEAD_OFFSETS = (
        1,
        -1,
        2,
    )  # neighbours of the shown frame encoded when idle, nearest first (stepping is instant)

    def __init__(self, cache: EmbeddingCache | None = None) -> None:
        super().__init__()
        self.cache = cache if cache is not None else EmbeddingCache(EMBEDDING_CACHE_BYTES)
        # The model's one set of sessions, shared by clicks and propagation; replaced only by a reload.
        self.model: EditorEngine | None = None
        self._source: MediaSource | None = None
        self._cancel = TaskState()
        self._cancel_proposals = TaskState()

    @property
    def service(self) -> EngineService | None:
        return self.model.service if self.model is not None else None

    def load_bundle(self, folder: Path, options: RuntimeOptions | None = None) -> None:
        self.queue.put("load", lambda: self._load(folder, options or RuntimeOptions()), self._LOAD)

    def set_source(self, source: MediaSource | None) -> None:
        """Called from the GUI thread; jobs capture the source they were posted for."""
        self.queue.discard("encode")
        self.queue.discard("ahead")
        self._source = source

    def propagate(self, request: PropagateRequest) -> None:
        """Run propagation in the worker thread; masks come back frame by frame through `propagated`."""
        source = self._source
        if source is not None:
            cancel = self._cancel = TaskState()  # each run its own: a late cancel never stops the next run
            self.queue.put("propagate", lambda: self._propagate(source, request, cancel), self._PREDICT)

    def cancel_propagation(self) -> None:
        """Stop the latest run between two frames; the frames already sent stay valid."""
        self._cancel.cancel()

    def propose(self, request: ProposeRequest) -> None:
        """Segment everything on a frame in the worker thread (after a click waiting, before encoding ahead)."""
        source = self._source
        if source is not None:
            task = self._cancel_proposals = TaskState()  # each job its own, as propagation runs
            self.queue.put("propose", lambda: self._propose(source, request, task), self._PREDICT)

    def cancel_proposals(self) -> None:
        """Stop the latest segment-everything job between two grid points."""
        self._cancel_proposals.cancel()

    def stop(self) -> None:
        self._cancel.cancel()
        self._cancel_proposals.cancel()
        super().stop()
        if self.model is not None:
            self.model.close()

    def encode(self, index: int) -> None:
        """Encode frame `index` (then its neighbours); `encoding` is said at once, on the caller's thread, so the
        window never shows "Ready" while the frame waits for this thread to start on it."""
        source = self._source
        if source is not None:
            if (
                self.service is not None
            ):  # while a model loads, its thread says so when it starts on the frame
                self.encoding.emit(index)
            self.queue.put("encode", lambda: self._encode(source, index), self._ENCODE)

    def predict(self, request: PredictRequest) -> None:
        source = self._source
        if source is not None:
            key = ("predict", request.target)
            self.queue.put(key, lambda: self._predict(source, request), self._PREDICT)

    # -- in the worker thread ----------------------------------------------------------------------

    def _load(self, folder: Path, options: RuntimeOptions) -> None:
        if self.model is not None:
            self.model.close()
            self.model = None
        try:
            bundle: Bundle = load_bundle(folder)
            self.model = EditorEngine(EngineService.open(bundle, options, self.cache))
        except RotoError as exc:
            self.engine_failed.emit(str(exc))
            return
        report = self.model.service.report
        running = self.model.service.bundle  # the fp16 sibling on a GPU (RuntimeOptions.precision)
        self.engine_ready.emit(
            EngineInfo(
                running.name,
                report.provider,
                bundle.random_weights,
                report.precision,
                report.fallback_reason,
                tuple(report.passed_over),
            )
        )

    def _encode(self, source: MediaSource, index: int) -> None:
        """Encode the shown frame (read only if no cache tier holds it), then its neighbours when idle."""
        if self.service is not None:
            self.encoding.emit(index)
            self.service.encode(source, index)
            self.frame_encoded.emit(index)
            self._queue_ahead(source, index, self.AHEAD_OFFSETS)

    def _queue_ahead(self, source: MediaSource, shown: int, offsets: tuple[int, ...]) -> None:
        """Encode the next neighbour once nothing else waits; a newly shown frame replaces the whole chain."""
        inside = [(p, shown + o) for p, o in enumerate(offsets) if 0 <= shown + o < source.frame_count]
        if inside:
            position, index = inside[0]
            rest = offsets[position + 1 :]
            self.queue.put(
                "ahead", lambda: self._encode_ahead(source, shown, index, rest), self._ENCODE_AHEAD
            )

    def _encode_ahead(self, source: MediaSource, shown: int, index: int, rest: tuple[int, ...]) -> None:
        service = self.service
        if service is not None and source is self._source:
            service.encode(source, index)  # into the cache
            self._queue_ahead(source, shown, rest)

    def _predict(self, source: MediaSource, request: PredictRequest) -> None:
        try:
            if self.model is None:
                raise RotoError("No model is loaded: install one with `roto models install tiny`.")
            result = self.model.predict(source, request)
        except Exception as exc:  # the pending prompts must be released whatever went wrong
            self.predict_failed.emit(request, failure_message(exc, "prediction"))
            return
        self.mask_ready.emit(result)

    def _propagate(self, source: MediaSource, request: PropagateRequest, task: TaskState) -> None:
        try:
            if self.model is None:
                raise RotoError("No model is loaded: install one with `roto models install tiny`.")
            cancel = task.is_cancelled
            frames = self.model.propagate(source, request, cancel)
            for done, (frame, masks) in enumerate(frames, start=1):
                self.propagated.emit(request.run_id, frame, masks)
                self.propagation_progress.emit(request.run_id, done, request.total)
        except Exception as exc:  # the GUI waits for an outcome whatever went wrong
            self.propagation_failed.emit(request.run_id, failure_message(exc, "propagation"))
            return
        self.propagation_done.emit(request.run_id, cancel())

    def _propose(self, source: MediaSource, request: ProposeRequest, task: TaskState) -> None:
        job = request.job_id

        def progress(done: int, total: int) -> None:  # at most ~100 updates: each one repaints the bar
            if done == total or done % max(1, total // 100) == 0:
                self.proposal_progress.emit(job, done, total)

        try:
            if self.model is None:
                raise RotoError("No model is loaded: install one with `roto models install tiny`.")
            result = self.model.propose(source, request, task.is_cancelled, progress)
        except Cancelled:
            self.proposals_cancelled.emit(job)
            return
        except Exception as exc:  # the GUI waits for an outcome whatever went wrong
            self.proposals_failed.emit(job, failure_message(exc, "propose objects"))
            return
        self.proposals_ready.emit(result)
