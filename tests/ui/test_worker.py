"""The editor's background threads (model, decoding, composing, refining) run below the window's thread."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from pytestqt.qtbot import QtBot

from roto.ui.worker import BACKGROUND_NICE, JobThread


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_jobs_run_at_a_lower_cpu_priority_than_the_window(qtbot: QtBot) -> None:
    """On two cores the window's thread waited for a core behind the model and the decoder while a 4K run was
    tracked: every job thread lowers its own priority, and only its own."""
    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []
    worker = JobThread()
    worker.start()
    try:
        done = threading.Event()

        def record() -> None:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            done.set()

        worker.queue.put("probe", record)
        qtbot.waitUntil(done.is_set, timeout=5_000)
    finally:
        worker.stop()
    assert seen == [min(19, ours + BACKGROUND_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours  # the window's thread unchanged
