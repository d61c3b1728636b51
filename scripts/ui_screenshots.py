"""Screenshots of the editor's views for docs/ui.md, taken from the real window (run under Xvfb).

    Xvfb :97 -screen 0 1440x900x24 &
    DISPLAY=:97 ROTO_MODEL=tests/data/bundles/sam2.1-test .venv/bin/python scripts/ui_screenshots.py

Opens ../shared/media/bedroom.mp4, paints the object it opens with and a second one, overlapping, by hand (brush strokes through the editor, so
the masks are clean shapes rather than the random-weight test model's noise) on frames 8-16, gives the first one
matte settings, and saves docs/screenshots/view-overlay.png, view-matte.png and view-onion.png.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from roto.editor.views import ViewMode, ViewOptions
from roto.matte import MatteOps
from roto.ui.app import MainWindow
from roto.ui.theme import apply_dark_theme

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "media" / "bedroom.mp4"
OUT = ROOT / "docs" / "screenshots"
FRAME = 12


def settle(app: QApplication, window: MainWindow, frame: int) -> None:
    window.state.frame = frame
    for _ in range(400):
        app.processEvents()
        if window.state.shown_frame == frame:
            break
        QApplication.instance().thread().msleep(10)  # type: ignore[union-attr]
    for _ in range(20):
        app.processEvents()


def blob(cx: float, cy: float, rx: float, ry: float) -> list[tuple[float, float]]:
    """A closed path around an ellipse, painted with a wide brush: a filled, slightly lumpy shape."""
    return [
        (cx + rx * math.cos(t / 24 * 2 * math.pi), cy + ry * math.sin(t / 24 * 2 * math.pi))
        for t in range(25)
    ]


def grab(app: QApplication, window: MainWindow, name: str) -> None:
    for _ in range(20):
        app.processEvents()
    shot = QApplication.primaryScreen().grabWindow(0)
    shot.copy(window.frameGeometry()).save(str(OUT / name))
    print(OUT / name)


def main() -> int:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(ROOT / "local" / "screenshot-settings")
    )
    app = QApplication(sys.argv[:1])
    app.setOrganizationName("roto-screenshots")
    apply_dark_theme(app)
    window = MainWindow()
    window.resize(1400, 860)
    window.move(0, 0)
    window.show()
    if not window.open_path(CLIP):
        return 1
    settle(app, window, 0)
    editor = window.editor  # the clip opens with one object; the second is added below
    for frame in range(8, 17):
        settle(app, window, frame)
        shift = 6 * (frame - FRAME)
        editor.stroke(blob(430 + shift, 270, 70, 120), 62, erase=False)  # leaves a small hole in the middle
    editor.add_object()
    for frame in range(8, 17):
        settle(app, window, frame)
        editor.stroke(blob(560 - 4 * (frame - FRAME), 330, 90, 60), 62, erase=False)
    first = window.state.document.shot.objects[0]
    editor.set_matte(
        first.id, MatteOps(grow_px=4, feather_px=6.0, fill_holes=True, max_hole_area=5000, smooth_px=4.0)
    )
    window.state.object_id = first.id
    settle(app, window, FRAME)
    window.state.view = ViewOptions(opacity=0.45)
    grab(app, window, "view-overlay.png")
    window.state.view = ViewOptions(mode=ViewMode.MATTE)
    grab(app, window, "view-matte.png")
    window.state.view = ViewOptions(mode=ViewMode.OUTLINES, onion=True, onion_frames=3)
    grab(app, window, "view-onion.png")
    window.state.document.stack.set_clean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
