"""Pre-processing against Meta's own SAM2Transforms (torchvision's antialiased resize, ImageNet normalisation)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from roto.engine.transforms import preprocess_image
from roto.errors import MediaError

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@pytest.mark.parametrize(
    ("width", "height"),
    [(1800, 1200), (1920, 1080), (3840, 2160), (320, 240), (1024, 1024), (777, 1301)],
)
@pytest.mark.parametrize("content", ["photo", "noise"])
def test_matches_sam2_transforms(shared_media: Path, width: int, height: int, content: str) -> None:
    """Shrinking, enlarging, mixed and no change; photographs and pixel noise (the worst case for resampling)."""
    pytest.importorskip("torchvision")
    sam2_transforms = pytest.importorskip("sam2.utils.transforms")

    if content == "photo":
        bgr = cv2.imread(str(shared_media / "truck.jpg"))
        assert bgr is not None
        photo = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        rgb = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    else:
        rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    expected = sam2_transforms.SAM2Transforms(resolution=1024, mask_threshold=0.0)(rgb)[None].numpy()
    ours = preprocess_image(rgb, 1024, MEAN, STD)
    assert ours.shape == (1, 3, 1024, 1024) and ours.dtype == np.float32
    # Sample positions are computed in float32 (torchvision: float64): 3e-4 here is 0.02 of one grey level.
    assert np.abs(ours - expected).max() < 5e-4
    assert np.abs(ours - expected).mean() < 5e-5


@pytest.mark.parametrize(
    "frame",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)],
    ids=["grey", "rgba", "float"],
)
def test_rejects_frames_that_are_not_rgb_uint8(frame: np.ndarray) -> None:
    with pytest.raises(MediaError, match="RGB uint8"):
        preprocess_image(frame, 1024, MEAN, STD)


def test_follows_the_thread_setting() -> None:
    """An animator who limits Roto to one thread gets one thread for pre-processing too."""
    from roto.engine.transforms import _resize_session

    rgb = np.random.default_rng(1).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    one = preprocess_image(rgb, 64, MEAN, STD, threads=1)
    assert _resize_session(64, MEAN, STD, 1).get_session_options().intra_op_num_threads == 1
    assert np.array_equal(one, preprocess_image(rgb, 64, MEAN, STD, threads=2))
