"""Background work the editor's threads share: a queue where the latest job under a key wins.

Each background thread owns a `LatestJobQueue`: a job posted under a key replaces the one still waiting under
that key, so scrubbing decodes only the frame the user stopped on and the latest click wins over stale ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

Job = Callable[[], None]


class LatestJobQueue:
    """Jobs by key and priority: a newer job replaces a waiting one with the same key (latest wins)."""

    def __init__(self) -> None:
        self._jobs: dict[Hashable, tuple[int, int, Job]] = {}
        self._sequence = 0
        self._closed = False
        self._condition = threading.Condition()

    def put(self, key: Hashable, job: Job, priority: int = 0) -> None:
        """Lower priority numbers run first; equal priorities run in the order they were first posted."""
        with self._condition:
            previous = self._jobs.get(key)
            self._sequence += 1
            order = previous[1] if previous is not None else self._sequence
            self._jobs[key] = (priority, order, job)
            self._condition.notify()

    def empty(self) -> bool:
        with self._condition:
            return not self._jobs

    def discard(self, key: Hashable) -> None:
        with self._condition:
            self._jobs.pop(key, None)

    def take(self) -> Job | None:
        """Block until a job is waiting (returning it) or the queue is closed (returning None)."""
        with self._condition:
            while not self._jobs and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            key = min(self._jobs, key=lambda k: self._jobs[k][:2])
            return self._jobs.pop(key)[2]

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._jobs.clear()
            self._condition.notify_all()


class TaskState:
    """What a long task shares with whoever started it: progress out, cancellation in (Orange's TaskState)."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.on_progress: Callable[[int, int], None] = lambda _done, _total: None
        self.on_status: Callable[[str], None] = lambda _text: None

    def cancel(self) -> None:
        self.cancelled.set()

    def is_cancelled(self) -> bool:
        return self.cancelled.is_set()

    def report(self, done: int, total: int) -> None:
        self.on_progress(done, total)

    def say(self, text: str) -> None:
        """What the task is doing now (shown above its progress bar)."""
        self.on_status(text)
