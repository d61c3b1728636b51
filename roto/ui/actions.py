"""Every menu command as data: id, menu, text, shortcut, tip, what it does and when it is enabled.

One table instead of hand-written builders and enabling code: a new command is one row, and its enable rule is a
function of the editor's state, re-evaluated whenever the state or the document changes (napari's app-model
actions, without the library).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDialog, QMainWindow, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout

from roto.editor.propagation import Direction
from roto.editor.state import EditorState
from roto.editor.tools import Tool
from roto.ui.action_spec import ActionSpec, Keys
from roto.ui.brush_settings import set_screen_units, set_soft
from roto.ui.view_actions import VIEW_ACTIONS

if TYPE_CHECKING:
    from roto.ui.app import MainWindow


def _editable(state: EditorState) -> bool:
    """A document is open and no run owns it."""
    return state.document is not None and not state.busy


def _can_undo(state: EditorState) -> bool:
    return _editable(state) and state.document is not None and state.document.stack.can_undo


def _can_redo(state: EditorState) -> bool:
    return _editable(state) and state.document is not None and state.document.stack.can_redo


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&File", "&Open…", lambda w: w.open_dialog(), Keys.Open),
    ActionSpec(
        "open_project",
        "&File",
        "Open &Project Folder…",
        lambda w: w.open_project_dialog(),
        "Ctrl+Shift+O",
        "Open a NAME.roto project folder",
    ),
    ActionSpec("save", "&File", "&Save Project", lambda w: w.save(), Keys.Save, enabled=_editable),
    ActionSpec(
        "save_as", "&File", "Save Project &As…", lambda w: w.save_as(), "Ctrl+Shift+S", enabled=_editable
    ),
    ActionSpec(
        "export", "&File", "&Export Mattes…", lambda w: w.export_dialog(), "Ctrl+E", enabled=_editable
    ),
    ActionSpec("quit", "&File", "&Quit", lambda w: w.close(), Keys.Quit, separator=True),
    ActionSpec("undo", "&Edit", "&Undo", lambda w: w.editor.undo(), Keys.Undo, enabled=_can_undo),
    ActionSpec("redo", "&Edit", "&Redo", lambda w: w.editor.redo(), "Ctrl+Shift+Z", enabled=_can_redo),
    ActionSpec(
        "clear_frame",
        "&Edit",
        "&Clear Object on Frame",
        lambda w: w.editor.clear_frame(),
        "Ctrl+Backspace",
        enabled=_editable,
    ),
    ActionSpec(
        "next_candidate",
        "&Edit",
        "Next Mask &Candidate",
        lambda w: w.editor.next_candidate(),
        "C",
        "After a single click or a box alone: show the model's next candidate mask (part, whole, ...)",
        enabled=lambda s: not s.busy and s.candidates is not None,
    ),
    ActionSpec("preferences", "&Edit", "&Preferences…", lambda w: w.preferences_dialog(), "Ctrl+,"),
    ActionSpec("fit", "&View", "&Fit to Window", lambda w: w.canvas.fit(), "F"),
    ActionSpec("actual_size", "&View", "&Actual Size (100%)", lambda w: w.canvas.actual_size(), "1"),
    ActionSpec("zoom_in", "&View", "Zoom &In", lambda w: w.canvas.zoom_by(1.25), Keys.ZoomIn),
    ActionSpec("zoom_out", "&View", "Zoom &Out", lambda w: w.canvas.zoom_by(0.8), Keys.ZoomOut),
    *VIEW_ACTIONS,
    ActionSpec(
        "point_tool",
        "&Tools",
        "&Point Tool",
        lambda w: w.set_tool(Tool.POINT),
        "P",
        "Points: left click object, right click background, drag a point to move it",
        tool=Tool.POINT,
    ),
    ActionSpec(
        "box_tool",
        "&Tools",
        "&Box Tool",
        lambda w: w.set_tool(Tool.BOX),
        "B",
        "Box: drag a box around the object",
        tool=Tool.BOX,
    ),
    ActionSpec(
        "brush_tool",
        "&Tools",
        "B&rush",
        lambda w: w.set_tool(Tool.BRUSH),
        "D",
        "Brush: paint into the object's mask on this frame (right drag erases)",
        tool=Tool.BRUSH,
    ),
    ActionSpec(
        "eraser_tool",
        "&Tools",
        "&Eraser",
        lambda w: w.set_tool(Tool.ERASER),
        "E",
        "Eraser: remove from the object's mask",
        tool=Tool.ERASER,
    ),
    ActionSpec(
        "smaller_brush", "&Tools", "Smaller Brush", lambda w: w.canvas.scale_brush(0.8), "[", separator=True
    ),
    ActionSpec("larger_brush", "&Tools", "Larger Brush", lambda w: w.canvas.scale_brush(1.25), "]"),
    ActionSpec(
        "soft_brush",
        "&Tools",
        "S&oft Brush Edge",
        lambda w: set_soft(w, w.menu_actions["soft_brush"].isChecked()),
        "Shift+D",
        "Soft: a stroke's edge blends into the mask's edge; hard: a round footprint",
        checkable=True,
    ),
    ActionSpec(
        "screen_brush",
        "&Tools",
        "Brush Size in Screen &Pixels",
        lambda w: set_screen_units(w, w.menu_actions["screen_brush"].isChecked()),
        tip="Ticked: the brush keeps its size on screen at any zoom; else it keeps its size on the footage",
        checkable=True,
    ),
    ActionSpec(
        "propagate_backward",
        "&Propagate",
        "Propagate &Backward",
        lambda w: w.editor.propagate(Direction.BACKWARD),
        "Ctrl+Left",
        "Track the selected objects from this frame back to the in point (or the first frame)",
        enabled=_editable,
        toolbar="◀ Propagate",
    ),
    ActionSpec(
        "propagate_both",
        "&Propagate",
        "Propagate Both &Ways",
        lambda w: w.editor.propagate(Direction.BOTH),
        "Ctrl+P",
        "Track the selected objects from this frame to both ends of the in/out range",
        enabled=_editable,
        toolbar="◀ Both ▶",
    ),
    ActionSpec(
        "propagate_forward",
        "&Propagate",
        "Propagate &Forward",
        lambda w: w.editor.propagate(Direction.FORWARD),
        "Ctrl+Right",
        "Track the selected objects from this frame to the out point (or the last frame)",
        enabled=_editable,
        toolbar="Propagate ▶",
    ),
    ActionSpec(
        "cancel_propagation",
        "&Propagate",
        "&Cancel Propagation",
        lambda w: w.editor.cancel_propagation(),
        "Esc",
        "Stop; frames done are kept",
        enabled=lambda s: s.busy,
        toolbar="Cancel",
    ),
    ActionSpec(
        "set_in",
        "&Propagate",
        "Set &In Point",
        lambda w: w.timeline.set_in(),
        "I",
        "Start of the range",
        separator=True,
    ),
    ActionSpec(
        "set_out", "&Propagate", "Set &Out Point", lambda w: w.timeline.set_out(), "O", "End of the range"
    ),
    ActionSpec(
        "clear_range",
        "&Propagate",
        "Clear In/Out &Range",
        lambda w: w.timeline.clear_range(),
        "Alt+X",
        "Use the whole shot",
        enabled=lambda s: s.in_out is not None,
    ),
    ActionSpec(
        "add_object",
        "&Object",
        "&Add Object",
        lambda w: w.editor.add_object(),
        "Ctrl+Shift+N",
        enabled=_editable,
    ),
    ActionSpec(
        "propose_objects",
        "&Object",
        "&Propose Objects",
        lambda w: w.editor.propose_objects(),
        "Ctrl+Shift+A",
        "Segment everything on this frame: outline every object the model finds, to pick the ones to add",
        enabled=lambda s: _editable(s) and s.proposing is None,
        separator=True,
    ),
    ActionSpec(
        "add_proposals",
        "&Object",
        "Add Picked &Proposals",
        lambda w: w.editor.add_proposed_objects(),
        "Return",
        "Each picked proposal becomes a new object with its mask on this frame (one undo step)",
        enabled=lambda s: not s.busy and s.proposals is not None and bool(s.proposals.chosen),
    ),
    ActionSpec(
        "dismiss_proposals",
        "&Object",
        "&Dismiss Proposals",
        lambda w: w.editor.dismiss_proposals(),
        "Esc",
        "Cancel proposing objects, or take the proposals off the canvas",
        enabled=lambda s: not s.busy and (s.proposing is not None or s.proposals is not None),
    ),
    # Space is handled by the canvas and the window (it also pans while held); the menu only names it.
    ActionSpec("play", "&Playback", "Play / Pause\tSpace", lambda w: w.timeline.toggle_play()),
    ActionSpec("next_frame", "&Playback", "&Next Frame", lambda w: w.timeline.step(1), "Right"),
    ActionSpec("previous_frame", "&Playback", "&Previous Frame", lambda w: w.timeline.step(-1), "Left"),
    ActionSpec("first_frame", "&Playback", "&First Frame", lambda w: w.timeline.set_frame(0), "Home"),
    ActionSpec(
        "last_frame",
        "&Playback",
        "&Last Frame",
        lambda w: w.timeline.set_frame(w.timeline.last_frame),
        "End",
    ),
    ActionSpec(
        "next_prompt",
        "&Playback",
        "Next &Prompted Frame",
        lambda w: w.editor.jump_to_prompt(1),
        "K",
        "The current object's next frame with prompts",
        separator=True,
    ),
    ActionSpec(
        "previous_prompt",
        "&Playback",
        "Previous P&rompted Frame",
        lambda w: w.editor.jump_to_prompt(-1),
        "J",
        "The current object's previous frame with prompts",
    ),
    ActionSpec(
        "timeline_zoom_in",
        "&View",
        "Zoom Timeline In",
        lambda w: w.timeline.zoom_by(2.0),
        "Alt+=",
        separator=True,
    ),
    ActionSpec("timeline_zoom_out", "&View", "Zoom Timeline Out", lambda w: w.timeline.zoom_by(0.5), "Alt+-"),
    ActionSpec(
        "timecode",
        "&View",
        "Show &Timecode",
        lambda w: w.timeline.set_timecode(w.menu_actions["timecode"].isChecked()),
        "Ctrl+T",
        "Label the timeline with timecode instead of frame numbers",
        checkable=True,
    ),
    ActionSpec(
        "model_manager",
        "&Models",
        "&Model Manager…",
        lambda w: w.models.open_manager(),
        tip="Installed models; install, import, verify or remove one",
    ),
    ActionSpec("shortcuts", "&Help", "&Keyboard Shortcuts", lambda w: show_shortcuts(w), "F1"),
    ActionSpec("about", "&Help", "&About Roto", lambda w: w.about()),
)


def build_actions(window: MainWindow) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """Create every action of the table with its menu entry; window-wide shortcuts whatever has the focus."""
    actions: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    tools = QActionGroup(window)
    groups: dict[str, QActionGroup] = {}
    for spec in ACTIONS:
        menu = menus.get(spec.menu) or menus.setdefault(spec.menu, window.menuBar().addMenu(spec.menu))
        if spec.separator:
            menu.addSeparator()
        action = QAction(spec.text, window)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        plain = spec.text.replace("&", "").split("\t")[0].removesuffix("…")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{spec.tip or plain} ({keys})" if keys else spec.tip or plain)
        action.setStatusTip(spec.tip or plain)
        action.triggered.connect(lambda _checked=False, run=spec.run: run(window))
        action.setCheckable(spec.checkable or spec.checked is not None)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(window)).addAction(action)
        if spec.tool is not None:
            action.setCheckable(True)
            action.setChecked(spec.tool == Tool.POINT)
            tools.addAction(action)
        if spec.toolbar:
            action.setIconText(spec.toolbar)
        menu.addAction(action)
        window.addAction(action)
        actions[spec.id] = action
    window.state.connect("view", lambda _view: update_actions(actions, window.state))
    return actions, menus


def update_actions(actions: dict[str, QAction], state: EditorState) -> None:
    """Apply every enable rule, and name the step Undo and Redo would take."""
    for spec in ACTIONS:
        if spec.enabled is not None:
            actions[spec.id].setEnabled(spec.enabled(state))
        if spec.checked is not None:
            actions[spec.id].setChecked(spec.checked(state))
    stack = state.document.stack if state.document is not None else None
    actions["undo"].setText(f"&Undo {stack.undo_label}" if stack and stack.undo_label else "&Undo")
    actions["redo"].setText(f"&Redo {stack.redo_label}" if stack and stack.redo_label else "&Redo")
    if state.tool.value + "_tool" in actions:
        actions[state.tool.value + "_tool"].setChecked(True)


def add_toolbar(window: QMainWindow, actions: dict[str, QAction]) -> None:
    """The tools, then the propagation commands."""
    toolbar = window.addToolBar("Tools")
    toolbar.setObjectName("tools")
    for spec in ACTIONS:
        if spec.tool is not None:
            toolbar.addAction(actions[spec.id])
    toolbar.addSeparator()
    for spec in ACTIONS:
        if spec.toolbar:
            toolbar.addAction(actions[spec.id])


MOUSE_BINDINGS = (
    ("Canvas", "Object point / background point", "Left click / right click or Alt+click"),
    ("Canvas", "Delete a point", "Ctrl+click"),
    ("Canvas", "Pick a proposal / pick several (Propose Objects)", "Click / Shift+click"),
    ("Canvas", "Pan", "Middle drag or Space+drag"),
    ("Canvas", "Zoom", "Wheel"),
    ("Timeline", "Jump to a frame", "Click or drag"),
    ("Timeline", "Zoom / scroll", "Wheel / Shift+wheel"),
)


def shortcut_rows() -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every command with a key, plus the mouse and keys that are not menu commands."""
    rows = []
    for spec in ACTIONS:
        keys = (
            QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText)
            if spec.shortcut
            else ""
        )
        if "\t" in spec.text:
            keys = spec.text.split("\t")[1]
        if keys:
            rows.append((spec.menu.replace("&", ""), spec.text.replace("&", "").split("\t")[0], keys))
    return [*rows, *MOUSE_BINDINGS]


def show_shortcuts(window: QMainWindow) -> None:
    """Help ▸ Keyboard Shortcuts: every binding, from the same table the menus are built from."""
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(0, 3, dialog)
    table.setHorizontalHeaderLabels(["Where", "Command", "Keys"])
    for row, values in enumerate(shortcut_rows()):
        table.insertRow(row)
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(value))
    table.resizeColumnsToContents()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    dialog.resize(620, 560)
    dialog.exec()
