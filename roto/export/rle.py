"""COCO-style JSON with RLE masks (pycocotools), so ML tooling can load mattes as instance annotations.

Annotations are streamed into the file as frames arrive; only the small per-frame image entries are kept
until the end. Masks are binary: a soft alpha is cut at 0.5.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from pycocotools import mask as mask_utils

from roto.errors import ExportError


class CocoWriter:
    """Writes one COCO JSON file: a category per object, an image per frame, an annotation per mask."""

    def __init__(self, path: Path, final: Path, shot: str, categories: Sequence[str], size: tuple[int, int]):
        self._final = final
        self._shot = shot
        self._size = size
        self._category_ids = {name: number for number, name in enumerate(categories, start=1)}
        self._images: list[dict[str, Any]] = []
        self._annotation_count = 0
        try:
            self._file: TextIO = path.open("w", encoding="utf-8")
            self._file.write('{"info": ' + json.dumps({"description": f"Roto mattes of shot {shot}"}))
            categories_json = [{"id": i, "name": n} for n, i in self._category_ids.items()]
            self._file.write(', "categories": ' + json.dumps(categories_json))
            self._file.write(', "annotations": [')
        except OSError as exc:
            raise ExportError(f"Cannot write {final}: {exc.strerror or exc}") from None

    def write(self, index: int, number: int, time: float, alphas: dict[str, np.ndarray]) -> None:
        """Add frame ``index`` (image id = index + 1) and one annotation per non-empty mask."""
        height, width = self._size
        image_id = index + 1
        self._images.append(
            {
                "id": image_id,
                "file_name": f"{self._shot}/{number}",
                "width": width,
                "height": height,
                "frame_index": index,
                "frame_number": number,
                "time": time,
            }
        )
        try:
            for name, alpha in alphas.items():
                mask = alpha >= 0.5
                if not mask.any():
                    continue
                rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
                self._annotation_count += 1
                annotation = {
                    "id": self._annotation_count,
                    "image_id": image_id,
                    "category_id": self._category_ids[name],
                    "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
                    "area": int(mask_utils.area(rle)),
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    "iscrowd": 0,
                }
                separator = "" if self._annotation_count == 1 else ", "
                self._file.write(separator + json.dumps(annotation))
        except OSError as exc:
            raise ExportError(f"Cannot write {self._final}: {exc.strerror or exc}") from None

    def close(self) -> None:
        try:
            self._file.write('], "images": ' + json.dumps(self._images) + "}\n")
            self._file.close()
        except OSError as exc:
            raise ExportError(f"Cannot write {self._final}: {exc.strerror or exc}") from None

    def discard(self) -> None:
        """Close after a failure or cancel, never raising over the error that caused it (a full disk)."""
        with contextlib.suppress(OSError):
            self._file.close()
