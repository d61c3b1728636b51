"""The brush remembered between launches: size, units (frame or screen pixels) and edge, in QSettings."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from roto.editor.brush import Brush, BrushUnits
from roto.editor.tools import MAX_BRUSH, MIN_BRUSH

if TYPE_CHECKING:
    from roto.ui.app import MainWindow

_SIZE, _UNITS, _SOFT = "brush/size", "brush/units", "brush/soft"


def load_brush() -> Brush:
    """The stored brush; a value that is missing or unreadable falls back to the default's."""
    settings, default = QSettings(), Brush()
    try:
        size = min(MAX_BRUSH, max(MIN_BRUSH, float(settings.value(_SIZE, default.size))))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        size = default.size
    units = str(settings.value(_UNITS, default.units.value))
    soft = str(settings.value(_SOFT, default.soft)).lower() in ("true", "1")
    return Brush(size, BrushUnits(units) if units in set(BrushUnits) else default.units, soft)


def save_brush(brush: Brush) -> None:
    settings = QSettings()
    settings.setValue(_SIZE, brush.size)
    settings.setValue(_UNITS, brush.units.value)
    settings.setValue(_SOFT, brush.soft)


def set_soft(window: MainWindow, soft: bool) -> None:
    """Tools ▸ Soft Brush Edge."""
    window.canvas.set_brush(replace(window.canvas.brush, soft=soft))


def set_screen_units(window: MainWindow, screen: bool) -> None:
    """Tools ▸ Brush Size in Screen Pixels: the radius keeps its look on screen (the size is converted at the
    current zoom, so the brush does not jump when the units change)."""
    brush, zoom = window.canvas.brush, window.canvas.zoom
    if (brush.units is BrushUnits.SCREEN) == screen:
        return
    size = brush.size * zoom if screen else brush.size / zoom
    units = BrushUnits.SCREEN if screen else BrushUnits.FRAME
    window.canvas.set_brush(replace(brush, size=min(MAX_BRUSH, max(MIN_BRUSH, size)), units=units))


def attach_brush(window: MainWindow) -> None:
    """Give the canvas the stored brush, tick its menu settings, show it and store every change."""

    def show(brush: Brush) -> None:
        window.menu_actions["soft_brush"].setChecked(brush.soft)
        window.menu_actions["screen_brush"].setChecked(brush.units is BrushUnits.SCREEN)

    window.canvas.brush_changed.connect(save_brush)
    window.canvas.brush_changed.connect(show)
    window.canvas.set_brush(load_brush())
