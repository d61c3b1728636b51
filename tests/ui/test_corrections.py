"""Corrections that stick, in the window: a brush stroke is its frame's prompt for the next propagation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roto.project import MaskOrigin
from roto.ui.app import MainWindow
from tests.conftest import CLIP_FRAMES
from tests.ui.ui_helpers import click_image, current_mask, drag_image, open_and_show

WAIT_MS = 30_000


def _mask(win: MainWindow, frame: int) -> np.ndarray:
    doc = win.state.document
    assert doc is not None and win.state.object_id is not None
    mask = doc.project.get_mask(doc.shot.id, win.state.object_id, frame)
    assert mask is not None
    return np.array(mask)


def _propagate_from_start(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    win.timeline.set_frame(0)
    win.menu_actions["propagate_forward"].trigger()
    qtbot.waitUntil(lambda: win.state.run is None, timeout=WAIT_MS)


def test_a_painted_frame_stays_and_the_frames_after_it_follow(
    qtbot, window: MainWindow, small_clip: Path
) -> None:  # type: ignore[no-untyped-def]
    open_and_show(qtbot, window, small_clip)
    click_image(qtbot, window, 50, 50)
    qtbot.waitUntil(lambda: current_mask(window) is not None, timeout=WAIT_MS)
    _propagate_from_start(qtbot, window)
    unpainted = [_mask(window, f) for f in range(CLIP_FRAMES)]

    window.timeline.set_frame(4)
    qtbot.waitUntil(lambda: window.state.shown_frame == 4, timeout=WAIT_MS)
    window.menu_actions["brush_tool"].trigger()
    drag_image(qtbot, window, (100, 20), (140, 70))  # paint over the tracked mask of frame 4
    painted = _mask(window, 4)
    assert not np.array_equal(painted, unpainted[4])

    _propagate_from_start(qtbot, window)  # across the painted frame
    masks = window.state.document.shot.object(window.state.object_id).masks
    assert masks[4].origin == MaskOrigin.EDITED and np.array_equal(_mask(window, 4), painted)
    assert all(masks[f].origin == MaskOrigin.PROPAGATED for f in range(5, CLIP_FRAMES))
    assert all(not np.array_equal(_mask(window, f), unpainted[f]) for f in range(5, CLIP_FRAMES))
