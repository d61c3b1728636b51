"""The objects panel: the shot's objects with colour, name and visibility, and the current object.

The panel only shows and asks: every change it requests goes back to the window as a signal and from there onto
the UndoStack as a command, so renaming or hiding an object is undoable like any other edit.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from roto.project import RotoObject

_ID_ROLE = Qt.ItemDataRole.UserRole


def color_icon(color: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class ObjectsPanel(QWidget):
    """Lists objects; the checkbox shows/hides, double-click renames, the buttons add, recolour and delete."""

    current_changed = Signal(int)  # object id
    add_requested = Signal()
    delete_requested = Signal(int)
    rename_requested = Signal(int, str)
    color_requested = Signal(int, tuple)
    visibility_requested = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setEditTriggers(
            QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed
        )
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.setToolTip("Ctrl+click or Shift+click selects several objects to propagate together")
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_item_changed)
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add an object (Ctrl+Shift+N)")
        self.color_button = QPushButton("Colour…")
        self.color_button.setToolTip("Change the current object's colour")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the current object with its prompts and masks (undoable)")
        self.add_button.clicked.connect(self.add_requested)
        self.color_button.clicked.connect(self._pick_color)
        self.delete_button.clicked.connect(self._delete_current)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.color_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._objects: dict[int, RotoObject] = {}
        self.setEnabled(False)

    @property
    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(_ID_ROLE))

    def selected_ids(self) -> list[int]:
        """The objects selected in the list (propagation runs for all of them together)."""
        return [int(item.data(_ID_ROLE)) for item in self.list.selectedItems()]

    def set_objects(self, objects: Sequence[RotoObject], current_id: int | None) -> None:
        """Show the document's objects (after any change), keeping `current_id` selected when it exists.

        Items are updated in place when the same objects remain, because this runs inside the item's own
        change signal when the user renames or hides an object: deleting that item there would crash.
        """
        blocker = QSignalBlocker(self.list)
        self._objects = {obj.id: obj for obj in objects}
        shown = [int(self.list.item(row).data(_ID_ROLE)) for row in range(self.list.count())]
        if shown != [obj.id for obj in objects]:
            self.list.clear()
            for obj in objects:
                item = QListWidgetItem()
                item.setData(_ID_ROLE, obj.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
                item.setToolTip("Tick to show, double-click to rename")
                self.list.addItem(item)
        for row, obj in enumerate(objects):
            item = self.list.item(row)
            item.setText(obj.name)
            item.setIcon(color_icon(obj.color))
            item.setCheckState(Qt.CheckState.Checked if obj.visible else Qt.CheckState.Unchecked)
            if obj.id == current_id:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        del blocker
        self.setEnabled(True)
        self.color_button.setEnabled(bool(objects))
        self.delete_button.setEnabled(bool(objects))
        if self.current_id != current_id and self.current_id is not None:
            self.current_changed.emit(self.current_id)

    def _on_current(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.current_changed.emit(int(item.data(_ID_ROLE)))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        object_id = int(item.data(_ID_ROLE))
        obj = self._objects.get(object_id)
        if obj is None:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        name = item.text().strip()
        if visible != obj.visible:
            self.visibility_requested.emit(object_id, visible)
        elif name and name != obj.name:
            self.rename_requested.emit(object_id, name)
        elif not name:
            item.setText(obj.name)  # an empty name is refused quietly: the old one comes back

    def _pick_color(self) -> None:
        object_id = self.current_id
        if object_id is None:
            return
        chosen = QColorDialog.getColor(QColor(*self._objects[object_id].color), self, "Object colour")
        if chosen.isValid():
            self.color_requested.emit(object_id, (chosen.red(), chosen.green(), chosen.blue()))

    def _delete_current(self) -> None:
        if self.current_id is not None:
            self.delete_requested.emit(self.current_id)
