"""The main window's pages and docks: a welcome page until a document opens, then the editor page (banners, the
canvas over the timeline) with the objects list docked beside it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

WELCOME_TEXT = """<h2>Roto</h2>
<p>Open a video, an image sequence or a project: <b>File ▸ Open…</b> (Ctrl+O), or give it on the command line:
<code>roto gui clip.mp4</code>.</p>
<p>Left click marks the object, right click (or Alt+click) marks background, B switches to the box tool.</p>"""


@dataclass
class WindowLayout:
    pages: QStackedWidget  # 0: the message page, 1: the editor
    message: QLabel  # the welcome text, or what keeps the editor from working (set by the model control)
    column: QVBoxLayout  # the editor page's column: banners go above the canvas


def lay_out(window: QMainWindow, canvas: QWidget, timeline: QWidget, objects: QWidget) -> WindowLayout:
    message = QLabel(WELCOME_TEXT)
    message.setAlignment(Qt.AlignmentFlag.AlignCenter)
    message.setWordWrap(True)
    message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    message.setMargin(40)
    editor = QWidget()
    column = QVBoxLayout(editor)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(canvas, 1)
    column.addWidget(timeline)
    pages = QStackedWidget()
    pages.addWidget(message)
    pages.addWidget(editor)
    window.setCentralWidget(pages)
    dock = QDockWidget("Objects", window)
    dock.setObjectName("objects")
    dock.setWidget(objects)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return WindowLayout(pages, message, column)
