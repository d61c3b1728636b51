"""What the editor is showing and doing, as a model with change events (napari's ViewerModel, without Qt).

Widgets read the fields and subscribe to the ones they show; they never keep a copy of their own. Setting a field
to the value it has emits nothing, so a widget that writes back what it was told cannot start a loop.

Frames: `frame` and `shown_frame` are timeline positions, 0 at the shot's first frame, which are also the
media's frame indices. The document's frames (prompts and masks) are shot frames, `shot.first_frame + frame`;
`target` makes that conversion, and nothing else in the editor should.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar, overload

from roto.editor.documents import Document
from roto.editor.events import Emitter
from roto.editor.prompts import Candidates
from roto.editor.propagation import PropagationRun
from roto.editor.proposals import ProposalJob, ProposalPicker
from roto.editor.requests import EngineInfo, PredictTarget
from roto.editor.tools import Tool
from roto.editor.views import ViewOptions
from roto.project import RotoObject

T = TypeVar("T")
FieldName = Literal[
    "document",
    "object_id",
    "frame",
    "shown_frame",
    "tool",
    "selection",
    "in_out",
    "run",
    "engine",
    "candidates",
    "view",
    "proposing",
    "proposals",
]


class _Field(Generic[T]):
    """A field of EditorState: reading it is plain, setting it emits the field's event when the value changes."""

    def __init__(self, default: T) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, state: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, state: EditorState, owner: type) -> T: ...
    def __get__(self, state: EditorState | None, owner: type) -> T | _Field[T]:
        if state is None:
            return self
        value: T = state._values.get(self.name, self.default)
        return value

    def __set__(self, state: EditorState, value: T) -> None:
        old = state._values.get(self.name, self.default)
        if _same(old, value):
            return
        state._values[self.name] = value
        state._emitters[self.name].emit(value)


def _same(old: object, new: object) -> bool:
    """Identity, or equality for plain values (never for records holding arrays, whose == is elementwise)."""
    if old is new:
        return True
    plain = (int, float, str, tuple, frozenset)
    return isinstance(old, plain) and type(old) is type(new) and old == new


class EditorState:
    """The open document, what is current in it, and what the editor is busy with."""

    document: _Field[Document | None] = _Field(None)
    object_id: _Field[int | None] = _Field(None)  # the object clicks and strokes apply to
    frame: _Field[int] = _Field(0)  # the playhead
    shown_frame: _Field[int | None] = _Field(None)  # the frame on the canvas (None until one is decoded)
    tool: _Field[Tool] = _Field(Tool.POINT)
    selection: _Field[tuple[int, ...]] = _Field(())  # objects selected in the panel (propagated together)
    in_out: _Field[tuple[int, int] | None] = _Field(None)
    run: _Field[PropagationRun | None] = _Field(None)  # the propagation in progress: it owns the document
    engine: _Field[EngineInfo | None] = _Field(None)  # the loaded model (None: none loaded)
    candidates: _Field[Candidates | None] = _Field(None)  # multimask answers to the latest single click
    view: _Field[ViewOptions] = _Field(ViewOptions())  # how the canvas shows the masks
    proposing: _Field[ProposalJob | None] = _Field(None)  # segment everything running on a frame
    proposals: _Field[ProposalPicker | None] = _Field(None)  # its proposals on the canvas, to pick from

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._emitters: dict[str, Emitter[Any]] = {
            name: Emitter() for name, value in vars(EditorState).items() if isinstance(value, _Field)
        }
        self.status: Emitter[str] = Emitter()  # a transient message for the status bar
        self.error: Emitter[tuple[str, str]] = Emitter()  # (title, message): a failure the user must see
        self.pending: Emitter[PredictTarget] = Emitter()  # prompt edits waiting for their mask changed there

    def connect(self, name: FieldName, listener: Callable[[Any], None]) -> Callable[[], None]:
        """Call `listener(new value)` whenever the field changes; returns the disconnecting function."""
        return self._emitters[name].connect(listener)

    # -- derived ---------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.run is not None

    @property
    def frame_count(self) -> int:
        return self.document.shot.frame_count if self.document is not None else 0

    @property
    def frame_range(self) -> tuple[int, int]:
        """The in/out range, or the whole shot."""
        return self.in_out if self.in_out is not None else (0, max(0, self.frame_count - 1))

    @property
    def current_object(self) -> RotoObject | None:
        if self.document is None or self.object_id is None:
            return None
        return next((o for o in self.document.shot.objects if o.id == self.object_id), None)

    @property
    def target(self) -> PredictTarget | None:
        """The current object on the playhead's shot frame: where a click, a stroke or a clear applies."""
        if self.document is None or self.object_id is None:
            return None
        shot = self.document.shot
        return PredictTarget(shot.id, self.object_id, shot.first_frame + self.frame)

    def selected_objects(self) -> list[RotoObject]:
        """The objects selected in the panel, or the current object when none is."""
        if self.document is None:
            return []
        ids = set(self.selection) or ({self.object_id} if self.object_id is not None else set())
        return [obj for obj in self.document.shot.objects if obj.id in ids]
