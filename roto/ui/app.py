"""The editor window: documents, menus and shortcuts, and the wiring between canvas, timeline, panel and worker.

The window never changes the document itself: edits go onto the UndoStack as commands, and the window redraws
from the stack's change events. Model and decoding work happens in roto.ui.worker threads.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from roto import __version__
from roto.editor.prompts import PromptSession
from roto.editor.propagation import Direction, frame_step, plan_legs, prompt_sets
from roto.editor.requests import EngineInfo, PredictRequest, PredictResult, PredictTarget, PropagateRequest
from roto.editor.tools import Tool, paint_stroke
from roto.engine.bundle import find_bundle, installed_bundles, load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.errors import ModelError, RotoError
from roto.export.project_source import ProjectMatteSource
from roto.media import MediaSource, open_media
from roto.project import (
    AddObject,
    Box,
    ClearFrame,
    DeleteObject,
    FramePrompts,
    MaskOrigin,
    Point,
    Project,
    RotoObject,
    SetMask,
    Shot,
    StackEvent,
    UndoStack,
    UpdateObject,
    find_recovery,
    load_project,
    object_colour,
    save_project,
)
from roto.project.autosave import DEFAULT_DELAY_S, Autosaver
from roto.project.store import PROJECT_SUFFIX
from roto.ui.canvas import Canvas, ObjectMask
from roto.ui.export_dialog import ExportDialog, run_export
from roto.ui.panels import ObjectsPanel
from roto.ui.preferences import Preferences, PreferencesDialog
from roto.ui.theme import apply_dark_theme
from roto.ui.timeline import Coverage, Timeline
from roto.ui.worker import EngineWorker, FrameLoader

log = logging.getLogger(__name__)

MAX_RECENT = 10
FOLLOW_INTERVAL_S = (
    0.25  # the playhead follows a run at most this often: showing a frame costs the GUI thread
)
AUTOSAVE_CHECK_MS = 5000
MEDIA_FILTER = "Video or images (*.mp4 *.mov *.mkv *.avi *.webm *.m4v *.png *.jpg *.jpeg *.tif *.tiff *.exr);;All files (*)"

NO_MODEL_TEXT = """<h2>No segmentation model installed</h2>
<p>Roto needs a SAM2 model bundle to turn clicks into masks. Install one from a terminal:</p>
<pre>roto models install tiny</pre>
<p>or import a bundle or checkpoint you already have:</p>
<pre>roto models import PATH</pre>
<p>then restart Roto. You can still open and scrub clips meanwhile (File ▸ Open, Ctrl+O).</p>"""

WELCOME_TEXT = """<h2>Roto</h2>
<p>Open a video, an image sequence or a project: <b>File ▸ Open…</b> (Ctrl+O), or give it on the command line:
<code>roto gui clip.mp4</code>.</p>
<p>Left click marks the object, right click (or Alt+click) marks background, B switches to the box tool.</p>"""


def choose_bundle(preferred: str = "") -> Path | None:
    """ROTO_MODEL (a folder or an installed name) when set, else the preferred bundle, else the first installed
    bundle with real weights."""
    explicit = os.environ.get("ROTO_MODEL") or preferred
    if explicit:
        return find_bundle(explicit)
    for folder in installed_bundles():
        try:
            if not load_bundle(folder).random_weights:
                return folder
        except ModelError as exc:
            log.warning("skipping model bundle %s: %s", folder, exc)
    return None


def is_project_path(path: Path) -> bool:
    return path.suffix == PROJECT_SUFFIX or (path.is_dir() and (path / "project.json").is_file())


class Document:
    """An open shot: the project, its undo history, the media it reads and where it is saved."""

    def __init__(self, project: Project, media: MediaSource, folder: Path | None, clean: bool = True) -> None:
        self.project = project
        self.shot: Shot = project.shots[0]
        self.media = media
        self.folder = folder
        self.stack = UndoStack(project, clean=clean)
        self.autosaver: Autosaver | None = None
        self.autosave_s = DEFAULT_DELAY_S
        if folder is not None:
            self.save_to(folder)

    def save_to(self, folder: Path) -> None:
        """Where the project lives from now on (and where its unsaved changes are backed up)."""
        self.folder = folder
        self.autosaver = Autosaver(self.stack, folder, self.autosave_s)

    @classmethod
    def from_media(cls, media: MediaSource) -> Document:
        shot = Shot.for_media(media)
        shot.objects.append(RotoObject(1, "Object 1", object_colour(0)))
        return cls(Project(name=media.path.stem, shots=[shot]), media, None)


@dataclass
class PropagationRun:
    """The run in progress: its id tags the worker's answers and its undo step."""

    run_id: int
    label: str
    total: int
    follow: int | None  # the frame the playhead was moved to, while it follows the run
    frames_done: int = 0
    last_frame: int | None = None  # the latest frame received
    followed_at: float = 0.0


@dataclass(frozen=True)
class Candidates:
    """The multimask answers to a single click, while the frame's prompts are still that click."""

    target: PredictTarget
    prompts: FramePrompts
    masks: tuple[np.ndarray, ...]
    index: int = 0


