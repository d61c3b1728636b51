"""The project document, its undoable commands and its on-disk store (no Qt)."""
