"""Writing segment-everything proposals for `roto segment --everything`: a label image, COCO JSON or one PNG each.

Proposals may overlap; the label image gives a pixel to the best-ranked proposal covering it (number 1 is the
best). COCO JSON keeps every mask whole, as Meta's generator's annotation records with RLE masks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roto.engine.automask import Proposal
from roto.errors import RotoError

FORMATS = ("labels", "coco", "per-mask")


def check_output(out: Path, fmt: str) -> None:
    """Refuse an output the format cannot be written to, before the model runs."""
    if fmt == "per-mask":
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RotoError(f"-o {out}: per-mask writes into a new or empty folder; this one is not")
        if not out.parent.is_dir():
            raise RotoError(f"-o {out}: its folder does not exist")
        return
    suffix = ".png" if fmt == "labels" else ".json"
    if out.suffix.lower() != suffix:
        raise RotoError(f"-o {out}: --format {fmt} writes {suffix.upper()[1:]}; name a {suffix} file")
    if out.is_dir() or not out.parent.is_dir():
        raise RotoError(f"-o {out}: {'is a folder' if out.is_dir() else 'its folder does not exist'}")


def record(number: int, proposal: Proposal) -> dict[str, Any]:
    """One proposal's numbers as JSON (box as x0, y0, x1, y1 pixel edges, as Meta's XYXY)."""
    return {
        "number": number,
        "area": proposal.area,
        "box": list(proposal.box),
        "predicted_iou": round(proposal.predicted_iou, 6),
        "stability_score": round(proposal.stability_score, 6),
        "point": [round(v, 3) for v in proposal.point],
        "crop_box": list(proposal.crop_box),
    }


def _png(mask_or_labels: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", mask_or_labels)
    if not ok:
        raise RotoError("cannot encode the PNG")
    return encoded.tobytes()


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise RotoError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def label_image(proposals: Sequence[Proposal], frame_hw: tuple[int, int]) -> np.ndarray:
    """uint16 labels: 0 background, n where proposal n (1 = best) is the best-ranked one covering the pixel."""
    labels = np.zeros(frame_hw, np.uint16)
    for number in range(len(proposals), 0, -1):  # worst first, so better proposals paint over
        labels[proposals[number - 1].mask] = number
    return labels


def coco_document(
    proposals: Sequence[Proposal], frame_hw: tuple[int, int], image_name: str
) -> dict[str, Any]:
    """A COCO document: one image, one category, an annotation with an RLE mask and the scores per proposal."""
    from pycocotools import mask as mask_utils

    height, width = frame_hw
    annotations = []
    for number, proposal in enumerate(proposals, start=1):
        rle = mask_utils.encode(np.asfortranarray(proposal.mask, dtype=np.uint8))
        x0, y0, x1, y1 = proposal.box
        annotations.append(
            {
                "id": number,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
                "area": proposal.area,
                "bbox": [x0, y0, x1 - x0, y1 - y0],  # Meta's generator's XYWH
                "iscrowd": 0,
                "predicted_iou": proposal.predicted_iou,
                "stability_score": proposal.stability_score,
                "point_coords": [list(proposal.point)],
            }
        )
    return {
        "images": [{"id": 1, "file_name": image_name, "width": width, "height": height}],
        "categories": [{"id": 1, "name": "object"}],
        "annotations": annotations,
    }


def write_proposals(
    proposals: Sequence[Proposal], frame_hw: tuple[int, int], out: Path, fmt: str, image_name: str
) -> None:
    """Write the proposals at `out` in `fmt` (see FORMATS); `check_output` ran before."""
    if fmt == "labels":
        _write(out, _png(label_image(proposals, frame_hw)))
    elif fmt == "coco":
        text = json.dumps(coco_document(proposals, frame_hw, image_name))
        _write(out, text.encode("utf-8"))
    else:
        try:
            out.mkdir(exist_ok=True)
        except OSError as exc:
            raise RotoError(f"{out}: cannot create the folder ({exc.strerror or exc})") from exc
        width = max(4, len(str(len(proposals))))
        for number, proposal in enumerate(proposals, start=1):
            _write(out / f"mask_{number:0{width}d}.png", _png(proposal.mask.astype(np.uint8) * 255))
        listing = [record(n, p) for n, p in enumerate(proposals, start=1)]
        _write(out / "proposals.json", json.dumps(listing, indent=1).encode("utf-8"))
