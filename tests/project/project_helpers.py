"""Helpers shared by the project tests (a uniquely named module: other test folders have conftests too)."""

import numpy as np

HEIGHT, WIDTH, FRAMES = 24, 32, 12


def disc(cx: float, cy: float, r: float, shape: tuple[int, int] = (HEIGHT, WIDTH)) -> np.ndarray:
    """A filled circle: a mask with real structure, different for every centre."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
