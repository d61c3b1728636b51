"""One engine per model bundle: one set of ONNX Runtime sessions shared by clicks and propagation.

SAM2 separates the networks (`sam2/modeling/`, no per-video state) from the stateful predictors that use them;
Roto does the same. `Sam2Graphs` holds the four graphs' sessions of one bundle, each opened at most once.
`EngineService` adds the embedding cache and offers what the editor and the CLI need: encode a frame, predict
masks from prompts on a frame, and start the per-shot state of a propagation (`VideoPropagator`), which keeps
its memory bank to itself but runs on the service's sessions. Nothing here knows about Qt.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

from roto.engine import session as ort_sessions
from roto.engine.bundle import Bundle
from roto.engine.cpu_rewrite import cpu_graph
from roto.engine.device import BoundGraph
from roto.engine.embeddings import EmbeddingCache, EmbeddingKey, FrameEmbedding
from roto.engine.precision import precision_of, runtime_bundle
from roto.engine.predictor import ImageEncoder, Prediction, PromptDecoder, decode_prompts
from roto.engine.propagator import FrameReader, VideoPropagator
from roto.engine.seal import check_integrity
from roto.engine.session import RuntimeOptions, SessionReport
from roto.engine.settings import Sam2Settings
from roto.engine.split_decoder import SplitDecoder
from roto.errors import PromptError


class StillImage:
    """One in-memory RGB image as a one-frame reader; its media id is a digest of its pixels (safe to cache)."""

    frame_count = 1

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        digest = hashlib.sha256(repr(rgb.shape).encode() + np.ascontiguousarray(rgb).tobytes())
        self.media_id = f"pixels:{digest.hexdigest()[:32]}"

    def read(self, index: int) -> np.ndarray:
        if index != 0:
            raise PromptError(f"frame {index} is outside a still image (frame 0 only)")
        return self.rgb


class Sam2Graphs:
    """The ONNX Runtime sessions of one bundle's five graphs, and the report of where they run.

    Each runs through IO binding (`roto.engine.device.BoundGraph`): on a GPU the tensors passed between graphs
    stay in its memory.

    The image encoder and prompt decoder open with the object (every use needs them); the memory encoder and
    memory attention open on first use, so clicking alone never pays for them. Each opens at most once.
    Sessions may be run from several threads (ONNX Runtime allows it); the encoder serialises its own runs.
    """

    def __init__(self, bundle: Bundle, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        bundle = runtime_bundle(
            bundle, self.options
        )  # the fp16 sibling on a GPU (see RuntimeOptions.precision)
        self.bundle = bundle
        self.settings: Sam2Settings = bundle.settings
        self.report = SessionReport(provider="", requested=self.options.provider)
        self.report.precision = precision_of(bundle)
        check_integrity(bundle)  # a damaged or swapped graph must not run (cheap once sealed)
        self.encoder = ImageEncoder(self._open("image_encoder"), bundle, self.options.threads)
        self.decoder = PromptDecoder(self._open("prompt_decoder"), self.settings)
        self._memory: tuple[BoundGraph, BoundGraph] | None = None
        self._mask_prompt: BoundGraph | None = None
        self._split: SplitDecoder | bool | None = False  # False: not tried yet
        self._lock = threading.Lock()

    def _open(self, graph: str) -> BoundGraph:
        path = self.bundle.graph_path(graph)
        # On a CPU some graphs run rewritten (cpu_rewrite); GPU sessions (and TensorRT's engine cache) get the file
        # as it is.
        manifest = self.bundle.manifest
        sha256 = manifest["files"][manifest["graphs"][graph]["file"]]["sha256"]  # checked by check_integrity
        model = None if self.options.gpu_offered() else cpu_graph(path, graph, sha256)
        session = ort_sessions.create_session(path, self.options, self.report, model=model)
        return BoundGraph(session, self.options.device_tensors)

    def _memory_sessions(self) -> tuple[BoundGraph, BoundGraph]:
        with self._lock:
            if self._memory is None:
                self._memory = (self._open("memory_encoder"), self._open("memory_attention"))
            return self._memory

    @property
    def memory_encoder(self) -> BoundGraph:
        """The memory-encoder graph (opened on first use)."""
        return self._memory_sessions()[0]

    @property
    def memory_attention(self) -> BoundGraph:
        """The memory-attention graph (opened on first use)."""
        return self._memory_sessions()[1]

    @property
    def mask_prompt(self) -> BoundGraph:
        """The mask-prompt graph (opened on first use: only painted corrections need it)."""
        with self._lock:
            if self._mask_prompt is None:
                self._mask_prompt = self._open("mask_prompt")
            return self._mask_prompt

    @property
    def split_decoder(self) -> SplitDecoder | None:
        """The prompt decoder cut at its IoU (opened on first use: segment everything; None if it cannot be cut)."""
        with self._lock:
            if self._split is False:
                path = self.bundle.graph_path("prompt_decoder")
                self._split = SplitDecoder.open(path, self.decoder.session, self.options.threads)
            return self._split if isinstance(self._split, SplitDecoder) else None

    @property
    def sessions_open(self) -> int:
        """How many of the five sessions are open now."""
        return (2 if self._memory is None else 4) + (self._mask_prompt is not None)


class EngineService:
    """A bundle's sessions plus the embedding cache: what the editor and the CLI call for every model run.

    Frames are named by a reader (a `roto.media` source or anything with `frame_count`, `media_id` and
    `read(index)`) and an index into it; embeddings are cached under (media id, frame, model), so a frame is
    encoded once whether a click or a propagation asked first.
    """

    def __init__(self, graphs: Sam2Graphs, cache: EmbeddingCache | None = None) -> None:
        self.graphs = graphs
        self.cache = cache

    @classmethod
    def open(
        cls, bundle: Bundle, options: RuntimeOptions | None = None, cache: EmbeddingCache | None = None
    ) -> EngineService:
        """Open the bundle's sessions (see `Sam2Graphs`) and serve through `cache` (None: no caching)."""
        return cls(Sam2Graphs(bundle, options), cache)

    @property
    def bundle(self) -> Bundle:
        return self.graphs.bundle

    @property
    def settings(self) -> Sam2Settings:
        return self.graphs.settings

    @property
    def report(self) -> SessionReport:
        return self.graphs.report

    def key(self, reader: FrameReader, frame: int) -> EmbeddingKey:
        return self.graphs.encoder.key(reader.media_id, frame)

    def encode(self, reader: FrameReader, frame: int) -> FrameEmbedding:
        """The frame's embedding: from the cache (memory, then disk), else read and encoded, then cached."""
        return self.graphs.encoder.encode(lambda: reader.read(frame), self.key(reader, frame), self.cache)

    def predict(
        self,
        reader: FrameReader,
        frame: int,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """Masks for prompts on one frame (points x, y in frame pixels, label 1 include / 0 exclude; a box
        x0, y0, x1, y1); the frame is encoded first unless cached."""
        embedding = self.encode(reader, frame)
        return decode_prompts(self.graphs.decoder, embedding, points, labels, box, mask_input, multimask)

    def video(
        self,
        reader: FrameReader,
        fill_hole_area: int = 8,
        binarize_prompted_masks: bool = True,
        memory_frames: int = 16,
        logit_frames: int = 16,
    ) -> VideoPropagator:
        """A new per-shot tracking state over `reader` on the shared sessions; `close()` it when done."""
        return VideoPropagator(
            self.graphs,
            reader,
            self.cache,
            fill_hole_area=fill_hole_area,
            binarize_prompted_masks=binarize_prompted_masks,
            memory_frames=memory_frames,
            logit_frames=logit_frames,
        )
