"""The open document on screen: the frame with its overlay and prompts, the timeline's marks, the objects list.

Each redraw follows what changed: the editor state's fields (document, current object, playhead) and the undo
stack's change events, which name their frames and kinds. A propagated frame updates that frame's marks and, only
when it is the frame on screen, the overlay; nothing is recomputed over the whole shot.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from roto.editor.coverage import ShotMarks
from roto.editor.documents import Document
from roto.editor.editor import Editor
from roto.editor.propagation import PropagationRun
from roto.editor.refined import RefinedMattes, RefineJob
from roto.editor.views import ViewRequest, view_request
from roto.project import ChangeKind, StackEvent
from roto.ui.canvas import Canvas
from roto.ui.composer import ViewComposer
from roto.ui.panels import ObjectsPanel
from roto.ui.timeline import Coverage, Timeline
from roto.ui.view_layer import PreparedView
from roto.ui.worker import FrameLoader, MatteRefiner

_Picture = tuple[
    np.ndarray, tuple[int, int]
]  # a decoded frame (or its preview) and the frame's width, height


class DocumentView:
    """Keeps canvas, timeline and objects panel showing the editor's document."""

    def __init__(
        self,
        editor: Editor,
        canvas: Canvas,
        timeline: Timeline,
        objects: ObjectsPanel,
        loader: FrameLoader,
        composer: ViewComposer,
        refiner: MatteRefiner,
        on_document_changed: Callable[[], None],
    ) -> None:
        self.editor, self.state = editor, editor.state
        self.canvas, self.timeline, self.objects, self.loader = canvas, timeline, objects, loader
        self.composer, self.refiner = composer, refiner
        # Views asked of the composer and not shown yet, oldest first, each with the picture it goes over when it
        # came with a new one: the picture is shown with its view, never under the previous frame's masks. The
        # composer works in this order (skipping those replaced while they waited), so every result that comes
        # back is shown: during playback that is slower than composing, the canvas then follows a few frames late
        # instead of freezing.
        self._posted: list[tuple[ViewRequest, _Picture | None]] = []
        self.composing = False  # the latest view is not on the canvas yet
        self._on_document_changed = on_document_changed  # the window's title and actions
        self.marks: ShotMarks | None = None
        self._unsubscribe = lambda: None
        self.state.connect("document", self._show_document)
        self.state.connect("object_id", lambda _id: self._show_object())
        self.state.connect("frame", self._follow_frame)
        self.state.connect("in_out", lambda in_out: self.timeline.set_range(*(in_out or (None, None))))
        self.state.connect("view", lambda _view: self.refresh_frame())
        self._rgb: np.ndarray | None = None  # the frame shown: the cut-out view shows it through the matte
        # Quality-mode refined mattes, worked out by the refiner thread and kept by frame, masks and settings.
        self._refined = RefinedMattes()
        refiner.refined.connect(self._on_refined)
        self.state.pending.connect(lambda _target: self.show_prompts())
        loader.frame_loaded.connect(self._on_frame_loaded)
        composer.composed.connect(self._on_composed)
        composer.failed.connect(lambda _message: self._on_compose_failed())  # the window says why
        canvas.viewport_changed.connect(self.refresh_frame)  # composed for what the canvas shows
        timeline.view.scrub_finished.connect(lambda: self.loader.request(self.state.frame))  # full size
        self.state.connect("run", self._on_run)
        self.state.connect(
            "proposals",
            lambda picker: canvas.show_proposals(None if picker is None else picker.outline_view()),
        )

    def _show_document(self, doc: Document | None) -> None:
        self._unsubscribe()
        self._unsubscribe = lambda: None
        self.loader.set_source(doc.media if doc is not None else None)
        self._refined.clear()
        self._posted.clear()  # views of the previous document are not shown over this one
        self.marks = None if doc is None else ShotMarks(doc.shot)
        if doc is None:
            return
        self._unsubscribe = doc.stack.add_listener(self._on_stack_event)
        self.timeline.set_clip(doc.shot.frame_count, float(doc.shot.fps), doc.media.frame_numbers)
        self.timeline.set_range(*(self.state.in_out or (None, None)))
        self.objects.set_objects(doc.shot.objects, self.state.object_id)
        self._show_marks()
        self.loader.request(self.state.frame)

    def _on_stack_event(self, event: StackEvent) -> None:
        """Redraw what the change names: the object list, the marks of its frames, the frame on screen."""
        doc, marks = self.state.document, self.marks
        assert doc is not None and marks is not None
        marks.apply(event)
        objects_changed = any(ChangeKind.OBJECTS in change.kinds for change in event.changes)
        if objects_changed:
            self.objects.set_objects(doc.shot.objects, self.state.object_id)
        shown = self.state.shown_frame
        frame = None if shown is None else doc.shot.first_frame + shown
        reach = self._reach(doc)
        if objects_changed or any(
            frame is not None and abs(changed - frame) <= reach
            for change in event.changes
            for changed in change.frames
        ):
            self.refresh_frame()
        self._show_marks()
        self._on_document_changed()

    def _reach(self, doc: Document) -> int:
        """How far a changed frame may be and still alter the view: onion skin and reduce chatter look around."""
        chatter = max((obj.matte.chatter_frames for obj in doc.shot.objects), default=0)
        return max(self.state.view.reach, chatter)

    def _show_object(self) -> None:
        doc = self.state.document
        if doc is not None:
            self.objects.set_objects(doc.shot.objects, self.state.object_id)
            self.refresh_frame()
            self._show_marks()

    def _show_marks(self) -> None:
        """Repaint the timeline's marks (kept up to date by ShotMarks: nothing is recomputed here)."""
        doc, marks, object_id = self.state.document, self.marks, self.state.object_id
        if doc is None or marks is None:
            return
        if object_id in marks.prompted:
            self.timeline.set_marks(marks.prompted[object_id], marks.masked[object_id])
        rows = [Coverage(o.color, marks.masked[o.id]) for o in doc.shot.objects if o.id in marks.masked]
        view = self.timeline.view
        same = len(rows) == len(view.rows) and all(
            a.color == b.color and a.frames is b.frames for a, b in zip(rows, view.rows, strict=True)
        )
        if same:
            view.update()
        else:
            view.set_rows(rows)

    def _follow_frame(self, frame: int) -> None:
        if self.timeline.frame != frame:
            self.timeline.set_frame(frame)  # the run's follow policy moved the playhead
        # While scrubbing or following a run, a preview the canvas's size; the full frame on release or at the end.
        if self.timeline.view.scrubbing or self.state.run is not None:
            viewport = self.canvas.viewport()
            self.loader.request(
                frame, round(max(viewport.width(), viewport.height()) * viewport.devicePixelRatioF())
            )
        else:
            self.loader.request(frame)

    def _on_run(self, run: PropagationRun | None) -> None:
        """A run followed on previews ended: the full frame again."""
        if run is None and self.state.document is not None:
            self.loader.request(self.state.frame)

    def _on_frame_loaded(self, index: int, rgb: np.ndarray) -> None:
        """Show a decoded frame: while scrubbing any (the latest the decoder kept up with), otherwise only the
        playhead's; a preview is stretched over the frame and asks the model for nothing."""
        doc = self.state.document
        if doc is None or (index != self.state.frame and not self.timeline.view.scrubbing):
            return  # a frame the user already scrubbed past
        height, width = doc.shot.frame_shape
        full = rgb.shape[:2] == (height, width)
        picture: _Picture | None = (rgb, (width, height))
        if self.canvas.frame_size != (width, height):  # a document's first picture: nothing of it to wait for
            self.canvas.set_frame(rgb, (width, height))
            self.canvas.show_view(None)
            picture = None
        self._rgb = rgb if full else None
        self.editor.frame_shown(index, playing=self.timeline.playing or not full)
        self.refresh_frame(picture)

    def refresh_frame(self, picture: _Picture | None = None) -> None:
        """Ask for the view (roto.editor.views) of the shown frame, composed off the GUI thread for what the canvas
        shows, and shown with `picture` (a newly loaded frame) when it comes back; draw the prompts now."""
        doc, shown, view = self.state.document, self.state.shown_frame, self.state.view
        if doc is None or shown is None:
            return
        frame = doc.shot.first_frame + shown
        viewport = self.canvas.visible_viewport()
        request = view_request(
            doc.project, doc.shot, frame, view, self.state.object_id, self._rgb, viewport, self._refined
        )
        for job in self._refined.take_jobs():
            self.refiner.request(job)
        self._posted.append((request, picture))
        self.composing = True
        self.composer.compose(request)
        self.show_prompts()

    def _on_refined(self, job: RefineJob, alpha: np.ndarray) -> None:
        """A refined matte came back: kept, and shown if it belongs to the frame on screen."""
        self._refined.put(job, alpha)
        doc, shown = self.state.document, self.state.shown_frame
        if doc is not None and shown is not None and job.index == shown:
            self.refresh_frame()

    def _on_composed(self, request: ViewRequest, prepared: PreparedView) -> None:
        """Show a composed view unless a later one is already on the canvas (or it belongs to another document)."""
        position = next((i for i, (posted, _) in enumerate(self._posted) if posted is request), None)
        if position is None:
            return
        self._show_latest_picture(position + 1)
        del self._posted[: position + 1]  # it and the views it overtook, replaced while they waited
        self.canvas.show_view(prepared)
        self.composing = bool(self._posted)

    def _on_compose_failed(self) -> None:
        """No view is coming for what waits: its pictures are shown bare rather than never."""
        self._show_latest_picture(len(self._posted))
        self._posted = [(request, None) for request, _ in self._posted]
        self.composing = False

    def _show_latest_picture(self, count: int) -> None:
        """Put on the canvas the newest picture among the first `count` posted views, if any came with one."""
        picture = next((p for _, p in reversed(self._posted[:count]) if p is not None), None)
        if picture is not None:
            self.canvas.set_frame(*picture)

    def show_prompts(self) -> None:
        target, session = self.state.target, self.editor.prompts
        if target is not None and session is not None and self.state.shown_frame is not None:
            self.canvas.set_prompts(session.prompts(target), session.is_waiting(target))
