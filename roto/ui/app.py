"""The editor window: widgets and their layout, wired to the Qt-free editor (roto.editor).

The window decides nothing. Input goes to `Editor` (canvas gestures, panel requests, menu actions from
roto.ui.actions); what is shown comes from `EditorState` events and the undo stack's change events, and each
widget redraws only what a change names. Model and decoding work happens in roto.ui.worker threads, exports in
roto.ui.operations.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
)

from roto import __version__
from roto.editor.documents import Document, MediaNotFound, open_document
from roto.editor.editor import Editor
from roto.editor.propagation import PropagationRun
from roto.editor.state import EditorState
from roto.editor.tools import Tool
from roto.engine.embeddings import EmbeddingCache
from roto.errors import RotoError
from roto.ui.actions import add_toolbar, build_actions, update_actions
from roto.ui.brush_settings import attach_brush
from roto.ui.canvas import Canvas
from roto.ui.composer import ViewComposer
from roto.ui.document_io import (
    RecentFiles,
    ask_restore,
    autosave,
    choose_clip_or_project,
    choose_project_folder,
    choose_save_folder,
    confirm_discard,
    export_mattes,
    locate_media,
    opened_path,
)
from roto.ui.document_view import DocumentView
from roto.ui.matte_panel import add_matte_dock
from roto.ui.model_control import ModelControl
from roto.ui.panels import ObjectsPanel
from roto.ui.preferences import Preferences, PreferencesDialog
from roto.ui.proposal_bar import ProposalBar
from roto.ui.status import StatusWidgets
from roto.ui.theme import apply_dark_theme
from roto.ui.timeline import Timeline
from roto.ui.window_layout import lay_out
from roto.ui.worker import EngineWorker, FrameLoader, MatteRefiner

log = logging.getLogger(__name__)

AUTOSAVE_CHECK_MS = 5000


class MainWindow(QMainWindow):
    """One document at a time; every long-running step runs in the worker threads."""

    state: EditorState
    editor: Editor
    canvas: Canvas
    timeline: Timeline
    menu_actions: dict[str, QAction]
    models: ModelControl

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Roto")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self.preferences = Preferences.load()
        self.state = EditorState()
        self.loader = FrameLoader()
        self.refiner = MatteRefiner()
        self.composer = ViewComposer()
        self.engine = EngineWorker(EmbeddingCache.user(self.preferences.cache_bytes))  # RAM, then disk
        self.editor = Editor(self.engine, self.state)

        self.canvas = Canvas()
        self.timeline = Timeline()
        self.objects = ObjectsPanel()
        layout = lay_out(self, self.canvas, self.timeline, self.objects)
        self.pages, self.message, column = layout.pages, layout.message, layout.column
        self.matte_panel = add_matte_dock(self)
        self.status = StatusWidgets(self.statusBar(), self.editor.cancel_propagation)
        self.models = ModelControl(
            self,
            self.engine,
            self.state,
            self.status,
            self.message,
            self.show_error,
            lambda: self.preferences,
        )
        column.insertWidget(0, self.models.banner)
        self.proposal_bar = ProposalBar(self.editor)
        column.insertWidget(1, self.proposal_bar)
        self.view = DocumentView(
            self.editor,
            self.canvas,
            self.timeline,
            self.objects,
            self.loader,
            self.composer,
            self.refiner,
            self._show_title,
        )

        self.menu_actions, menus = build_actions(self)
        add_toolbar(self, self.menu_actions)
        self.recent = RecentFiles(menus["&File"], self.open_path)
        self._connect_widgets()
        self._connect_engine()
        self._connect_state()
        attach_brush(self)
        self.loader.start()
        self.refiner.start()
        self.composer.start()
        self.engine.start()
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(lambda: autosave(self.state, self.statusBar()))
        self._autosave_timer.start(AUTOSAVE_CHECK_MS)
        self._restore_layout()
        self.models.start()
        update_actions(self.menu_actions, self.state)

    # -- wiring ------------------------------------------------------------------------------------

    def _connect_widgets(self) -> None:
        editor, state = self.editor, self.state
        self.timeline.frame_changed.connect(lambda frame: setattr(state, "frame", frame))
        self.timeline.range_changed.connect(self._on_range_changed)
        self.canvas.point_added.connect(editor.add_point)
        self.canvas.box_drawn.connect(editor.add_box)
        self.canvas.prompt_delete_requested.connect(lambda _kind, index: editor.delete_point(index))
        self.canvas.point_moved.connect(editor.move_point)
        self.canvas.box_moved.connect(editor.move_box)
        self.canvas.stroke_finished.connect(editor.stroke)
        self.canvas.proposal_clicked.connect(editor.pick_proposal)
        self.canvas.brush_changed.connect(self.status.show_brush)
        self.canvas.space_tapped.connect(self.timeline.toggle_play)
        self.canvas.zoom_changed.connect(self.status.show_zoom)
        self.objects.current_changed.connect(lambda object_id: setattr(state, "object_id", object_id))
        self.objects.list.itemSelectionChanged.connect(
            lambda: setattr(state, "selection", tuple(self.objects.selected_ids()))
        )
        self.objects.add_requested.connect(editor.add_object)
        self.objects.delete_requested.connect(editor.delete_object)
        self.objects.rename_requested.connect(lambda oid, name: self._update_object(oid, name=name))
        self.objects.color_requested.connect(lambda oid, color: self._update_object(oid, color=color))
        self.objects.visibility_requested.connect(lambda oid, shown: self._update_object(oid, visible=shown))

    def _connect_engine(self) -> None:
        editor, engine = self.editor, self.engine
        self.loader.failed.connect(lambda message: self.show_error("Cannot read frame", message))
        self.refiner.failed.connect(lambda message: self.show_error("Cannot refine edge", message))
        self.composer.failed.connect(lambda message: self.show_error("Cannot show the masks", message))
        engine.failed.connect(lambda message: self.show_error("Model error", message))
        engine.mask_ready.connect(editor.on_mask)
        engine.predict_failed.connect(editor.on_predict_failed)
        engine.propagated.connect(editor.on_propagated)
        engine.propagation_progress.connect(self._on_propagation_progress)
        engine.propagation_done.connect(editor.on_propagation_done)
        engine.propagation_failed.connect(editor.on_propagation_failed)
        engine.proposals_ready.connect(editor.on_proposals)
        engine.proposal_progress.connect(editor.on_proposal_progress)
        engine.proposals_cancelled.connect(editor.on_proposals_cancelled)
        engine.proposals_failed.connect(editor.on_proposals_failed)

    def _connect_state(self) -> None:
        state = self.state
        state.connect("document", self._show_document)
        state.connect("tool", self._show_tool)
        state.connect("run", self._show_run)
        state.connect("candidates", lambda _value: update_actions(self.menu_actions, state))
        state.connect("in_out", lambda _value: update_actions(self.menu_actions, state))
        state.connect("proposing", lambda _value: update_actions(self.menu_actions, state))
        state.connect("proposals", lambda _value: update_actions(self.menu_actions, state))
        state.status.connect(lambda text: self.statusBar().showMessage(text, 6000))
        state.error.connect(lambda failure: self.show_error(*failure))

    # -- the document on screen ----------------------------------------------------------------------

    def _show_document(self, doc: Document | None) -> None:
        self.pages.setCurrentIndex(0 if doc is None else 1)
        if doc is not None:
            doc.autosave_s = float(self.preferences.autosave_s)
            self._show_title()
            self.canvas.setFocus()

    def _on_range_changed(self) -> None:
        if not self.editor.set_in_out(self.timeline.in_out):
            self.timeline.set_range(
                *(self.state.in_out or (None, None))
            )  # refused: show the document's again

    def _show_title(self) -> None:
        doc = self.state.document
        if doc is not None:
            self.setWindowTitle(f"{doc.name}[*] — Roto")
            self.setWindowModified(not doc.stack.is_clean)
        update_actions(self.menu_actions, self.state)

    def _show_tool(self, tool: Tool) -> None:
        self.canvas.tool = tool
        update_actions(self.menu_actions, self.state)

    def set_tool(self, tool: Tool) -> None:
        self.state.tool = tool
        self.canvas.setFocus()

    def _update_object(self, object_id: int, **fields: object) -> None:
        doc = self.state.document
        if doc is not None and not self.editor.update_object(object_id, **fields):  # type: ignore[arg-type]
            self.objects.set_objects(doc.shot.objects, self.state.object_id)  # undo the panel's own change

    # -- engine and propagation ----------------------------------------------------------------------

    def _show_run(self, run: PropagationRun | None) -> None:
        if run is not None:
            self.timeline.stop()
        self.status.show_run(run, ready=self.state.engine is not None)
        update_actions(self.menu_actions, self.state)

    def _on_propagation_progress(self, run_id: int, done: int, _total: int) -> None:
        run = self.state.run
        if run is not None and run.run_id == run_id:
            self.status.show_progress(done, run.progress_text(time.monotonic()))

    # -- documents -----------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        chosen = choose_clip_or_project(self)
        if chosen is not None:
            self.open_path(chosen)

    def open_path(self, path: str | os.PathLike[str], relink: Path | None = None) -> bool:
        """Open a clip or a project; a failure is shown and leaves the current document as it was."""
        path = Path(path).expanduser()
        current = self.state.document
        if relink is None and not confirm_discard(self, current, self.save):
            return False
        try:
            doc = open_document(
                path, lambda recovery: ask_restore(self, path, recovery), relink=relink, replacing=current
            )
        except MediaNotFound as missing:
            located = locate_media(self, missing)
            return located is not None and self.open_path(path, relink=located)
        except RotoError as exc:
            self.show_error("Cannot open", str(exc))
            return False
        self.editor.set_document(doc)
        self.recent.remember(path)
        return True

    def open_project_dialog(self) -> None:
        folder = choose_project_folder(self, self.recent.last_dir())
        if folder is not None:
            self.open_path(folder)

    def save(self) -> bool:
        doc = self.state.document
        if doc is None:
            return False
        return self.save_as() if doc.folder is None else self._save_to(doc.folder)

    def save_as(self) -> bool:
        doc = self.state.document
        if doc is None:
            return False
        folder = choose_save_folder(self, doc, self.recent.last_dir())
        return folder is not None and self._save_to(folder)

    def _save_to(self, folder: Path) -> bool:
        doc = self.state.document
        assert doc is not None
        try:
            doc.save(folder)
        except RotoError as exc:
            self.show_error("Cannot save", str(exc))
            return False
        self.recent.remember(folder)
        self._show_title()
        self.statusBar().showMessage(f"Saved {folder}", 4000)
        return True

    def export_dialog(self) -> None:
        if self.state.document is not None:
            self.timeline.stop()
            export_mattes(self, self.state.document, self.state.in_out)

    # -- preferences, window chrome ------------------------------------------------------------------

    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self.preferences, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, chosen: Preferences) -> None:
        """Store the preferences and apply them now: the model is reloaded only when its settings changed."""
        old, self.preferences = self.preferences, chosen
        chosen.save()
        self.engine.cache.max_bytes = chosen.cache_bytes  # shrinking takes effect at the next encode
        if self.state.document is not None:
            self.state.document.autosave_s = float(chosen.autosave_s)
        if (old.bundle, old.runtime) != (chosen.bundle, chosen.runtime):
            if self.state.busy:
                self.statusBar().showMessage("The model settings apply after the propagation.", 6000)
                return
            self.models.start()

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        layout = settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if layout is not None:
            self.restoreState(layout)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not confirm_discard(self, self.state.document, self.save):
            event.ignore()
            return
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        self.timeline.stop()
        self._autosave_timer.stop()
        self.editor.set_document(None)
        self.loader.stop()
        self.refiner.stop()
        self.composer.stop()
        self.engine.stop()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """A dropped clip, image sequence (an image or its folder) or project opens like File ▸ Open."""
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(opened_path(paths[0]))

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

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Roto",
            f"<b>Roto {__version__}</b><br>Rotoscoping with SAM2 on ONNX Runtime.<br>Apache-2.0.",
        )


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
