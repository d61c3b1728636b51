"""One menu command as data (the rows of roto.ui.actions and roto.ui.view_actions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence

from roto.editor.state import EditorState
from roto.editor.tools import Tool

if TYPE_CHECKING:
    from roto.ui.app import MainWindow

Keys = QKeySequence.StandardKey
Rule = Callable[[EditorState], bool]


@dataclass(frozen=True)
class ActionSpec:
    id: str
    menu: str
    text: str
    run: Callable[[MainWindow], object]
    shortcut: str | Keys | None = None
    tip: str = ""
    enabled: Rule | None = None  # None: always enabled
    tool: Tool | None = None  # a checkable tool in the exclusive tools group
    toolbar: str = ""  # the toolbar's text for it ("" : not on the toolbar)
    separator: bool = False  # a separator in the menu before it
    checkable: bool = False  # an on/off setting (tools are checkable through their group)
    checked: Rule | None = None  # a setting of the editor state: checkable, ticked while the rule holds
    group: str = ""  # checkable actions of one group exclude each other (the views)