class MainWindow(QMainWindow):
    """One document at a time; every long-running step runs in the worker threads."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Roto")
        self.resize(1400, 860)
        self.doc: Document | None = None
        self.session: PromptSession | None = None
        self.object_id: int | None = None
        self.engine_info: EngineInfo | None = None
        self.preferences = Preferences.load()
        self.run: PropagationRun | None = None
        self.candidates: Candidates | None = None
        self._next_run_id = 0
        self._shown_frame: int | None = None
        self._unsubscribe = lambda: None
        self.setAcceptDrops(True)

        self.canvas = Canvas()
        self.timeline = Timeline()
        self.objects = ObjectsPanel()
        self.message = QLabel(WELCOME_TEXT)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMargin(40)
        editor = QWidget()
        column = QVBoxLayout(editor)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.timeline)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.message)
        self.pages.addWidget(editor)
        self.setCentralWidget(self.pages)
        dock = QDockWidget("Objects", self)
        dock.setObjectName("objects")
        dock.setWidget(self.objects)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

        self.model_label = QLabel("No model")
        self.model_label.setToolTip("The model in use and where it actually runs (CPU or CUDA)")
        self.engine_label = QLabel("")
        self.engine_label.setToolTip("What the model is doing")
        self.zoom_label = QLabel("")
        self.zoom_label.setToolTip("Zoom (F: fit, 1: actual size)")
        self.brush_label = QLabel("")
        self.brush_label.setToolTip("Brush radius in frame pixels ([ smaller, ] larger)")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("Propagating %v / %m")
        self.progress.setToolTip("Frames propagated so far; masks appear as they arrive")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop propagating (Esc); frames already done are kept")
        self.cancel_button.clicked.connect(self.cancel_propagation)
        for widget in (
            self.progress,
            self.cancel_button,
            self.brush_label,
            self.engine_label,
            self.zoom_label,
            self.model_label,
        ):
            self.statusBar().addPermanentWidget(widget)
        self.progress.hide()
        self.cancel_button.hide()

        self.loader = FrameLoader()
        self.engine = EngineWorker(EmbeddingCache.user(self.preferences.cache_bytes))  # RAM, then disk
        self._connect()
        self._build_actions()
        self.loader.start()
        self.engine.start()
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self._autosave)
        self._autosave_timer.start(AUTOSAVE_CHECK_MS)
        self._restore_layout()
        self._start_engine()
        self._update_actions()

    # -- setup -------------------------------------------------------------------------------------

    def _connect(self) -> None:
        self.timeline.frame_changed.connect(self._on_frame_changed)
        self.canvas.point_added.connect(self._on_point)
        self.canvas.box_drawn.connect(self._on_box)
        self.canvas.prompt_delete_requested.connect(self._on_delete_prompt)
        self.canvas.point_moved.connect(self._on_point_moved)
        self.canvas.stroke_finished.connect(self._on_stroke)
        self.canvas.brush_changed.connect(self._show_brush)
        self.timeline.range_changed.connect(self._update_actions)
        self.canvas.space_tapped.connect(self.timeline.toggle_play)
        self.canvas.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom:.0%}"))
        self.objects.current_changed.connect(self._on_object_selected)
        self.objects.add_requested.connect(self.add_object)
        self.objects.delete_requested.connect(self._delete_object)
        self.objects.rename_requested.connect(self._rename_object)
        self.objects.color_requested.connect(lambda oid, color: self._update_object(oid, color=color))
        self.objects.visibility_requested.connect(lambda oid, shown: self._update_object(oid, visible=shown))
        self.loader.frame_loaded.connect(self._on_frame_loaded)
        self.loader.failed.connect(lambda message: self.show_error("Cannot read frame", message))
        self.engine.failed.connect(lambda message: self.show_error("Model error", message))
        self.engine.engine_ready.connect(self._on_engine_ready)
        self.engine.engine_failed.connect(self._on_engine_failed)
        self.engine.encoding.connect(lambda frame: self.engine_label.setText(f"Encoding frame {frame}…"))
        self.engine.frame_encoded.connect(lambda frame: self.engine_label.setText("Ready"))
        self.engine.mask_ready.connect(self._on_mask)
        self.engine.predict_failed.connect(self._on_predict_failed)
        self.engine.propagated.connect(self._on_propagated)
        self.engine.propagation_progress.connect(self._on_propagation_progress)
        self.engine.propagation_done.connect(self._on_propagation_done)
        self.engine.propagation_failed.connect(self._on_propagation_failed)

    def _action(
        self,
        menu_title: str,
        text: str,
        slot: object,
        shortcut: QKeySequence | str | None = None,
        tip: str = "",
    ) -> QAction:
        menu = self._menus.get(menu_title)
        if menu is None:
            menu = self._menus[menu_title] = self.menuBar().addMenu(menu_title)
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        plain = text.replace("&", "").split("\t")[0].removesuffix("…")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or plain} ({keys})" if keys else tip or plain)
        action.setStatusTip(tip or plain)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whatever widget has focus
        return action

    def _build_actions(self) -> None:
        self._menus: dict[str, QMenu] = {}
        keys = QKeySequence.StandardKey
        self.open_action = self._action("&File", "&Open…", self.open_dialog, QKeySequence(keys.Open))
        self.recent_menu = self._menus["&File"].addMenu("Open &Recent")
        self.save_action = self._action("&File", "&Save Project", self.save, QKeySequence(keys.Save))
        self.save_as_action = self._action("&File", "Save Project &As…", self.save_as, "Ctrl+Shift+S")
        self.export_action = self._action("&File", "&Export Mattes…", self.export_dialog, "Ctrl+E")
        self._action("&File", "&Quit", self.close, QKeySequence(keys.Quit))
        self.undo_action = self._action("&Edit", "&Undo", self.undo, QKeySequence(keys.Undo))
        self.redo_action = self._action("&Edit", "&Redo", self.redo, "Ctrl+Shift+Z")
        self.clear_action = self._action(
            "&Edit", "&Clear Object on Frame", self.clear_frame, "Ctrl+Backspace"
        )
        self.candidate_action = self._action(
            "&Edit",
            "Next Mask &Candidate",
            self.next_candidate,
            "C",
            "After a single click: show the model's next candidate mask (part, whole, ...)",
        )
        self.preferences_action = self._action(
            "&Edit", "&Preferences…", self.preferences_dialog, QKeySequence(keys.Preferences)
        )
        if self.preferences_action.shortcut().isEmpty():
            self.preferences_action.setShortcut(QKeySequence("Ctrl+,"))
        self._action("&View", "&Fit to Window", self.canvas.fit, "F")
        self._action("&View", "&Actual Size (100%)", self.canvas.actual_size, "1")
        self._action("&View", "Zoom &In", lambda: self.canvas.zoom_by(1.25), QKeySequence(keys.ZoomIn))
        self._action("&View", "Zoom &Out", lambda: self.canvas.zoom_by(0.8), QKeySequence(keys.ZoomOut))
        tools = QActionGroup(self)
        self.point_tool = self._action(
            "&Tools",
            "&Point Tool",
            lambda: self._set_tool(Tool.POINT),
            "P",
            "Points: left click object, right click background, drag a point to move it",
        )
        self.box_tool = self._action(
            "&Tools", "&Box Tool", lambda: self._set_tool(Tool.BOX), "B", "Box: drag a box around the object"
        )
        self.brush_tool = self._action(
            "&Tools",
            "B&rush",
            lambda: self._set_tool(Tool.BRUSH),
            "D",
            "Brush: paint into the object's mask on this frame (right drag erases)",
        )
        self.eraser_tool = self._action(
            "&Tools",
            "&Eraser",
            lambda: self._set_tool(Tool.ERASER),
            "E",
            "Eraser: remove from the object's mask",
        )
        for action in (self.point_tool, self.box_tool, self.brush_tool, self.eraser_tool):
            action.setCheckable(True)
            tools.addAction(action)
        self.point_tool.setChecked(True)
        self._menus["&Tools"].addSeparator()
        self._action("&Tools", "Smaller Brush", lambda: self.canvas.scale_brush(0.8), "[")
        self._action("&Tools", "Larger Brush", lambda: self.canvas.scale_brush(1.25), "]")
        self.forward_action = self._action(
            "&Propagate",
            "Propagate &Forward",
            lambda: self.propagate(Direction.FORWARD),
            "Ctrl+Right",
            "Track the selected objects from this frame to the out point (or the last frame)",
        )
        self.backward_action = self._action(
            "&Propagate",
            "Propagate &Backward",
            lambda: self.propagate(Direction.BACKWARD),
            "Ctrl+Left",
            "Track the selected objects from this frame back to the in point (or the first frame)",
        )
        self.both_action = self._action(
            "&Propagate",
            "Propagate Both &Ways",
            lambda: self.propagate(Direction.BOTH),
            "Ctrl+P",
            "Track the selected objects from this frame to both ends of the in/out range",
        )
        self.cancel_action = self._action(
            "&Propagate", "&Cancel Propagation", self.cancel_propagation, "Esc", "Stop; frames done are kept"
        )
        self._menus["&Propagate"].addSeparator()
        self._action("&Propagate", "Set &In Point", lambda: self.timeline.set_in(), "I", "Start of the range")
        self._action("&Propagate", "Set &Out Point", lambda: self.timeline.set_out(), "O", "End of the range")
        self.clear_range_action = self._action(
            "&Propagate", "Clear In/Out &Range", self.timeline.clear_range, "Alt+X", "Use the whole shot"
        )
        self.add_object_action = self._action("&Object", "&Add Object", self.add_object, "Ctrl+Shift+N")
        self._action("&Playback", "Play / Pause\tSpace", self.timeline.toggle_play)
        self._action("&Playback", "&Next Frame", lambda: self.timeline.step(1), "Right")
        self._action("&Playback", "&Previous Frame", lambda: self.timeline.step(-1), "Left")
        self._action("&Playback", "&First Frame", lambda: self.timeline.set_frame(0), "Home")
        self._action(
            "&Playback", "&Last Frame", lambda: self.timeline.set_frame(self.timeline.slider.maximum()), "End"
        )
        self._action("&Help", f"About Roto {__version__}", self._about)
        self._refresh_recent()
        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("tools")
        for action in (self.point_tool, self.box_tool, self.brush_tool, self.eraser_tool):
            toolbar.addAction(action)
        toolbar.addSeparator()
        self.backward_action.setIconText("◀ Propagate")
        self.both_action.setIconText("◀ Both ▶")
        self.forward_action.setIconText("Propagate ▶")
        for action in (self.backward_action, self.both_action, self.forward_action, self.cancel_action):
            toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self._show_brush(self.canvas.brush_radius)

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def _start_engine(self) -> None:
        try:
            folder = choose_bundle(self.preferences.bundle)
        except ModelError as exc:
            self._on_engine_failed(str(exc))
            return
        if folder is None:
            self.model_label.setText("No model installed")
            self.message.setText(NO_MODEL_TEXT)
            return
        self.model_label.setText(f"Loading {folder.name}…")
        self.engine.load_bundle(folder, self.preferences.runtime)

    # -- documents ---------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open clip or project", "", MEDIA_FILTER + ";;Roto project (project.json)"
        )
        if path:
            chosen = Path(path)
            self.open_path(chosen.parent if chosen.name == "project.json" else chosen)

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a clip or a project; a failure is shown and leaves the current document as it was."""
        path = Path(path).expanduser()
        if not self._confirm_discard():
            return False
        self._abandon_run()
        try:
            doc = self._open_project(path) if is_project_path(path) else Document.from_media(open_media(path))
        except RotoError as exc:
            self.show_error("Cannot open", str(exc))
            return False
        if doc is None:
            return False
        self._set_document(doc)
        self._remember_recent(path)
        return True

    def _open_project(self, folder: Path) -> Document | None:
        recovery = find_recovery(folder) if folder.is_dir() else None
        restore = recovery is not None and self._ask(
            "Recover unsaved changes?",
            f"{folder.name} has unsaved changes from {recovery.saved_at:%Y-%m-%d %H:%M}. Restore them?",
        )
        project = load_project(folder, recovery=restore)
        if not project.shots:
            raise RotoError(f"{folder}: the project has no shot to edit")
        shot = project.shots[0]
        if project.missing_media():
            raise RotoError(f"{folder}: the shot's media {shot.media} cannot be found (moved or deleted?)")
        media = open_media(shot.media)
        if (media.size, media.frame_count) != ((shot.width, shot.height), shot.frame_count):
            media.close()
            raise RotoError(
                f"{shot.media}: the media no longer matches the project "
                f"({media.size[0]}x{media.size[1]}, {media.frame_count} frames; the project expects "
                f"{shot.width}x{shot.height}, {shot.frame_count} frames)"
            )
        return Document(project, media, folder, clean=not restore)

    def _set_document(self, doc: Document) -> None:
        old = self.doc
        self._unsubscribe()
        self.doc = doc
        doc.autosave_s = float(self.preferences.autosave_s)
        if doc.autosaver is not None:
            doc.autosaver.delay_s = doc.autosave_s
        self.candidates = None
        self.session = PromptSession(doc.stack, self.engine.predict)
        self._unsubscribe = doc.stack.add_listener(self._on_stack_event)
        self.loader.set_source(doc.media)
        self.engine.set_source(doc.media)
        if old is not None:
            old.media.close()
        self.object_id = doc.shot.objects[0].id if doc.shot.objects else None
        self._shown_frame = None
        self.pages.setCurrentIndex(1)
        self.timeline.set_clip(doc.shot.frame_count, float(doc.shot.fps), doc.media.frame_numbers)
        self.objects.set_objects(doc.shot.objects, self.object_id)
        self.loader.request(0)
        self._refresh_document()
        self.canvas.setFocus()

    def _confirm_discard(self) -> bool:
        if self.doc is None or self.doc.stack.is_clean:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {self.doc.project.name}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def save(self) -> bool:
        if self.doc is None:
            return False
        if self.doc.folder is None:
            return self.save_as()
        return self._save_to(self.doc.folder)

    def save_as(self) -> bool:
        if self.doc is None:
            return False
        suggested = str(self.doc.shot.media.with_name(self.doc.project.name + PROJECT_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project as", suggested, f"Roto project (*{PROJECT_SUFFIX})"
        )
        if not path:
            return False
        folder = Path(path)
        return self._save_to(
            folder if folder.suffix == PROJECT_SUFFIX else folder.with_name(folder.name + PROJECT_SUFFIX)
        )

    def _save_to(self, folder: Path) -> bool:
        assert self.doc is not None
        try:
            save_project(self.doc.project, folder)
        except RotoError as exc:
            self.show_error("Cannot save", str(exc))
            return False
        if self.doc.folder != folder:
            self.doc.save_to(folder)
        self.doc.stack.set_clean()
        self._remember_recent(folder)
        self.statusBar().showMessage(f"Saved {folder}", 4000)
        return True

    def _autosave(self) -> None:
        if self.doc is None or self.doc.autosaver is None:
            return
        try:
            written = self.doc.autosaver.tick(time.monotonic())
        except RotoError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 8000)
            return
        if written is not None:
            self.statusBar().showMessage("Unsaved changes backed up for crash recovery", 3000)

    def export_dialog(self) -> None:
        if self.doc is None:
            return
        base = self.doc.folder.parent if self.doc.folder else self.doc.shot.media.parent
        dialog = ExportDialog(base / f"{self.doc.project.name}_mattes", self)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        try:
            spec = dialog.spec()
        except RotoError as exc:
            self.show_error("Cannot export", str(exc))
            return
        in_out = self.timeline.in_out
        if in_out is not None:
            spec = dataclasses.replace(spec, frames=range(in_out[0], in_out[1] + 1))
        self.timeline.stop()
        result = run_export(self, ProjectMatteSource(self.doc.project, self.doc.shot, self.doc.media), spec)
        if result is not None and not result.cancelled:
            self.statusBar().showMessage(f"Exported {len(result.files)} files to {spec.output_dir}", 8000)

    # -- recent files and layout --------------------------------------------------------------------

    def _remember_recent(self, path: Path) -> None:
        settings = QSettings()
        entry = str(path.resolve())
        recent = [p for p in _string_list(settings.value("recent")) if p != entry]
        settings.setValue("recent", [entry, *recent][:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = _string_list(QSettings().value("recent"))
        for entry in recent:
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_discard():
            event.ignore()
            return
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        self.timeline.stop()
        self._autosave_timer.stop()
        self._abandon_run()
        self.loader.stop()
        self.engine.stop()
        if self.doc is not None:
            self.doc.media.close()
        event.accept()

    # -- frames and drawing ----------------------------------------------------------------------

    @property
    def shown_frame(self) -> int | None:
        """The frame index on the canvas (None until the first frame of a clip has been decoded)."""
        return self._shown_frame

    @property
    def target(self) -> PredictTarget | None:
        if self.doc is None or self.object_id is None:
            return None
        return PredictTarget(
            self.doc.shot.id, self.object_id, self.doc.shot.first_frame + self.timeline.frame
        )

    def _on_frame_changed(self, frame: int) -> None:
        self.loader.request(frame)

    def _on_frame_loaded(self, index: int, rgb: np.ndarray) -> None:
        if self.doc is None or index != self.timeline.frame:
            return  # a frame the user already scrubbed past
        self._shown_frame = index
        self.canvas.set_frame(rgb)
        self._refresh_frame()
        if not self.timeline.playing and self.run is None:  # a run encodes the frames it reaches itself
            self.engine.encode(index)

    def _refresh_frame(self) -> None:
        """Overlay and prompts of the shown frame, from the document (plus prompts waiting for their mask)."""
        if self.doc is None or self._shown_frame is None:
            return
        frame = self.doc.shot.first_frame + self._shown_frame
        masks = []
        for obj in self.doc.shot.objects:
            mask = self.doc.project.get_mask(self.doc.shot.id, obj.id, frame) if obj.visible else None
            if mask is not None:
                masks.append(ObjectMask(mask, obj.color))
        self.canvas.set_masks(masks)
        target = self.target
        if target is not None and self.session is not None:
            self.canvas.set_prompts(self.session.prompts(target), self.session.is_waiting(target))

    def _refresh_document(self) -> None:
        """Everything that depends on the whole document: marks, title, action states."""
        if self.doc is None:
            return
        obj = self._current_object()
        first = self.doc.shot.first_frame
        if obj is not None:
            self.timeline.slider.set_marks([f - first for f in obj.prompts], [f - first for f in obj.masks])
        else:
            self.timeline.slider.set_marks((), ())
        self.timeline.coverage.set_rows(
            [Coverage(o.color, frozenset(f - first for f in o.masks)) for o in self.doc.shot.objects]
        )
        name = self.doc.folder.name if self.doc.folder else self.doc.project.name
        self.setWindowTitle(f"{name}[*] — Roto")
        self.setWindowModified(not self.doc.stack.is_clean)
        self._update_actions()

    def _update_actions(self) -> None:
        has_doc = self.doc is not None
        idle = self.run is None
        stack = self.doc.stack if self.doc is not None else None
        self.undo_action.setEnabled(bool(stack and stack.can_undo) and idle)
        self.redo_action.setEnabled(bool(stack and stack.can_redo) and idle)
        self.undo_action.setText(f"&Undo {stack.undo_label}" if stack and stack.undo_label else "&Undo")
        self.redo_action.setText(f"&Redo {stack.redo_label}" if stack and stack.redo_label else "&Redo")
        for action in (
            self.save_action,
            self.save_as_action,
            self.export_action,
            self.add_object_action,
            self.clear_action,
            self.forward_action,
            self.backward_action,
            self.both_action,
        ):
            action.setEnabled(has_doc and idle)  # a run owns the document until it ends
        self.cancel_action.setEnabled(not idle)
        self.candidate_action.setEnabled(idle and self.candidates is not None)
        self.clear_range_action.setEnabled(self.timeline.in_out is not None)

    def _on_stack_event(self, event: StackEvent) -> None:
        assert self.doc is not None
        if any(change.frames == () for change in event.changes):
            ids = {obj.id for obj in self.doc.shot.objects}
            if self.object_id not in ids:
                self.object_id = self.doc.shot.objects[0].id if self.doc.shot.objects else None
            self.objects.set_objects(self.doc.shot.objects, self.object_id)
        shown = None if self._shown_frame is None else self.doc.shot.first_frame + self._shown_frame
        # A propagation changes one frame at a time: recompose the overlay only when it is the one on screen.
        if any(change.frames == () or shown in change.frames for change in event.changes):
            self._refresh_frame()
        self._refresh_document()

    def _current_object(self) -> RotoObject | None:
        if self.doc is None or self.object_id is None:
            return None
        return next((o for o in self.doc.shot.objects if o.id == self.object_id), None)

    # -- prompts -----------------------------------------------------------------------------------

    def _prompt_target(self) -> PredictTarget | None:
        """The target of a canvas edit, or None (with the reason in the status bar) when editing cannot work."""
        if self.engine_info is None:
            self.statusBar().showMessage(
                "No model is loaded: clicks cannot make masks (see the model status).", 5000
            )
            return None
        if self._busy():
            return None
        target = self.target
        if target is None:
            self.statusBar().showMessage("Add an object first (Object ▸ Add Object).", 5000)
        return target

    def _edit_prompts(self, edit: str, *args: object) -> None:
        target = self._prompt_target()
        if target is None or self.session is None:
            return
        try:
            getattr(self.session, edit)(target, *args)
        except RotoError as exc:
            self.show_error("Cannot edit prompts", str(exc))
        self._refresh_frame()

    def _on_point(self, x: float, y: float, label: int) -> None:
        self._edit_prompts("add_point", Point(x, y, label))

    def _on_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self._edit_prompts("add_box", Box(x0, y0, x1, y1))

    def _on_delete_prompt(self, kind: str, index: int) -> None:
        self._edit_prompts("delete_prompt", kind, index)

    def _on_point_moved(self, index: int, x: float, y: float) -> None:
        target = self.target
        if target is None or self.session is None:
            return
        points = self.session.prompts(target).points
        if 0 <= index < len(points):
            self._edit_prompts("move_point", index, Point(x, y, points[index].label))

    def _on_mask(self, result: PredictResult) -> None:
        if self.session is None:
            return
        try:
            committed = self.session.on_result(result)
        except RotoError as exc:
            self.show_error("Cannot apply mask", str(exc))
            self._refresh_frame()
            return
        if committed and self.doc is not None:
            target = result.request.target
            prompts = self.doc.shot.object(target.object_id).prompts.get(target.frame, FramePrompts())
            many = len(result.candidates) > 1
            self.candidates = Candidates(target, copy.deepcopy(prompts), result.candidates) if many else None
            self._update_actions()

    def next_candidate(self) -> None:
        """Replace the mask of a single click by the model's next candidate (one undo step each)."""
        chosen = self.candidates
        if chosen is None or self.doc is None or self._busy():
            return
        target = chosen.target
        obj = self.doc.shot.object(target.object_id)
        if obj.prompts.get(target.frame) != chosen.prompts:
            self.candidates = None  # the click was edited since: its candidates no longer apply
            self._update_actions()
            return
        index = (chosen.index + 1) % len(chosen.masks)
        command = SetMask(
            target.shot_id,
            target.object_id,
            target.frame,
            chosen.masks[index],
            MaskOrigin.PROMPTED,
            label="Next mask candidate",
        )
        if self._push(command):
            self.candidates = dataclasses.replace(chosen, index=index)
            self.statusBar().showMessage(f"Mask candidate {index + 1} of {len(chosen.masks)}", 3000)

    def _on_predict_failed(self, request: PredictRequest, message: str) -> None:
        if self.session is not None and self.session.on_failed(request):
            self._refresh_frame()
            self.show_error("Cannot compute mask", message)

    def _on_engine_ready(self, info: EngineInfo) -> None:
        self.engine_info = info
        weights = " · random weights (test bundle)" if info.random_weights else ""
        provider = info.provider.removesuffix("ExecutionProvider")
        self.model_label.setText(f"{info.name} · {provider}{weights}")
        if self._shown_frame is not None:
            self.engine.encode(self._shown_frame)

    def _on_engine_failed(self, message: str) -> None:
        self.engine_info = None
        self.model_label.setText("Model failed to load")
        self.message.setText(NO_MODEL_TEXT)
        self.show_error("Model error", message)

    # -- edits -------------------------------------------------------------------------------------

    def _push(self, command: object) -> bool:
        if self.doc is None:
            return False
        try:
            self.doc.stack.push(command)  # type: ignore[arg-type]
        except RotoError as exc:
            self.show_error("Cannot edit", str(exc))
            return False
        return True

    def undo(self) -> None:
        if self.doc is not None and self.session is not None and not self._busy():
            self.session.discard_pending()
            self.doc.stack.undo()
            self._refresh_frame()

    def redo(self) -> None:
        if self.doc is not None and self.session is not None and not self._busy():
            self.session.discard_pending()
            self.doc.stack.redo()
            self._refresh_frame()

    def clear_frame(self) -> None:
        target = self.target
        obj = self._current_object()
        if target is None or obj is None or self._busy():
            return
        if target.frame in obj.prompts or target.frame in obj.masks:
            self._push(ClearFrame(target.shot_id, target.frame, target.object_id))

    def add_object(self) -> None:
        if self.doc is None or self._busy():
            return
        shot = self.doc.shot
        names = {obj.name for obj in shot.objects}
        number = next(n for n in range(len(names) + 1, 2 * len(names) + 2) if f"Object {n}" not in names)
        command = AddObject(shot.id, f"Object {number}", object_colour(len(shot.objects)))
        if self._push(command):
            self.object_id = command.object_id
            self.objects.set_objects(shot.objects, self.object_id)
            self._on_object_selected(self.object_id)

    def _delete_object(self, object_id: int) -> None:
        if self.doc is not None and not self._busy():
            self._push(DeleteObject(self.doc.shot.id, object_id))

    def _rename_object(self, object_id: int, name: str) -> None:
        if self.doc is None:
            return
        if any(obj.name == name and obj.id != object_id for obj in self.doc.shot.objects):
            self.show_error(
                "Cannot rename",
                f"Another object is already called {name!r}: names must be unique (they name the exported files).",
            )
            self.objects.set_objects(self.doc.shot.objects, self.object_id)
            return
        self._update_object(object_id, name=name)

    def _update_object(self, object_id: int, **fields: object) -> None:
        if self.doc is None:
            return
        if self._busy():
            self.objects.set_objects(self.doc.shot.objects, self.object_id)  # undo the panel's own change
        else:
            self._push(UpdateObject(self.doc.shot.id, object_id, **fields))  # type: ignore[arg-type]

    def _on_object_selected(self, object_id: int | None) -> None:
        self.object_id = object_id
        self._refresh_frame()
        self._refresh_document()

    def _set_tool(self, tool: Tool) -> None:
        self.canvas.tool = tool
        self.canvas.setFocus()

    def _show_brush(self, radius: float) -> None:
        self.brush_label.setText(f"Brush {radius:.0f} px")

    def _on_stroke(self, points: list[tuple[float, float]], radius: float, erase: bool) -> None:
        """A brush or eraser stroke is one SetMask (origin: hand-edited) on the current object and frame."""
        target = self.target
        if self.doc is None or target is None:
            self.statusBar().showMessage("Add an object first (Object ▸ Add Object).", 5000)
            return
        if self._busy():
            return
        current = self.doc.project.get_mask(target.shot_id, target.object_id, target.frame)
        base = current if current is not None else np.zeros(self.doc.shot.frame_shape, bool)
        painted = paint_stroke(base, points, radius, not erase)
        if np.array_equal(painted, base):
            return
        label = "Erase" if erase else "Brush stroke"
        mask = painted if painted.any() else None
        self._push(
            SetMask(target.shot_id, target.object_id, target.frame, mask, MaskOrigin.EDITED, label=label)
        )

    # -- propagation -------------------------------------------------------------------------------

    def _busy(self) -> bool:
        """True (with the reason in the status bar) while a propagation owns the document."""
        if self.run is None:
            return False
        self.statusBar().showMessage("Propagating: wait for it to finish or cancel it (Esc) to edit.", 4000)
        return True

    def _selected_objects(self) -> list[RotoObject]:
        if self.doc is None:
            return []
        ids = set(self.objects.selected_ids()) or ({self.object_id} if self.object_id is not None else set())
        return [obj for obj in self.doc.shot.objects if obj.id in ids]

    def propagate(self, direction: Direction) -> None:
        """Track the selected objects from the current frame, within the in/out range, in the worker thread."""
        if self.doc is None or self._busy():
            return
        if self.engine_info is None:
            self.statusBar().showMessage(
                "No model is loaded: propagation needs one (see the model status).", 5000
            )
            return
        if self.session is not None and self.session.waiting:
            self.statusBar().showMessage(
                "A click is still being answered: propagate once its mask is shown.", 5000
            )
            return
        chosen = self._selected_objects()
        locked = [obj.name for obj in chosen if obj.locked]
        objects = prompt_sets(obj for obj in chosen if not obj.locked)
        if not objects:
            reason = f"{', '.join(locked)} is locked" if locked else "click on the object on some frame first"
            self.statusBar().showMessage(f"Nothing to propagate: {reason}.", 6000)
            return
        first, last = self.timeline.frame_range
        frame = self.timeline.frame
        if not first <= frame <= last:
            self.statusBar().showMessage(
                f"The current frame is outside the in/out range ({first + 1}–{last + 1}).", 6000
            )
            return
        offset = self.doc.shot.first_frame
        legs = tuple(
            (start + offset, end + offset, reverse)
            for start, end, reverse in plan_legs(direction, frame, first, last)
        )
        self._next_run_id += 1
        request = PropagateRequest(self._next_run_id, objects, legs)
        label = {"forward": "Propagate forward", "backward": "Propagate backward", "both": "Propagate"}[
            direction
        ]
        self.run = PropagationRun(request.run_id, label, request.total, follow=frame)
        self.candidates = None
        self.timeline.stop()
        self.progress.setRange(0, request.total)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.engine_label.setText(f"{label}…")
        self._update_actions()
        self.engine.propagate(request)

    def cancel_propagation(self) -> None:
        if self.run is not None:
            self.engine.cancel_propagation()
            self.cancel_button.setEnabled(False)
            self.engine_label.setText("Cancelling…")

    def _abandon_run(self) -> None:
        """Stop the run and ignore what it still sends (the document is closing)."""
        if self.run is not None:
            self.engine.cancel_propagation()
            self._end_run()

    def _end_run(self) -> None:
        self.run = None
        self.progress.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)
        self.engine_label.setText("Ready" if self.engine_info is not None else "")
        self._update_actions()

    def _on_propagated(self, run_id: int, frame: int, masks: dict[int, np.ndarray]) -> None:
        run = self.run
        if run is None or run.run_id != run_id or self.doc is None:
            return
        if not self._push(frame_step(run_id, run.label, self.doc.shot.id, frame, masks)):
            self.cancel_propagation()
            return
        run.frames_done += 1
        run.last_frame = frame - self.doc.shot.first_frame
        now = time.monotonic()
        if now - run.followed_at >= FOLLOW_INTERVAL_S:
            run.followed_at = now
            self._follow(run)

    def _follow(self, run: PropagationRun) -> None:
        """Show the run's latest frame, until the user moves the playhead themself."""
        if run.follow is not None and run.last_frame is not None and self.timeline.frame == run.follow:
            run.follow = run.last_frame
            self.timeline.set_frame(run.last_frame)

    def _on_propagation_progress(self, run_id: int, done: int, total: int) -> None:
        if self.run is not None and self.run.run_id == run_id:
            self.progress.setValue(done)

    def _on_propagation_done(self, run_id: int, cancelled: bool) -> None:
        run = self.run
        if run is None or run.run_id != run_id:
            return
        self._end_run()
        self._follow(run)
        what = "cancelled: kept" if cancelled else "done:"
        self.statusBar().showMessage(f"Propagation {what} {run.frames_done} frames (one undo step).", 8000)

    def _on_propagation_failed(self, run_id: int, message: str) -> None:
        run = self.run
        if run is None or run.run_id != run_id:
            return
        self._end_run()
        self.show_error("Propagation failed", f"{message}\n\nThe {run.frames_done} frames done are kept.")

    # -- preferences and dropped files -------------------------------------------------------------

    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self.preferences, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, chosen: Preferences) -> None:
        """Store the preferences and apply them now: the model is reloaded only when its settings changed."""
        old, self.preferences = self.preferences, chosen
        chosen.save()
        self.engine.cache.max_bytes = chosen.cache_bytes  # shrinking takes effect at the next encode
        if self.doc is not None:
            self.doc.autosave_s = float(chosen.autosave_s)
            if self.doc.autosaver is not None:
                self.doc.autosaver.delay_s = self.doc.autosave_s
        if (old.bundle, old.runtime) != (chosen.bundle, chosen.runtime):
            if self._busy():
                self.statusBar().showMessage("The model settings apply after the propagation.", 6000)
                return
            self.engine_info = None
            self._start_engine()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """A dropped clip, image sequence (an image or its folder) or project opens like File ▸ Open."""
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            chosen = paths[0]
            self.open_path(chosen.parent if chosen.name == "project.json" else chosen)

    # -- keys and messages -------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.timeline.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    def show_error(self, title: str, message: str) -> None:
        """Every user-facing failure ends here; the editor stays usable afterwards."""
        log.warning("%s: %s", title, message)
        self.timeline.stop()
        QMessageBox.critical(self, title, message)

    def _ask(self, title: str, question: str) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        return QMessageBox.question(self, title, question, buttons) == QMessageBox.StandardButton.Yes

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Roto",
            f"<b>Roto {__version__}</b><br>Rotoscoping with SAM2 on ONNX Runtime.<br>Apache-2.0.",
        )


def _string_list(value: object) -> list[str]:
    """QSettings returns a str for one-element lists on some platforms and None when unset."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[attr-defined]


def run_app(media: str | None) -> int:
    """Open the editor (on `media` when given) and run until the window closes; returns the exit status."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName("roto")
    app.setApplicationName("Roto")
    app.setApplicationVersion(__version__)
    apply_dark_theme(app)
    window = MainWindow()
    window.show()
    if media:
        window.open_path(media)
    return int(app.exec())
