"""Errors the core raises. Each message must let a user act: name the file and what is wrong with it."""

import logging

log = logging.getLogger(__name__)


class RotoError(Exception):
    """Base of every error Roto reports to a user (the UI shows it, the CLI prints it and exits non-zero)."""


class MediaError(RotoError):
    """A video file or image sequence cannot be opened or decoded."""


class ModelError(RotoError):
    """A model bundle is missing, damaged, of the wrong kind, or cannot run."""


class PromptError(RotoError):
    """Points, boxes or mask inputs given to the model are malformed."""


class ProjectError(RotoError):
    """A project file cannot be read, written or trusted."""


class ExportError(RotoError):
    """Mattes cannot be written where or how they were asked for."""


def failure_message(exc: Exception, doing: str) -> str:
    """The text a user sees when background work fails: a RotoError's own words, anything else as a bug.

    Background threads must report every failure (the window waits for an outcome), so a bug is logged with its
    traceback under `doing` and summarised rather than allowed to kill the thread.
    """
    if isinstance(exc, RotoError):
        return str(exc)
    log.error("%s failed", doing, exc_info=exc)
    return f"Unexpected internal error: {exc!r}. Details are in the log."
