"""GUI-thread time per frame arriving from a propagation run, early and late in a long run. Prints JSON.

The window (offscreen Qt) holds a generated clip of `--frames` frames at 1280x720 with two objects; the run's
frames are fed to the editor as the worker hands them over (masks already compressed on the worker's side), and
for each the time until the GUI thread is idle again is measured: the undo step, the timeline marks and coverage,
the title and actions, and Qt's repaint. The claim checked: that time does not grow with the frames already done.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editor_run.py [--frames 1100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit

from roto.editor.propagation import LABELS, Direction, PropagationRun
from roto.project import EncodedMask
from roto.ui.app import MainWindow

SIZE = (1280, 720)


def write_clip(path: Path, frames: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        image = np.full((SIZE[1], SIZE[0], 3), 60, np.uint8)
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1100)
    parser.add_argument("--window", type=int, default=20, help="frames averaged around each measured point")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "long.mp4", args.frames)
        window = MainWindow()
        window.resize(1400, 860)
        window.show()
        assert window.open_path(clip)
        window.editor.add_object()
        app.processEvents()
        state = window.state
        mask = np.zeros((SIZE[1], SIZE[0]), bool)
        mask[200:500, 300:700] = True
        encoded = {obj.id: EncodedMask.from_mask(mask) for obj in state.document.shot.objects}  # type: ignore[union-attr]
        state.run = PropagationRun(1, LABELS[Direction.FORWARD], args.frames, follow=None)
        times: list[float] = []
        for index in range(args.frames):
            start = time.perf_counter()
            window.editor.on_propagated(1, index, encoded)
            app.processEvents()  # the repaints the frame scheduled
            times.append(time.perf_counter() - start)
        window.editor.on_propagation_done(1, False)
        app.processEvents()

        def around(frame: int) -> float:
            half = args.window // 2
            part = times[max(0, frame - half) : frame + half]
            return round(statistics.median(part) * 1000, 3)

        emit(
            {
                "frames": args.frames,
                "frame_size": list(SIZE),
                "objects": 2,
                "gui_ms_per_frame_at_10": around(10),
                "gui_ms_per_frame_at_1000": around(min(1000, args.frames - args.window)),
                "gui_ms_per_frame_median": round(statistics.median(times) * 1000, 3),
                "gui_ms_per_frame_max": round(max(times) * 1000, 3),
            }
        )
        window.state.document.stack.set_clean()  # type: ignore[union-attr]
        window.close()


if __name__ == "__main__":
    main()
