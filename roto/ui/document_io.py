"""The window's dialogs around a document: open, save as, recent files, "save changes?", "restore backup?", a moved
clip to locate, autosave's messages, and export."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QStatusBar, QWidget

from roto.editor.documents import Document, MediaNotFound
from roto.editor.jobs import TaskState
from roto.editor.state import EditorState
from roto.errors import RotoError
from roto.export import ExportResult, ExportSpec, export
from roto.export.project_source import ProjectMatteSource
from roto.project.autosave import Recovery
from roto.project.store import PROJECT_SUFFIX
from roto.ui.export_dialog import ExportDialog
from roto.ui.operations import Operation

MAX_RECENT = 10
MEDIA_FILTER = "Video or images (*.mp4 *.mov *.mkv *.avi *.webm *.m4v *.png *.jpg *.jpeg *.tif *.tiff *.exr);;All files (*)"


class RecentFiles:
    """File ▸ Open Recent, kept in QSettings."""

    def __init__(self, file_menu: QMenu, open_path: Callable[[str], object]) -> None:
        self.menu = file_menu.addMenu("Open &Recent")
        self._open = open_path
        self.refresh()

    def remember(self, path: Path) -> None:
        settings = QSettings()
        entry = str(path.resolve())
        recent = [p for p in _string_list(settings.value("recent")) if p != entry]
        settings.setValue("recent", [entry, *recent][:MAX_RECENT])
        self.refresh()

    def last_dir(self) -> str:
        """The folder holding the most recent project ("" when none was opened or saved yet)."""
        projects = [Path(p) for p in _string_list(QSettings().value("recent")) if p.endswith(PROJECT_SUFFIX)]
        return str(projects[0].parent) if projects else ""

    def refresh(self) -> None:
        self.menu.clear()
        recent = _string_list(QSettings().value("recent"))
        for entry in recent:
            action = self.menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self._open(p))
        self.menu.setEnabled(bool(recent))


def _string_list(value: object) -> list[str]:
    """QSettings returns a str for one-element lists on some platforms and None when unset."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[attr-defined]


def autosave(state: EditorState, status: QStatusBar) -> None:
    """Back up the document's unsaved changes when due (the window's timer asks), saying so in the status bar."""
    doc = state.document
    if doc is None or doc.autosaver is None or state.busy:
        return  # a run's masks are backed up once it ends, not frame by frame on the GUI thread
    try:
        written = doc.autosaver.tick(time.monotonic())
    except RotoError as exc:
        status.showMessage(f"Autosave failed: {exc}", 8000)
        return
    if written is not None:
        status.showMessage("Unsaved changes backed up for crash recovery", 3000)


def ask_restore(parent: QWidget, folder: Path, recovery: Recovery) -> bool:
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    question = f"{folder.name} has unsaved changes from {recovery.saved_at:%Y-%m-%d %H:%M}. Restore them?"
    answer = QMessageBox.question(parent, "Recover unsaved changes?", question, buttons)
    return answer == QMessageBox.StandardButton.Yes


def opened_path(chosen: Path) -> Path:
    """What to open for a chosen or dropped file: a project is opened by its folder, which its project.json names."""
    return chosen.parent if chosen.name == "project.json" else chosen


def choose_clip_or_project(parent: QWidget) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open clip or project", "", MEDIA_FILTER + ";;Roto project (project.json)"
    )
    return opened_path(Path(path)) if path else None


def choose_project_folder(parent: QWidget, start: str) -> Path | None:
    folder = QFileDialog.getExistingDirectory(parent, "Open project (a NAME.roto folder)", start)
    return Path(folder) if folder else None


def choose_save_folder(parent: QWidget, doc: Document, last_dir: str) -> Path | None:
    """Where to save `doc` as a NAME.roto folder: offered beside the last project, not in the media's folder."""
    suggested = doc.suggested_folder()
    if doc.folder is None and last_dir:
        suggested = Path(last_dir) / suggested.name
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save project as", str(suggested), f"Roto project (*{PROJECT_SUFFIX})"
    )
    if not path:
        return None
    folder = Path(path)
    return folder if folder.suffix == PROJECT_SUFFIX else folder.with_name(folder.name + PROJECT_SUFFIX)


def locate_media(parent: QWidget, missing: MediaNotFound) -> Path | None:
    """Offer to find a project's moved media; None when the user declines or cancels."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    question = (
        f"{missing}\n\nLocate the media? The project will point to the new place (undoable, saved with it)."
    )
    if QMessageBox.question(parent, "Media not found", question, buttons) != QMessageBox.StandardButton.Yes:
        return None
    start = str(missing.media.parent) if missing.media.parent.is_dir() else str(missing.project.parent)
    path, _ = QFileDialog.getOpenFileName(parent, f"Locate {missing.media.name}", start, MEDIA_FILTER)
    return Path(path) if path else None


def confirm_discard(parent: QWidget, doc: Document | None, save: Callable[[], bool]) -> bool:
    """True when the document may be closed: it is saved, the user saved it now, or chose to discard."""
    if doc is None or doc.stack.is_clean:
        return True
    answer = QMessageBox.question(
        parent,
        "Unsaved changes",
        f"Save the changes to {doc.project.name}?",
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel,
    )
    if answer == QMessageBox.StandardButton.Save:
        return save()
    return answer == QMessageBox.StandardButton.Discard


def export_mattes(
    window: QMainWindow, doc: Document, in_out: tuple[int, int] | None
) -> Operation[ExportResult] | None:
    """Ask where and how, then export a snapshot of the document in the background (None: the user cancelled)."""
    base = doc.folder.parent if doc.folder else doc.shot.media.parent
    source = ProjectMatteSource(doc.project, doc.shot, doc.media)  # a snapshot: later edits do not leak in
    dialog = ExportDialog(base / f"{doc.project.name}_mattes", source, in_out, window)
    try:
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return None
        spec: ExportSpec = dialog.spec()
    except RotoError as exc:
        QMessageBox.critical(window, "Cannot export", str(exc))
        return None
    finally:
        dialog.deleteLater()  # a child of the window: kept, it would hold ~0.6 MB per export until the window closes

    def run(task: TaskState) -> ExportResult:
        return export(source, spec, task.report, task.cancelled)

    def done(result: ExportResult) -> None:
        if not result.cancelled:
            window.statusBar().showMessage(f"Exported {len(result.files)} files to {spec.output_dir}", 8000)

    def failed(message: str) -> None:
        QMessageBox.critical(window, "Export failed", message)

    operation = Operation(window, run).success(done).failure(failed)
    operation.with_progress("Exporting mattes…").run_in_background()
    return operation
