"""The one place threads meet Qt: frame decoding, the SAM2 engine and exports run off the GUI thread.

Each background thread owns a `LatestJobQueue`: a job posted under a key replaces the one still waiting under
that key, so scrubbing decodes only the frame the user stopped on and the latest click wins over stale ones.
Results and errors come back as Qt signals carrying plain data (queued into the GUI thread by Qt).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from roto.engine.bundle import Bundle, load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.predictor import ImagePredictor
from roto.engine.session import RuntimeOptions
from roto.errors import RotoError
from roto.export import ExportResult, ExportSpec, MatteSource, export
from roto.media import MediaSource
from roto.project import Box, Point

log = logging.getLogger(__name__)

EMBEDDING_CACHE_BYTES = 1 << 30
Job = Callable[[], None]


class LatestJobQueue:
    """Jobs by key and priority: a newer job replaces a waiting one with the same key (latest wins)."""

    def __init__(self) -> None:
        self._jobs: dict[Hashable, tuple[int, int, Job]] = {}
        self._sequence = 0
        self._closed = False
        self._condition = threading.Condition()

    def put(self, key: Hashable, job: Job, priority: int = 0) -> None:
        """Lower priority numbers run first; equal priorities run in the order they were first posted."""
        with self._condition:
            previous = self._jobs.get(key)
            self._sequence += 1
            order = previous[1] if previous is not None else self._sequence
            self._jobs[key] = (priority, order, job)
            self._condition.notify()

    def discard(self, key: Hashable) -> None:
        with self._condition:
            self._jobs.pop(key, None)

    def take(self) -> Job | None:
        """Block until a job is waiting (returning it) or the queue is closed (returning None)."""
        with self._condition:
            while not self._jobs and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            key = min(self._jobs, key=lambda k: self._jobs[k][:2])
            return self._jobs.pop(key)[2]

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._jobs.clear()
            self._condition.notify_all()


class JobThread(QThread):
    """Runs queued jobs one at a time; a RotoError (or any bug) is reported by `failed`, never fatal."""

    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.queue = LatestJobQueue()

    def run(self) -> None:
        while (job := self.queue.take()) is not None:
            try:
                job()
            except RotoError as exc:
                self.failed.emit(str(exc))
            except Exception as exc:  # a bug must not kill the thread the editor depends on
                log.exception("background job failed")
                self.failed.emit(f"Unexpected internal error: {exc!r}. Details are in the log.")

    def stop(self) -> None:
        """Drop waiting jobs, let the running one finish, and join the thread."""
        self.queue.close()
        self.wait()


class FrameLoader(JobThread):
    """Decodes the frame to show, so seeking in a long-GOP video never stalls the GUI."""

    frame_loaded = Signal(int, object)  # frame index, RGB uint8 (H, W, 3)

    def __init__(self) -> None:
        super().__init__()
        self._source: MediaSource | None = None

    def set_source(self, source: MediaSource | None) -> None:
        self.queue.discard("frame")
        self._source = source

    def request(self, index: int) -> None:
        source = self._source
        if source is not None:
            self.queue.put("frame", lambda: self._load(source, index))

    def _load(self, source: MediaSource, index: int) -> None:
        if source is self._source:
            self.frame_loaded.emit(index, source.read(index))


@dataclass(frozen=True)
class PredictTarget:
    """Which mask a prompt edit is about: an object on a frame of a shot."""

    shot_id: str
    object_id: int
    frame: int


@dataclass(frozen=True)
class PredictRequest:
    """All prompts of an object on a frame (the model sees them together), tagged so stale answers are dropped."""

    target: PredictTarget
    request_id: int
    points: tuple[Point, ...]
    box: Box | None


@dataclass(frozen=True)
class PredictResult:
    request: PredictRequest
    mask: np.ndarray  # bool (H, W)
    score: float


@dataclass(frozen=True)
class EngineInfo:
    """What the status bar says about the model."""

    name: str
    provider: str
    random_weights: bool


class EngineWorker(JobThread):
    """Owns the SAM2 image predictor: encodes frames as they are shown and answers prompt requests."""

    engine_ready = Signal(object)  # EngineInfo
    engine_failed = Signal(str)
    encoding = Signal(int)  # frame index being encoded
    frame_encoded = Signal(int)
    mask_ready = Signal(object)  # PredictResult
    predict_failed = Signal(object, str)  # PredictRequest, message

    _PREDICT, _LOAD, _ENCODE = 0, 1, 2  # clicks first: encoding ahead must never delay a mask

    def __init__(self, cache: EmbeddingCache | None = None) -> None:
        super().__init__()
        self._cache = cache if cache is not None else EmbeddingCache(EMBEDDING_CACHE_BYTES)
        self._predictor: ImagePredictor | None = None
        self._source: MediaSource | None = None

    def load_bundle(self, folder: Path, options: RuntimeOptions | None = None) -> None:
        self.queue.put("load", lambda: self._load(folder, options or RuntimeOptions()), self._LOAD)

    def set_source(self, source: MediaSource | None) -> None:
        """Called from the GUI thread; jobs capture the source they were posted for."""
        self.queue.discard("encode")
        self._source = source

    def encode(self, index: int) -> None:
        source = self._source
        if source is not None:
            self.queue.put("encode", lambda: self._encode(source, index), self._ENCODE)

    def predict(self, request: PredictRequest) -> None:
        source = self._source
        if source is not None:
            key = ("predict", request.target)
            self.queue.put(key, lambda: self._predict(source, request), self._PREDICT)

    # -- in the worker thread ----------------------------------------------------------------------

    def _load(self, folder: Path, options: RuntimeOptions) -> None:
        try:
            bundle: Bundle = load_bundle(folder)
            self._predictor = ImagePredictor(bundle, options, self._cache)
        except RotoError as exc:
            self.engine_failed.emit(str(exc))
            return
        report = self._predictor.report
        self.engine_ready.emit(EngineInfo(bundle.name, report.provider, bundle.random_weights))

    def _set_frame(self, source: MediaSource, index: int) -> ImagePredictor | None:
        if self._predictor is None:
            return None
        self._predictor.set_frame(source.read(index), media_id=source.media_id, frame=index)
        return self._predictor

    def _encode(self, source: MediaSource, index: int) -> None:
        if self._predictor is not None:
            self.encoding.emit(index)
            self._set_frame(source, index)
            self.frame_encoded.emit(index)

    def _predict(self, source: MediaSource, request: PredictRequest) -> None:
        try:
            predictor = self._set_frame(source, request.target.frame)
            if predictor is None:
                raise RotoError("No model is loaded: install one with `roto models install tiny`.")
            points = np.array([(p.x, p.y) for p in request.points], np.float32).reshape(-1, 2)
            labels = np.array([p.label for p in request.points], np.int32)
            box = request.box
            prediction = predictor.predict(
                points if len(points) else None,
                labels if len(points) else None,
                np.array([box.x0, box.y0, box.x1, box.y1], np.float32) if box is not None else None,
                # SAM2's advice: several candidates for one ambiguous click, one mask once prompts agree.
                multimask=len(request.points) == 1 and box is None,
            )
        except RotoError as exc:
            self.predict_failed.emit(request, str(exc))
            return
        except Exception as exc:  # the pending prompts must be released whatever went wrong
            log.exception("prediction failed")
            self.predict_failed.emit(request, f"Unexpected internal error: {exc!r}. Details are in the log.")
            return
        self.mask_ready.emit(
            PredictResult(request, prediction.mask(), float(prediction.scores[prediction.best]))
        )


class ExportThread(QThread):
    """One export run; progress and the outcome come back as signals, `cancel` stops it between frames."""

    progressed = Signal(int, int)
    finished_ok = Signal(object)  # ExportResult
    failed = Signal(str)

    def __init__(self, source: MatteSource, spec: ExportSpec) -> None:
        super().__init__()
        self._source = source
        self._spec = spec
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result: ExportResult = export(self._source, self._spec, self.progressed.emit, self._cancel)
        except RotoError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("export failed")
            self.failed.emit(f"Unexpected internal error during export: {exc!r}")
            return
        self.finished_ok.emit(result)
