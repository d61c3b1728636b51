"""Small synthetic shots for export tests: two moving objects over a plain gradient picture."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from roto.export import InMemorySource

HEIGHT, WIDTH, FRAMES = 48, 64, 5
FPS = Fraction(30000, 1001)


def box_mask(index: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[8:30, 4 + 3 * index : 30 + 3 * index] = True
    return mask


def disc_logits(index: int) -> np.ndarray:
    """Half-resolution logits of a disc, like SAM2's low-res output (positive inside)."""
    yy, xx = np.mgrid[0 : HEIGHT // 2, 0 : WIDTH // 2]
    radius = np.hypot(yy - 14, xx - (12 + index))
    return (6.0 - radius).astype(np.float32)


def picture(index: int) -> np.ndarray:
    ramp = np.linspace(0, 255, WIDTH, dtype=np.float32)
    rgb = np.stack(
        [np.tile(ramp, (HEIGHT, 1)), np.full((HEIGHT, WIDTH), 40.0 * index), np.full((HEIGHT, WIDTH), 90.0)]
    )
    return rgb.transpose(1, 2, 0).astype(np.uint8)


@pytest.fixture
def shot() -> InMemorySource:
    """An image-sequence-like shot numbered 1001.. with a mask object and a logits object."""
    return InMemorySource(
        shot_name="sh010",
        frame_size=(HEIGHT, WIDTH),
        object_masks={
            "box": [box_mask(i) for i in range(FRAMES)],
            "disc": [disc_logits(i) for i in range(FRAMES)],
        },
        fps=FPS,
        images=[picture(i) for i in range(FRAMES)],
        frame_numbers=[1001 + i for i in range(FRAMES)],
    )


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


def _listing(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def listing() -> Callable[[Path], list[str]]:
    """Every file under a folder (hidden temporary files included), relative, sorted."""
    return _listing
