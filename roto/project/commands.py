"""Every document edit as an undoable command, and the one undo/redo stack they go through.

Commands validate before they touch anything, so a refused edit leaves the document as it was. They record
mask digests, not pixels, which is why undoing a 1000-frame propagation is instant and exact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Flag, auto
from pathlib import Path
from typing import Literal

import numpy as np

from roto.errors import ProjectError
from roto.matte import MatteOps
from roto.project.maskcodec import EncodedMask
from roto.project.model import (
    Box,
    FramePrompts,
    MaskEntry,
    MaskOrigin,
    Point,
    Project,
    RotoObject,
    Shot,
)

PromptKind = Literal["points", "boxes"]


class ChangeKind(Flag):
    """What a change touched, so each view redraws only that (combine with ``|``, test with ``in``)."""

    OBJECTS = auto()
    """The object list or an object's properties (name, colour, visibility, lock, matte settings)."""
    PROMPTS = auto()
    """Points or boxes on the frames named."""
    MASKS = auto()
    """Masks on the frames named."""
    MEDIA = auto()
    """The shot's media (relinked)."""
    RANGE = auto()
    """The shot's in/out range."""


ALL_CHANGES = ChangeKind.OBJECTS | ChangeKind.PROMPTS | ChangeKind.MASKS | ChangeKind.MEDIA | ChangeKind.RANGE


@dataclass(frozen=True)
class Change:
    """What a UI must redraw: a shot's object (None: its object list) on these frames (empty: no pixels).

    ``kinds`` says what changed there: prompt marks only (``PROMPTS``), mask coverage only (``MASKS``), both,
    or the objects themselves (``OBJECTS``). It defaults to everything, so a hand-made Change redraws all.
    """

    shot_id: str
    object_id: int | None = None
    frames: tuple[int, ...] = ()
    kinds: ChangeKind = ALL_CHANGES


class Command(ABC):
    """One undoable edit. ``do`` is also redo: it must give the same result every time it runs."""

    label: str = ""

    @abstractmethod
    def do(self, project: Project) -> list[Change]: ...

    @abstractmethod
    def undo(self, project: Project) -> list[Change]: ...

    def merge(self, following: Command) -> bool:
        """Absorb the command done right after this one into this step; False if it is unrelated."""
        return False


def _editable(project: Project, shot_id: str, object_id: int, frame: int) -> tuple[Shot, RotoObject]:
    shot = project.shot(shot_id)
    obj = shot.object(object_id)
    shot.check_frame(frame)
    if obj.locked:
        raise ProjectError(f"object {obj.name!r} is locked: unlock it to edit it")
    return shot, obj


def _prompt_list(obj: RotoObject, frame: int, kind: PromptKind) -> list:
    prompts = obj.prompts.setdefault(frame, FramePrompts())
    return prompts.points if kind == "points" else prompts.boxes


def _drop_if_empty(obj: RotoObject, frame: int) -> None:
    """Frames without prompts have no entry, so undoing back to nothing compares equal to nothing."""
    prompts = obj.prompts.get(frame)
    if prompts is not None and prompts.is_empty():
        del obj.prompts[frame]


def _kind_of(prompt: Point | Box) -> PromptKind:
    return "points" if isinstance(prompt, Point) else "boxes"


def _check_prompt(prompt: Point | Box) -> None:
    values = (
        (prompt.x, prompt.y) if isinstance(prompt, Point) else (prompt.x0, prompt.y0, prompt.x1, prompt.y1)
    )
    if not all(np.isfinite(values)):
        raise ProjectError(f"prompt coordinates must be finite numbers, got {prompt}")
    if isinstance(prompt, Point) and prompt.label not in (0, 1):
        raise ProjectError(f"a point's label is 1 (object) or 0 (background), got {prompt.label}")


def _set_mask(obj: RotoObject, frame: int, entry: MaskEntry | None) -> None:
    if entry is None:
        obj.masks.pop(frame, None)
    else:
        obj.masks[frame] = entry


