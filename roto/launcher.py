"""The `roto` executable: the headless command line, and the editor for `roto`, `roto gui` or `roto PATH`.

The one place where the core's CLI meets the Qt editor, so that roto.cli stays free of Qt: the UI is imported
only when the editor is actually opened.
"""

from __future__ import annotations

from collections.abc import Sequence

from roto import cli


def open_editor(media: str | None) -> int:
    from roto.ui.app import run_app

    return run_app(media)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, open_editor=open_editor)
