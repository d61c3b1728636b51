"""The PySide6 editor. Depends on the core; the core never imports it."""