@dataclass
class AddPrompt(Command):
    """Add a point or a box to an object's prompts on a frame."""

    shot_id: str
    object_id: int
    frame: int
    prompt: Point | Box

    def __post_init__(self) -> None:
        self.label = "Add point" if isinstance(self.prompt, Point) else "Add box"

    def do(self, project: Project) -> list[Change]:
        _check_prompt(self.prompt)
        _, obj = _editable(project, self.shot_id, self.object_id, self.frame)
        _prompt_list(obj, self.frame, _kind_of(self.prompt)).append(self.prompt)
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.PROMPTS)]

    def undo(self, project: Project) -> list[Change]:
        obj = project.shot(self.shot_id).object(self.object_id)
        _prompt_list(obj, self.frame, _kind_of(self.prompt)).pop()
        _drop_if_empty(obj, self.frame)
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.PROMPTS)]


@dataclass
class MovePrompt(Command):
    """Replace a point or box by its moved (or resized) version; a drag's moves merge into one step."""

    shot_id: str
    object_id: int
    frame: int
    index: int
    prompt: Point | Box
    _previous: Point | Box | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.label = "Move point" if isinstance(self.prompt, Point) else "Move box"

    def _list(self, project: Project) -> list:
        _, obj = _editable(project, self.shot_id, self.object_id, self.frame)
        prompts = obj.prompts.get(self.frame)
        items = (prompts.points if isinstance(self.prompt, Point) else prompts.boxes) if prompts else []
        if not 0 <= self.index < len(items):
            raise ProjectError(f"frame {self.frame} has no {_kind_of(self.prompt)[:-1]} number {self.index}")
        return items

    def do(self, project: Project) -> list[Change]:
        _check_prompt(self.prompt)
        items = self._list(project)
        if self._previous is None:
            self._previous = items[self.index]
        items[self.index] = self.prompt
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.PROMPTS)]

    def undo(self, project: Project) -> list[Change]:
        assert self._previous is not None, "undo before do"
        self._list(project)[self.index] = self._previous
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.PROMPTS)]

    def merge(self, following: Command) -> bool:
        same = (
            isinstance(following, MovePrompt)
            and type(following.prompt) is type(self.prompt)
            and (following.shot_id, following.object_id, following.frame, following.index)
            == (self.shot_id, self.object_id, self.frame, self.index)
        )
        if same and isinstance(following, MovePrompt):
            self.prompt = following.prompt
        return same


@dataclass
class DeletePrompt(Command):
    """Delete one point or box of an object's prompts on a frame."""

    shot_id: str
    object_id: int
    frame: int
    kind: PromptKind
    index: int
    _removed: Point | Box | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.label = "Delete point" if self.kind == "points" else "Delete box"

    def do(self, project: Project) -> list[Change]:
        _, obj = _editable(project, self.shot_id, self.object_id, self.frame)
        prompts = obj.prompts.get(self.frame)
        items = (prompts.points if self.kind == "points" else prompts.boxes) if prompts else []
        if not 0 <= self.index < len(items):
            raise ProjectError(f"frame {self.frame} has no {self.kind[:-1]} number {self.index}")
        self._removed = items.pop(self.index)
        _drop_if_empty(obj, self.frame)
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.PROMPTS)]

    def undo(self, project: Project) -> list[Change]:
        assert self._removed is not None, "undo before do"
        obj = project.shot(self.shot_id).object(self.object_id)
        _prompt_list(obj, self.frame, self.kind).insert(self.index, self._removed)
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.PROMPTS)]


@dataclass
class SetMask(Command):
    """Replace an object's mask on a frame: a prompt's result, brush stroke or matte operation (None clears).

    ``mask`` is a bool HxW array, compressed into the project's MaskStore on the first ``do`` and then dropped,
    or an ``EncodedMask`` already compressed on a worker thread (only filed). Either must have the shot's size.
    """

    shot_id: str
    object_id: int
    frame: int
    mask: np.ndarray | EncodedMask | None
    origin: MaskOrigin = MaskOrigin.EDITED
    label: str = "Edit mask"
    _new: MaskEntry | None = field(default=None, init=False, repr=False)
    _previous: MaskEntry | None = field(default=None, init=False, repr=False)
    _done_once: bool = field(default=False, init=False, repr=False)

    def do(self, project: Project) -> list[Change]:
        shot, obj = _editable(project, self.shot_id, self.object_id, self.frame)
        if not self._done_once:
            if self.mask is not None:
                self._new = MaskEntry(_store(project, shot, self.mask), self.origin)
            self.mask = None
            self._done_once = True
        self._previous = obj.masks.get(self.frame)
        _set_mask(obj, self.frame, self._new)
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.MASKS)]

    def undo(self, project: Project) -> list[Change]:
        _set_mask(project.shot(self.shot_id).object(self.object_id), self.frame, self._previous)
        return [Change(self.shot_id, self.object_id, (self.frame,), ChangeKind.MASKS)]


