"""The View menu's rows for what the canvas shows: the views, overlay opacity, cut-out backdrop, onion skin.

Each changes the `view` field of the EditorState (roto.editor.views.ViewOptions) and nothing else; the canvas
recomposes when that field changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog

from roto.editor.views import ViewMode
from roto.ui.action_spec import ActionSpec, Rule

if TYPE_CHECKING:
    from roto.ui.app import MainWindow


def _set_view(**changes: Any) -> Callable[[MainWindow], object]:
    """A command that changes the view options (an EditorState field) and nothing else."""
    return lambda w: setattr(w.state, "view", replace(w.state.view, **changes))


def _view_is(mode: ViewMode) -> Rule:
    return lambda state: state.view.mode is mode


def _pick_background(window: MainWindow) -> None:
    """View ▸ Cut-out Background Colour…: the cut-out view over a colour of the user's choice."""
    current = window.state.view.background or (0, 0, 0)
    chosen = QColorDialog.getColor(QColor(*current), window, "Cut-out background")
    if chosen.isValid():
        window.state.view = replace(
            window.state.view, mode=ViewMode.CUTOUT, background=(chosen.red(), chosen.green(), chosen.blue())
        )


VIEW_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "view_overlay",
        "&View",
        "&Overlay",
        _set_view(mode=ViewMode.OVERLAY),
        "V",
        "Every visible object's fill and outline over the frame",
        separator=True,
        checked=_view_is(ViewMode.OVERLAY),
        group="view",
    ),
    ActionSpec(
        "view_matte",
        "&View",
        "&Matte Only",
        _set_view(mode=ViewMode.MATTE),
        "M",
        "The finished matte in grey: the current object's, or all objects' (Shift+M)",
        checked=_view_is(ViewMode.MATTE),
        group="view",
    ),
    ActionSpec(
        "view_cutout",
        "&View",
        "&Cut-out",
        _set_view(mode=ViewMode.CUTOUT),
        "X",
        "The frame through the matte, over a checkerboard or a colour",
        checked=_view_is(ViewMode.CUTOUT),
        group="view",
    ),
    ActionSpec(
        "view_outlines",
        "&View",
        "Out&lines Only",
        _set_view(mode=ViewMode.OUTLINES),
        "L",
        "Only the objects' outlines: the footage unobstructed",
        checked=_view_is(ViewMode.OUTLINES),
        group="view",
    ),
    ActionSpec(
        "view_solo",
        "&View",
        "&Solo Current Object",
        _set_view(mode=ViewMode.SOLO),
        "S",
        "Only the current object's fill and outline",
        checked=_view_is(ViewMode.SOLO),
        group="view",
    ),
    ActionSpec(
        "view_all_objects",
        "&View",
        "Matte and Cut-out of &All Objects",
        lambda w: setattr(w.state, "view", replace(w.state.view, all_objects=not w.state.view.all_objects)),
        "Shift+M",
        "Matte only and cut-out show the union of the visible objects instead of the current one",
        checked=lambda s: s.view.all_objects,
    ),
    ActionSpec(
        "cutout_checker",
        "&View",
        "Cut-out over Checkerboard",
        _set_view(mode=ViewMode.CUTOUT, background=None),
        checked=lambda s: s.view.background is None,
    ),
    ActionSpec("cutout_colour", "&View", "Cut-out Background Colour…", _pick_background),
    ActionSpec(
        "more_opacity",
        "&View",
        "More Opaque Overlay",
        lambda w: setattr(w.state, "view", w.state.view.step_opacity(0.15)),
        "Ctrl+]",
    ),
    ActionSpec(
        "less_opacity",
        "&View",
        "More Transparent Overlay",
        lambda w: setattr(w.state, "view", w.state.view.step_opacity(-0.15)),
        "Ctrl+[",
    ),
    ActionSpec(
        "onion",
        "&View",
        "O&nion Skin",
        lambda w: setattr(w.state, "view", replace(w.state.view, onion=not w.state.view.onion)),
        "N",
        "Outlines of the masks of the previous and next frames, faded (dashed: later frames)",
        separator=True,
        checked=lambda s: s.view.onion,
    ),
    ActionSpec(
        "more_onion",
        "&View",
        "More Onion Frames",
        lambda w: setattr(w.state, "view", w.state.view.step_onion(1)),
        "Alt+]",
    ),
    ActionSpec(
        "fewer_onion",
        "&View",
        "Fewer Onion Frames",
        lambda w: setattr(w.state, "view", w.state.view.step_onion(-1)),
        "Alt+[",
    ),
)
