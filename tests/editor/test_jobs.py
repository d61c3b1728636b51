"""The latest-wins job queue the editor's background threads share."""

from __future__ import annotations

from roto.editor.jobs import LatestJobQueue


def test_job_queue_keeps_the_latest_job_per_key_and_runs_by_priority() -> None:
    queue = LatestJobQueue()
    ran: list[str] = []
    queue.put("encode", lambda: ran.append("encode 1"), priority=2)
    queue.put("encode", lambda: ran.append("encode 2"), priority=2)
    queue.put("predict", lambda: ran.append("predict"), priority=0)
    for _ in range(2):
        job = queue.take()
        assert job is not None
        job()
    assert ran == ["predict", "encode 2"]
    queue.close()
    assert queue.take() is None
