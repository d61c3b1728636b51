"""Long work off the GUI thread as small operations with typed success and failure (Anki's aqt/operations).

An operation is a pure task function taking a `TaskState` (progress, cancellation), run on its own thread; its
outcome comes back on the GUI thread to the `success` or `failure` callback given to it. A cancelled task's late
signals are dropped with it. The window never waits in a nested event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Self, TypeVar

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from roto.editor.jobs import TaskState
from roto.errors import failure_message

T = TypeVar("T")


class _TaskThread(QThread):
    progressed = Signal(int, int)
    said = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, task: Callable[[TaskState], object], state: TaskState) -> None:
        super().__init__()
        self._task = task
        self._state = state
        state.on_progress = self.progressed.emit
        state.on_status = self.said.emit

    def run(self) -> None:
        try:
            result = self._task(self._state)
        except Exception as exc:  # the window waits for an outcome whatever went wrong
            self.failed.emit(failure_message(exc, "background operation"))
            return
        self.succeeded.emit(result)


class Operation(QObject, Generic[T]):
    """`Operation(parent, task).success(...).failure(...).with_progress(...).run_in_background()`."""

    def __init__(self, parent: QWidget, task: Callable[[TaskState], T]) -> None:
        super().__init__(parent)
        self._parent = parent
        self.state = TaskState()
        self._thread = _TaskThread(task, self.state)
        self._on_success: Callable[[T], None] = lambda _result: None
        self._on_failure: Callable[[str], None] = lambda _message: None
        self._progress: QProgressDialog | None = None
        self.done = False  # the outcome was delivered (success or failure)

    def success(self, callback: Callable[[T], None]) -> Self:
        self._on_success = callback
        return self

    def failure(self, callback: Callable[[str], None]) -> Self:
        self._on_failure = callback
        return self

    def with_progress(self, text: str) -> Self:
        """A window-modal progress dialog whose Cancel asks the task to stop between steps."""
        dialog = QProgressDialog(text, "Cancel", 0, 0, self._parent)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(self.state.cancel)
        self._thread.progressed.connect(lambda done, total: _show_progress(dialog, done, total))
        self._thread.said.connect(dialog.setLabelText)
        self._progress = dialog
        return self

    def run_in_background(self) -> None:
        self._thread.succeeded.connect(self._succeeded)
        self._thread.failed.connect(self._failed)
        self._thread.finished.connect(self._finished)
        self._thread.start()
        if self._progress is not None:
            self._progress.show()

    def wait(self) -> None:
        """Block until the task ends (closing the window; tests)."""
        self._thread.wait()

    def _succeeded(self, result: object) -> None:
        self.done = True
        self._close_progress()
        self._on_success(result)  # type: ignore[arg-type]

    def _failed(self, message: str) -> None:
        self.done = True
        self._close_progress()
        self._on_failure(message)

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.reset()
            self._progress = None

    def _finished(self) -> None:
        # `finished` comes just before the thread has really ended: join it (at once). The operation itself stays
        # a child of its parent: deleting it here raced with the parent's own deletion (a crash in ~QObject).
        self._thread.wait()


def _show_progress(dialog: QProgressDialog, done: int, total: int) -> None:
    dialog.setMaximum(total)
    dialog.setValue(done)
