"""Soak: the real editor window (offscreen Qt, the real worker thread, the test bundle) driven for a while by a
scripted user: clicks, propagations, undo/redo, saves and exports, round after round. Prints JSON: rounds and
actions done, RSS at start and end (and its peak), errors the window showed, and whether every save reopens.

The claim checked: nothing crashes, nothing hangs, no error dialog, no work lost, and memory does not keep
growing with the session (RSS after the first rounds vs at the end).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editor_soak.py [--minutes 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import av
import numpy as np
import psutil
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, emit

from roto.project import load_project
from roto.ui.app import MainWindow
from roto.ui.export_dialog import ExportDialog

SIZE, FRAMES = (320, 240), 24
WAIT_S = 120.0


def write_clip(path: Path) -> Path:
    """A bright square moving over a gradient: something for the model to follow."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        ramp = np.linspace(20, 90, SIZE[0], dtype=np.uint8)
        for index in range(FRAMES):
            rgb = np.repeat(np.repeat(ramp[None, :, None], SIZE[1], 0), 3, 2)
            rgb[80:160, 40 + 6 * index : 120 + 6 * index] = (230, 200, 60)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


class Soak:
    """One window and a scripted user; each step waits until the window is idle again (or reports a hang)."""

    def __init__(self, app: QApplication, folder: Path, seed: int) -> None:
        self.app, self.folder, self.random = app, folder, random.Random(seed)
        self.errors: list[str] = []
        self.actions: Counter[str] = Counter()
        self.hangs = 0
        self.window = MainWindow()
        self.window.resize(1000, 700)
        self.window.show()

    def wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            self.app.processEvents()
            # what the application's own event loop does between events (processEvents alone never deletes)
            self.app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            if time.monotonic() > deadline:
                self.hangs += 1
                raise TimeoutError(f"{what} did not finish within {WAIT_S} s")
            time.sleep(0.002)

    def idle(self) -> bool:
        prompts = self.window.editor.prompts
        return not self.window.state.busy and (prompts is None or not prompts.waiting)

    def click(self) -> None:
        x, y = self.random.uniform(10, SIZE[0] - 10), self.random.uniform(10, SIZE[1] - 10)
        button = Qt.MouseButton.LeftButton if self.random.random() < 0.8 else Qt.MouseButton.RightButton
        viewport = self.window.canvas.viewport()
        at = QPointF(self.window.canvas.image_to_view(x, y))
        for kind in (QMouseEvent.Type.MouseButtonPress, QMouseEvent.Type.MouseButtonRelease):
            event = QMouseEvent(kind, at, at, button, button, Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(viewport, event)
        self.wait(self.idle, "a click")

    def trigger(self, action: str) -> None:
        self.window.menu_actions[action].trigger()
        self.wait(self.idle, action)

    def export(self) -> None:
        status, errors = self.window.statusBar(), len(self.errors)
        status.clearMessage()
        self.window.export_dialog()  # the real dialog path (accepted by the script) and background operation
        self.wait(
            lambda: status.currentMessage().startswith("Exported") or len(self.errors) > errors, "export"
        )

    def step(self) -> None:
        """One scripted gesture, chosen at random with a user's frequencies."""
        window = self.window
        choice = self.random.choices(
            ["click", "frame", "propagate", "undo", "redo", "save", "export", "object"],
            weights=[30, 15, 10, 15, 8, 8, 6, 3],
        )[0]
        if choice == "click":
            self.click()
        elif choice == "frame":
            window.timeline.set_frame(self.random.randrange(FRAMES))
            self.wait(lambda: window.state.shown_frame == window.timeline.frame, "showing a frame")
        elif choice == "propagate":
            self.trigger(self.random.choice(["propagate_forward", "propagate_backward", "propagate_both"]))
        elif choice in ("undo", "redo"):
            if window.menu_actions[choice].isEnabled():
                self.trigger(choice)
        elif choice == "save":
            assert window.save(), "save failed"
        elif choice == "export":
            self.export()
        elif choice == "object":
            window.editor.add_object()
        self.actions[choice] += 1


def cache_mib(window: MainWindow) -> dict[str, float]:
    """What the bounded caches hold: RSS that grows with these and levels off at their limits is not a leak."""
    document = window.state.document
    assert document is not None
    held = {
        "decoded_masks": document.project.masks.cached_bytes,
        "embeddings": window.engine.cache.memory_bytes,
        "frames": document.media.cache.current_bytes,
    }
    return {name: round(size / 2**20, 1) for name, size in held.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("ROTO_MODEL", str(ROOT / "tests" / "data" / "bundles" / "sam2.1-test"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        os.environ["ROTO_CACHE_DIR"] = str(folder / "cache")
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
        clip = write_clip(folder / "soak.mp4")
        project = folder / "soak.roto"
        soak = Soak(app, folder, args.seed)
        QMessageBox.critical = staticmethod(
            lambda _p, title, text, *_a: soak.errors.append(f"{title}: {text}")
        )  # type: ignore[method-assign]
        QMessageBox.question = staticmethod(lambda *_a: QMessageBox.StandardButton.Discard)  # type: ignore[method-assign]

        def accept(dialog: ExportDialog) -> int:
            dialog.folder.setText(str(folder / "mattes"))
            dialog.overwrite.setChecked(True)
            return ExportDialog.DialogCode.Accepted

        ExportDialog.exec = accept  # type: ignore[assignment,method-assign]
        window = soak.window
        soak.wait(lambda: window.state.engine is not None, "loading the model")
        assert window.open_path(clip)
        soak.wait(lambda: window.state.shown_frame == 0, "showing the clip")
        window.state.document.save(project)  # type: ignore[union-attr]
        rss_start = process.memory_info().rss
        rss_after_warmup = None
        caches_after_warmup = cache_mib(window)
        start = time.monotonic()
        rounds = crashes = 0
        rss_trend: list[
            float
        ] = []  # MiB every 5 rounds: growth that levels off is caches filling, not a leak
        try:
            while time.monotonic() - start < args.minutes * 60:
                for _ in range(20):
                    soak.step()
                rounds += 1
                if rounds == 5:
                    rss_after_warmup = process.memory_info().rss
                    caches_after_warmup = cache_mib(window)
                if rounds % 5 == 0:
                    rss_trend.append(round(process.memory_info().rss / 2**20, 1))
        except Exception as exc:  # a crash of the scripted session is the finding: report it, do not hide it
            crashes += 1
            soak.errors.append(f"{type(exc).__name__}: {exc}")
        soak.wait(soak.idle, "the last step")
        window.save()
        reopened = load_project(project)
        lost = reopened != window.state.document.project  # type: ignore[union-attr]
        elapsed = time.monotonic() - start
        rss_end = process.memory_info().rss
        caches_end = cache_mib(window)
        undo_steps = window.state.document.stack.revision  # type: ignore[union-attr]
        window.close()
        emit(
            {
                "minutes": round(elapsed / 60, 2),
                "rounds": rounds,
                "actions": dict(soak.actions),
                "objects": len(reopened.shots[0].objects),
                "masks_saved": sum(len(o.masks) for o in reopened.shots[0].objects),
                "rss_start_mib": round(rss_start / 2**20, 1),
                "rss_after_5_rounds_mib": round((rss_after_warmup or rss_end) / 2**20, 1),
                "rss_end_mib": round(rss_end / 2**20, 1),
                "rss_every_5_rounds_mib": rss_trend,
                "caches_after_5_rounds_mib": caches_after_warmup,
                "caches_end_mib": caches_end,
                "undo_steps": undo_steps,
                "crashes": crashes,
                "hangs": soak.hangs,
                "error_dialogs": soak.errors,
                "saved_project_differs_from_editor": lost,
            }
        )


if __name__ == "__main__":
    main()