def _check_shape(shot: Shot, mask: np.ndarray | EncodedMask) -> None:
    if isinstance(mask, EncodedMask):
        if mask.shape != shot.frame_shape:
            raise ProjectError(
                f"a mask for shot {shot.id!r} must be {shot.height}x{shot.width}, "
                f"got an encoded mask of {mask.shape[0]}x{mask.shape[1]}"
            )
    elif mask.shape != shot.frame_shape or mask.dtype != np.bool_:
        raise ProjectError(
            f"a mask for shot {shot.id!r} must be a {shot.height}x{shot.width} bool array, "
            f"got shape {mask.shape} and dtype {mask.dtype}"
        )


def _store(project: Project, shot: Shot, mask: np.ndarray | EncodedMask) -> str:
    """File a mask in the project's store (encoding it here unless a worker already did); its digest."""
    _check_shape(shot, mask)
    if isinstance(mask, EncodedMask):
        return project.masks.put_encoded(mask)
    return project.masks.put(mask)


@dataclass
class Propagate(Command):
    """Propagated masks as one step: ``results`` yields (object_id, frame, mask) and is consumed once.

    Each mask is a bool HxW array (compressed as it arrives, so a run over a long shot never holds more than one
    frame of pixels) or an ``EncodedMask`` compressed on a worker thread. The editor pushes one per arriving
    frame and merges them into one undo step; ``roto track`` passes a whole run's generator.
    """

    shot_id: str
    results: Iterable[tuple[int, int, np.ndarray | EncodedMask]]
    label: str = "Propagate"
    _new: dict[tuple[int, int], MaskEntry] | None = field(default=None, init=False, repr=False)
    _previous: dict[tuple[int, int], MaskEntry | None] = field(default_factory=dict, init=False, repr=False)

    def do(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        if self._new is None:
            new: dict[tuple[int, int], MaskEntry] = {}
            for object_id, frame, mask in self.results:
                _editable(project, self.shot_id, object_id, frame)
                new[(object_id, frame)] = MaskEntry(_store(project, shot, mask), MaskOrigin.PROPAGATED)
            self._new, self.results = new, ()
        for object_id, frame in self._new:
            _editable(project, self.shot_id, object_id, frame)
        self._previous = {key: shot.object(key[0]).masks.get(key[1]) for key in self._new}
        for (object_id, frame), entry in self._new.items():
            shot.object(object_id).masks[frame] = entry
        return self._changes()

    def undo(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        for (object_id, frame), entry in self._previous.items():
            _set_mask(shot.object(object_id), frame, entry)
        return self._changes()

    def _changes(self) -> list[Change]:
        frames: dict[int, list[int]] = {}
        for object_id, frame in self._new or {}:
            frames.setdefault(object_id, []).append(frame)
        return [Change(self.shot_id, oid, tuple(sorted(fs)), ChangeKind.MASKS) for oid, fs in frames.items()]


_CLEARED = ChangeKind.PROMPTS | ChangeKind.MASKS


@dataclass
class ClearFrame(Command):
    """Remove prompts and mask on a frame, of one object or (object_id None) of every unlocked object."""

    shot_id: str
    frame: int
    object_id: int | None = None
    label: str = "Clear frame"
    _previous: dict[int, tuple[FramePrompts | None, MaskEntry | None]] = field(
        default_factory=dict, init=False, repr=False
    )

    def do(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        shot.check_frame(self.frame)
        if self.object_id is None:
            targets = [obj for obj in shot.objects if not obj.locked]
        else:
            targets = [_editable(project, self.shot_id, self.object_id, self.frame)[1]]
        self._previous = {
            obj.id: (obj.prompts.pop(self.frame, None), obj.masks.pop(self.frame, None)) for obj in targets
        }
        return [Change(self.shot_id, oid, (self.frame,), _CLEARED) for oid in self._previous]

    def undo(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        for object_id, (prompts, mask) in self._previous.items():
            obj = shot.object(object_id)
            if prompts is not None:
                obj.prompts[self.frame] = prompts
            _set_mask(obj, self.frame, mask)
        return [Change(self.shot_id, oid, (self.frame,), _CLEARED) for oid in self._previous]


@dataclass
class AddObject(Command):
    """Add an object to a shot; its id is chosen on the first ``do`` and kept for redo.

    The name must be non-empty and unique in the shot (``Shot.unused_object_name()`` gives a free default).
    """

    shot_id: str
    name: str
    color: tuple[int, int, int]
    label: str = "Add object"
    object_id: int | None = field(default=None, init=False)

    def do(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        shot.check_object_name(self.name)
        if self.object_id is None:
            self.object_id = shot.next_object_id()
        shot.objects.append(RotoObject(self.object_id, self.name, self.color))
        return [Change(self.shot_id, kinds=ChangeKind.OBJECTS)]

    def undo(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        shot.objects = [obj for obj in shot.objects if obj.id != self.object_id]
        return [Change(self.shot_id, kinds=ChangeKind.OBJECTS)]


@dataclass
class UpdateObject(Command):
    """Rename, recolour, show/hide, lock/unlock an object or change its matte settings (None: unchanged).

    A new name must be non-empty and unique in the shot, as for ``AddObject``. Matte changes that carry the same
    ``drag`` id (one slider drag) merge into one undo step.
    """

    shot_id: str
    object_id: int
    name: str | None = None
    color: tuple[int, int, int] | None = None
    visible: bool | None = None
    locked: bool | None = None
    matte: MatteOps | None = None
    drag: int | None = None
    _previous: dict[str, object] = field(default_factory=dict, init=False, repr=False)

    _FIELDS = ("name", "color", "visible", "locked", "matte")

    def __post_init__(self) -> None:
        changed = [name for name in self._FIELDS if getattr(self, name) is not None]
        if not changed:
            raise ProjectError("UpdateObject needs at least one of name, color, visible, locked, matte")
        words = {
            "name": "Rename object",
            "color": "Recolour object",
            "visible": "Show/hide object",
            "locked": "Lock/unlock object",
            "matte": "Change matte",
        }
        self.label = words[changed[0]] if len(changed) == 1 else "Change object"

    def merge(self, following: Command) -> bool:
        same = (
            isinstance(following, UpdateObject)
            and self.drag is not None
            and following.drag == self.drag
            and (following.shot_id, following.object_id) == (self.shot_id, self.object_id)
            and following.matte is not None
            and self.matte is not None
            and [n for n in self._FIELDS if getattr(following, n) is not None] == ["matte"]
        )
        if same and isinstance(following, UpdateObject):
            self.matte = following.matte
        return same

    def do(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        obj = shot.object(self.object_id)
        if self.name is not None:
            shot.check_object_name(self.name, self.object_id)
        updates = {name: getattr(self, name) for name in self._FIELDS if getattr(self, name) is not None}
        self._previous = {name: getattr(obj, name) for name in updates}
        for name, value in updates.items():
            setattr(obj, name, value)
        return [Change(self.shot_id, self.object_id, kinds=ChangeKind.OBJECTS)]

    def undo(self, project: Project) -> list[Change]:
        obj = project.shot(self.shot_id).object(self.object_id)
        for name, value in self._previous.items():
            setattr(obj, name, value)
        return [Change(self.shot_id, self.object_id, kinds=ChangeKind.OBJECTS)]


@dataclass
class DeleteObject(Command):
    """Delete an object with all its prompts and masks (undo puts it back where it was)."""

    shot_id: str
    object_id: int
    label: str = "Delete object"
    _removed: tuple[int, RotoObject] | None = field(default=None, init=False, repr=False)

    def do(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        obj = shot.object(self.object_id)
        if obj.locked:
            raise ProjectError(f"object {obj.name!r} is locked: unlock it to delete it")
        index = shot.objects.index(obj)
        self._removed = (index, shot.objects.pop(index))
        return [Change(self.shot_id, kinds=ChangeKind.OBJECTS)]

    def undo(self, project: Project) -> list[Change]:
        assert self._removed is not None, "undo before do"
        index, obj = self._removed
        project.shot(self.shot_id).objects.insert(index, obj)
        return [Change(self.shot_id, kinds=ChangeKind.OBJECTS)]


@dataclass
class RelinkMedia(Command):
    """Point a shot at the new location of its media (see ``Project.missing_media``)."""

    shot_id: str
    path: Path
    label: str = "Relink media"
    _previous: Path | None = field(default=None, init=False, repr=False)

    def do(self, project: Project) -> list[Change]:
        self._previous = project.relink(self.shot_id, self.path)
        return [Change(self.shot_id, kinds=ChangeKind.MEDIA)]

    def undo(self, project: Project) -> list[Change]:
        assert self._previous is not None, "undo before do"
        project.shot(self.shot_id).media = self._previous
        return [Change(self.shot_id, kinds=ChangeKind.MEDIA)]


@dataclass
class SetInOut(Command):
    """Set (or clear, with None) the shot's in/out range, in shot frames: where runs and exports stay."""

    shot_id: str
    in_out: tuple[int, int] | None
    label: str = "Set in/out"
    _previous: tuple[int, int] | None = field(default=None, init=False, repr=False)

    def do(self, project: Project) -> list[Change]:
        shot = project.shot(self.shot_id)
        if self.in_out is not None:
            first, last = self.in_out
            shot.check_frame(first)
            shot.check_frame(last)
            if first > last:
                raise ProjectError(f"in point {first} is after out point {last}")
        self._previous, shot.in_out = shot.in_out, self.in_out
        return [Change(self.shot_id, kinds=ChangeKind.RANGE)]

    def undo(self, project: Project) -> list[Change]:
        project.shot(self.shot_id).in_out = self._previous
        return [Change(self.shot_id, kinds=ChangeKind.RANGE)]


@dataclass
class Batch(Command):
    """Several commands as one step (a click that adds a point and sets the mask it produced)."""

    commands: list[Command]
    label: str = "Edit"

    def do(self, project: Project) -> list[Change]:
        changes: list[Change] = []
        for done, command in enumerate(self.commands):
            try:
                changes += command.do(project)
            except Exception:
                for earlier in reversed(self.commands[:done]):
                    earlier.undo(project)
                raise
        return changes

    def undo(self, project: Project) -> list[Change]:
        changes: list[Change] = []
        for command in reversed(self.commands):
            changes += command.undo(project)
        return changes


@dataclass(frozen=True)
class StackEvent:
    """Sent to listeners after every change: what happened, what to redraw, whether the document is saved."""

    action: Literal["do", "undo", "redo", "clean"]
    changes: tuple[Change, ...]
    clean: bool


Listener = Callable[[StackEvent], None]


class UndoStack:
    """The single history of a project. Pushing runs the command; a refused command is not recorded."""

    def __init__(self, project: Project, *, clean: bool = True) -> None:
        """``clean=False`` for a document that is not what is on disk (one restored from a recovery file)."""
        self.project = project
        self._commands: list[Command] = []
        self._index = 0
        self._clean_index: int | None = 0 if clean else None
        self._listeners: list[Listener] = []
        self.revision = 0
        """Bumped on every change, so an autosaver can tell whether anything happened since it last wrote."""

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def index(self) -> int:
        return self._index

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._commands)

    @property
    def undo_label(self) -> str | None:
        return self._commands[self._index - 1].label if self.can_undo else None

    @property
    def redo_label(self) -> str | None:
        return self._commands[self._index].label if self.can_redo else None

    @property
    def is_clean(self) -> bool:
        """True when the document is as it was last saved (or opened)."""
        return self._index == self._clean_index

    def set_clean(self) -> None:
        """Mark the current state as saved."""
        self._clean_index = self._index
        self._notify("clean", [])

    def push(self, command: Command) -> None:
        changes = command.do(self.project)
        del self._commands[self._index :]
        if self._clean_index is not None and self._clean_index > self._index:
            self._clean_index = None
        top = self._commands[-1] if self._commands else None
        if top is None or self._clean_index == self._index or not top.merge(command):
            self._commands.append(command)
            self._index += 1
        self._notify("do", changes)

    def undo(self) -> None:
        if not self.can_undo:
            return
        changes = self._commands[self._index - 1].undo(self.project)
        self._index -= 1
        self._notify("undo", changes)

    def redo(self) -> None:
        if not self.can_redo:
            return
        changes = self._commands[self._index].do(self.project)
        self._index += 1
        self._notify("redo", changes)

    def _notify(self, action: Literal["do", "undo", "redo", "clean"], changes: list[Change]) -> None:
        self.revision += 1
        event = StackEvent(action, tuple(changes), self.is_clean)
        for listener in list(self._listeners):
            listener(event)
