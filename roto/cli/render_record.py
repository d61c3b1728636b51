"""What a `roto render` was made from, kept in `render.json` inside the project folder.

A render is idempotent and resumable through this record: each object's entry is the digest of what its masks
depend on (its prompts, painted masks included, the frame range and the model), written right after the
project was saved with that object's masks; the export's entry is the digest of the masks' digests, the matte
settings and the export options, with the files written. A rerun redoes only what no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roto.errors import RotoError
from roto.files import replace_file

RECORD_NAME = "render.json"
RECORD_VERSION = 1


def digest(data: Any) -> str:
    """SHA-256 of `data` as canonical JSON (anything not JSON is written as its repr)."""
    text = json.dumps(data, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RenderRecord:
    objects: dict[str, str] = field(default_factory=dict)  # object id -> digest of its tracked masks
    export: str | None = None  # digest of the last export's inputs and options
    files: list[str] = field(default_factory=list)  # what that export wrote

    @classmethod
    def load(cls, folder: Path) -> RenderRecord:
        """The record of `folder`, empty when there is none; a record this version cannot read is an error
        (rather than silently rendering everything again over newer results)."""
        path = folder / RECORD_NAME
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != RECORD_VERSION:
                raise RotoError(
                    f"{path}: render record version {data.get('version')!r}, this Roto reads {RECORD_VERSION}"
                )
            return cls(dict(data["objects"]), data["export"], list(data["files"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RotoError(f"{path}: unreadable render record ({exc}); delete it to render again") from None

    def save(self, folder: Path) -> None:
        """Atomically, so a render killed while writing leaves the previous record."""
        text = json.dumps({"version": RECORD_VERSION, **asdict(self)}, indent=1)
        replace_file(folder / RECORD_NAME, text.encode("utf-8"))

    def export_done(self, key: str) -> bool:
        return self.export == key and all(Path(f).exists() for f in self.files)
