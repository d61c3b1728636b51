"""The thread that composes the canvas view, so a 4K frame's mattes are read, blended and traced off the GUI thread.

The GUI thread takes a `ViewRequest` from the document (digests, no pixels) and posts it; the composer reads the
masks, applies the matte settings, composes the view at the canvas's resolution and prepares the Qt image and
outline paths. A request posted while another waits replaces it (latest wins), and a result whose request is no
longer the latest is dropped where it arrives (`DocumentView`), so the canvas never goes back to an older view.
"""

from __future__ import annotations

from PySide6.QtCore import Signal

from roto.editor.views import ViewRequest
from roto.matte import CleanCache
from roto.ui.view_layer import PreparedView
from roto.ui.worker import JobThread


class ViewComposer(JobThread):
    """Composes one view at a time; only this thread touches its cache of cleaned mattes."""

    composed = Signal(object, object)  # the ViewRequest, its PreparedView

    def __init__(self) -> None:
        super().__init__()
        # The finished mattes' clean-up, kept by mask digest: stepping back to a frame costs nothing.
        self._cleaned = CleanCache()

    def compose(self, request: ViewRequest) -> None:
        self.queue.put("view", lambda: self._compose(request))

    def _compose(self, request: ViewRequest) -> None:
        self.composed.emit(request, PreparedView.of(request.compose(self._cleaned)))
