"""Change notification without Qt: the editor model emits, widgets (or tests) subscribe.

Listeners run synchronously on the thread that made the change, which for the editor is always the GUI thread:
the worker threads never touch the model, they hand results back to be applied there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Emitter(Generic[T]):
    """One kind of event; `connect` returns the function that disconnects the listener again."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[T], None]] = []

    def connect(self, listener: Callable[[T], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._disconnect(listener)

    def emit(self, value: T) -> None:
        for listener in list(self._listeners):
            listener(value)

    def _disconnect(self, listener: Callable[[T], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
