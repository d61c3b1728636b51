"""Models ▸ Model Manager: the installed bundles, and installing, importing, verifying and removing them.

Installing and verifying run as operations in the background with progress and Cancel; the work itself is
roto.engine.install, the same as `roto models ...`, so the dialog and the CLI install the same way (from the graph
template without PyTorch where one exists, with the converter otherwise, which explains itself when absent).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from roto.editor.jobs import TaskState
from roto.engine.bundle import VARIANTS, installed_bundles
from roto.engine.install import (
    InstallCancelled,
    describe_bundle,
    import_bundle,
    import_checkpoint,
    install,
    remove,
)
from roto.ui.operations import Operation

COLUMNS = ("Name", "Variant", "Precision", "Size", "Status")


def installable() -> list[str]:
    """The variants `install` knows (the reduced test variant is not for users)."""
    return [key for key, spec in VARIANTS.items() if not spec.reduced]


def status_text(info: dict[str, Any]) -> str:
    if info.get("problems"):
        return "damaged: " + "; ".join(info["problems"])[:200]
    if info.get("random_weights"):
        return "random weights (tests only)"
    return "ok" if info.get("ok", True) else "damaged"


def watch_task(task: TaskState) -> Callable[[str, int, int | None], None]:
    """An install's progress into the operation's state; Cancel stops it at the next block or step."""

    def watch(what: str, done: int, total: int | None) -> None:
        task.say(what)
        task.report(done, total or 0)
        if task.is_cancelled():
            raise InstallCancelled(f"{what}: stopped")

    return watch


class ModelManager(QDialog):
    """Shows what is installed; `changed` (a callable) is called after anything was installed or removed."""

    def __init__(self, parent: QWidget, changed: Callable[[], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model manager")
        self._changed = changed
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QHBoxLayout()
        for text, slot, tip in (
            ("Install…", self.install_dialog, "Download one of Meta's SAM2.1 models and build its bundle"),
            ("Import…", self.import_dialog, "A bundle folder or .zip, or one of Meta's .pt checkpoints"),
            ("Verify", self.verify_selected, "Check the selected bundle's files against its manifest"),
            ("Remove", self.remove_selected, "Delete the selected bundle"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.resize(760, 360)
        self.refresh()

    def refresh(self, checked: dict[str, dict[str, Any]] | None = None) -> None:
        """List the installed bundles; `checked` holds verification results to show instead of a quick look."""
        folders = installed_bundles()
        self.table.setRowCount(len(folders))
        for row, folder in enumerate(folders):
            info = (checked or {}).get(folder.name) or describe_bundle(folder, check=False)
            size = info.get("size")
            cells = (
                folder.name,
                str(info.get("variant", "?")),
                str(info.get("precision") or "fp32"),
                f"{size / 2**20:.1f} MiB" if size is not None else "?",
                status_text(info),
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def selected(self) -> str | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        item = self.table.item(min(rows), 0) if rows else None
        return item.text() if item is not None else None

    # -- actions -------------------------------------------------------------------------------------

    def install_dialog(self) -> None:
        variant, ok = QInputDialog.getItem(self, "Install model", "Model:", installable(), 0, False)
        if ok:
            self.run(
                f"Installing {variant}…",
                lambda task: install(variant, progress=False, watch=watch_task(task)),
            )

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a model", "", "Bundle zip or checkpoint (*.zip *.pt);;All files (*)"
        )
        if not path:
            return
        source = Path(path)
        if source.suffix != ".pt":
            self.run(f"Importing {source.name}…", lambda _task: import_bundle(source))
            return
        variant, ok = QInputDialog.getItem(
            self, "Import checkpoint", f"Which model is {source.name}?", installable(), 0, False
        )
        if ok:
            self.run(
                f"Building a bundle from {source.name}…",
                lambda task: import_checkpoint(source, variant, progress=False, watch=watch_task(task)),
            )

    def verify_selected(self) -> Operation[dict[str, Any]] | None:
        name = self.selected()
        if name is None:
            return None
        folder = next(f for f in installed_bundles() if f.name == name)
        operation = Operation(self, lambda _task: describe_bundle(folder, check=True))
        operation.success(lambda info: self._verified(name, info)).failure(self._failed)
        operation.with_progress(f"Verifying {name}…").run_in_background()
        return operation

    def remove_selected(self) -> None:
        name = self.selected()
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        if name is not None and (
            QMessageBox.question(self, "Remove model", f"Delete the bundle {name}?", buttons)
            == QMessageBox.StandardButton.Yes
        ):
            remove(name)
            self.refresh()
            self._changed()

    def run(self, text: str, work: Callable[[TaskState], Path]) -> Operation[Path]:
        operation = Operation(self, work)
        operation.success(self._installed).failure(self._failed)
        operation.with_progress(text).run_in_background()
        return operation

    def _installed(self, folder: Path) -> None:
        self.refresh()
        self._changed()
        QMessageBox.information(self, "Model installed", f"Installed {folder.name} in {folder.parent}")

    def _verified(self, name: str, info: dict[str, Any]) -> None:
        self.refresh({name: info})
        if info.get("problems"):
            QMessageBox.warning(self, "Verification failed", f"{name}:\n" + "\n".join(info["problems"]))

    def _failed(self, message: str) -> None:
        self.refresh()
        if "stopped" not in message:
            QMessageBox.critical(self, "Model manager", message)
