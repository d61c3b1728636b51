"""Refine edge: an image-aware soft alpha and clean foreground colour from a coarse mask (no Qt).

SAM2 decides at 256x256, so its upsampled mask is a hard, blobby edge at 1080p. Refinement re-decides an
*unknown band* of ``band_px`` pixels each side of the mask's edge, guided by the frame's own picture:

- ``fast``: a colour guided filter (He, Sun, Tang, "Guided Image Filtering", 2010/2013) of the coarse alpha,
  its coefficients computed at a reduced scale ("Fast Guided Filter", He & Sun 2015) so a 1080p frame costs a few
  box filters; the edge snaps to the picture's colour edges and takes a fractional ramp where the colours mix.
- ``quality``: closed-form matting (Levin, Lischinski, Weiss 2008) on the band: the alpha that minimises the
  matting Laplacian's energy with the pixels outside the band held at the coarse value, solved by conjugate
  gradients with the Laplacian applied through box filters (He, Sun, Tang, "Fast Matting Using Large Kernel
  Matting Laplacian Matrices", 2010) and started from the fast result, so no sparse matrix is ever built.
  Thin strands outside the mask (hair that a 256 px decision drops) are found by a morphological top-hat and
  solved with the band, beyond it too where they connect to it.
- ``estimate_foreground``: the object's own colour at soft edges (Forte & Pitié, "Approximate Fast Foreground
  Colour Estimation", 2021: two passes of blur fusion), so a cut-out's edge is not tinted by the old background.

Everything is written here from the papers with NumPy and OpenCV's box filter (no new dependency, Apache-2.0).
The result is a deterministic function of (picture, mask): a still edge under a still picture does not chatter.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

FloatImage = npt.NDArray[np.float32]

MAX_BAND_PX = 64  # wider bands make matting worse, not better (the solver loses the coarse mask's shape)
_FAST_EPS = 1e-4  # guided filter regulariser: colour contrasts below ~sqrt(eps) = 0.01 are smoothed over
_FAST_SCALE = 4  # the fast guided filter's subsampling of its coefficients (He & Sun 2015)
# matting Laplacian: 5x5 windows (He et al. 2010: larger windows converge in fewer iterations) and a regulariser
# above Levin's 1e-7 for 3x3 windows, which larger windows need
_MATTING_EPS = 1e-5
_MATTING_RADIUS = 2
_CG_ITERATIONS = 60
_PRIOR_WEIGHT = 0.02  # pull of the fast result on unknown pixels: keeps flat, ambiguous areas where they were
_SURE = 0.02  # quality mode: band pixels the fast result puts within this of 0 or 1 are taken as known
_TILE = 192  # quality mode solves the band in tiles of this size (plus a halo), skipping tiles with no band
# quality mode's strands: structures narrower than the top-hat's 7 px disc (about 5 px) whose contrast with what
# surrounds them exceeds 0.3 (well above a picture's fine texture) are followed out of the mask, up to 3 bands
_STRAND_SIZE = 7
_STRAND_CONTRAST = 0.3
_STRAND_REACH = 3


class RefineMode(StrEnum):
    OFF = "off"
    FAST = "fast"
    QUALITY = "quality"


def check_picture(image: np.ndarray) -> np.ndarray:
    """The picture checked (shape, dtype, finite values) and unconverted: HxW or HxWx1/3, an alpha channel dropped."""
    if image.ndim == 3 and image.shape[2] in (1, 3, 4):
        image = image[..., :3] if image.shape[2] == 4 else image
    elif image.ndim != 2:
        raise ValueError(f"the picture must be HxW grey or HxWx1/3/4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"the picture is empty (shape {image.shape})")
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"the picture must be 8-bit, 16-bit or float, got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        raise ValueError("the picture has non-finite values (NaN or infinity)")
    return image


def as_guide(image: np.ndarray) -> FloatImage:
    """The picture as float32 HxWx3 in [0, 1]: 8/16-bit or float, grey (HxW, HxWx1), RGB or RGBA (alpha ignored)."""
    image = check_picture(image)
    if image.dtype == np.uint8:
        guide = image.astype(np.float32) * np.float32(1 / 255)
    elif image.dtype == np.uint16:
        guide = image.astype(np.float32) * np.float32(1 / 65535)
    else:
        guide = np.clip(image, 0.0, 1.0).astype(np.float32)
    if guide.ndim == 2 or guide.shape[2] == 1:
        guide = np.repeat(guide.reshape(*guide.shape[:2], 1), 3, axis=2)
    return np.ascontiguousarray(guide)


def as_coarse(mask_or_alpha: np.ndarray, size: tuple[int, int]) -> FloatImage:
    """The coarse matte as float32 alpha in [0, 1] of the picture's ``size``: a boolean mask or a float alpha."""
    if mask_or_alpha.shape != tuple(size):
        got = "x".join(map(str, mask_or_alpha.shape[::-1]))
        raise ValueError(f"mask size {got} does not match the picture's {size[1]}x{size[0]}")
    if mask_or_alpha.dtype == np.bool_:
        return mask_or_alpha.astype(np.float32)
    if not np.issubdtype(mask_or_alpha.dtype, np.floating):
        raise ValueError(f"expected a boolean mask or a float alpha, got dtype {mask_or_alpha.dtype}")
    if not np.isfinite(mask_or_alpha).all():
        raise ValueError("the mask has non-finite values (NaN or infinity)")
    return np.clip(mask_or_alpha, 0.0, 1.0).astype(np.float32)


def check_band(band_px: int) -> None:
    if (
        isinstance(band_px, bool)
        or not isinstance(band_px, int | np.integer)
        or not 1 <= band_px <= MAX_BAND_PX
    ):
        raise ValueError(
            f"the refine band must be a whole number of pixels from 1 to {MAX_BAND_PX}, got {band_px!r}"
        )


def unknown_band(mask: npt.NDArray[np.bool_], band_px: int) -> npt.NDArray[np.bool_]:
    """Pixels within ``band_px`` of the mask's edge, on either side (empty for an empty or a full mask)."""
    check_band(band_px)
    # a square neighbourhood holding both an inside and an outside pixel: a byte dilation and erosion with a
    # square kernel (separable in OpenCV), several times faster than a float box filter or a round kernel
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * band_px + 1,) * 2)
    byte = mask.astype(np.uint8)
    return np.asarray(cv2.dilate(byte, square) > cv2.erode(byte, square))


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, the border mirrored (what the guided filter's statistics need)."""
    return cv2.boxFilter(image, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _inverse_sym3(cov: list[np.ndarray]) -> list[np.ndarray]:
    """Per-pixel inverse of symmetric 3x3 matrices given as (xx, xy, xz, yy, yz, zz); returned the same way."""
    xx, xy, xz, yy, yz, zz = cov
    c_xx = yy * zz - yz * yz
    c_xy = xz * yz - xy * zz
    c_xz = xy * yz - xz * yy
    c_yy = xx * zz - xz * xz
    c_yz = xy * xz - xx * yz
    c_zz = xx * yy - xy * xy
    det = xx * c_xx + xy * c_xy + xz * c_xz
    inv_det = 1.0 / det
    return [c * inv_det for c in (c_xx, c_xy, c_xz, c_yy, c_yz, c_zz)]


def _mat_vec(inv: list[np.ndarray], v: list[np.ndarray]) -> list[np.ndarray]:
    xx, xy, xz, yy, yz, zz = inv
    return [
        xx * v[0] + xy * v[1] + xz * v[2],
        xy * v[0] + yy * v[1] + yz * v[2],
        xz * v[0] + yz * v[1] + zz * v[2],
    ]


def guided_coefficients(
    guide: FloatImage, source: FloatImage, radius: int, eps: float, scale: int = 1
) -> list[np.ndarray]:
    """Colour guided filter of ``source`` (HxW) by ``guide`` (HxWx3) as its averaged linear coefficients at full
    size (a_r, a_g, a_b, b: the output is a . guide + b), computed at 1/``scale`` (He & Sun 2015)."""
    h, w = source.shape
    if scale > 1:
        small = (max(1, w // scale), max(1, h // scale))
        g = cv2.resize(guide, small, interpolation=cv2.INTER_AREA)
        p = cv2.resize(source, small, interpolation=cv2.INTER_AREA)
        r = max(1, radius // scale)
    else:
        g, p, r = guide, source, radius
    chans = [np.ascontiguousarray(g[..., c]) for c in range(3)]
    mean_i = [_box(c, r) for c in chans]
    mean_p = _box(p, r)
    cov_ip = [_box(c * p, r) - m * mean_p for c, m in zip(chans, mean_i, strict=True)]
    pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
    var = [_box(chans[a] * chans[b], r) - mean_i[a] * mean_i[b] + (eps if a == b else 0.0) for a, b in pairs]
    a = _mat_vec(_inverse_sym3(var), cov_ip)
    b = mean_p - a[0] * mean_i[0] - a[1] * mean_i[1] - a[2] * mean_i[2]
    coeffs = [_box(x, r) for x in (*a, b)]
    if scale > 1:
        coeffs = [cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR) for x in coeffs]
    return coeffs


def _crop(band: npt.NDArray[np.bool_], margin: int) -> tuple[slice, slice]:
    ys, xs = np.nonzero(band.any(axis=1))[0], np.nonzero(band.any(axis=0))[0]
    h, w = band.shape
    return (
        slice(max(0, ys[0] - margin), min(h, ys[-1] + 1 + margin)),
        slice(max(0, xs[0] - margin), min(w, xs[-1] + 1 + margin)),
    )


def _aligned(span: slice, size: int, step: int) -> slice:
    """``span`` grown to a multiple of ``step`` where the image allows: OpenCV's area reduction by a whole factor
    takes a path several times faster than by a fractional one."""
    short = -(span.stop - span.start) % step
    stop = min(size, span.stop + short)
    return slice(max(0, span.start - (short - (stop - span.stop))), stop)


def _fast_radius(band_px: int) -> int:
    return max(2, band_px)


def refine_fast(
    guide: FloatImage, coarse: FloatImage, band: npt.NDArray[np.bool_], band_px: int
) -> FloatImage:
    """Guided-filter refinement of ``coarse`` inside ``band`` (the rest keeps the coarse value).

    The filter's coefficients are found on the band's bounding box at 1/4 scale; the full-size output is
    evaluated on the band's pixels only (a few percent of a frame)."""
    out = coarse.copy()
    if not band.any():
        return out
    radius = _fast_radius(band_px)
    scale = _FAST_SCALE if radius >= _FAST_SCALE else 1
    rows, cols = (_aligned(s, n, scale) for s, n in zip(_crop(band, 2 * radius), band.shape, strict=True))
    a_r, a_g, a_b, b = guided_coefficients(guide[rows, cols], coarse[rows, cols], radius, _FAST_EPS, scale)
    inside = band[rows, cols]
    colour = guide[rows, cols][inside]
    value = a_r[inside] * colour[:, 0] + a_g[inside] * colour[:, 1] + a_b[inside] * colour[:, 2] + b[inside]
    out[rows, cols][inside] = np.clip(value, 0.0, 1.0)
    return out


class _Laplacian:
    """The matting Laplacian of one tile, applied through box filters (never built as a matrix).

    Windows are clipped to the tile, so every window's part is positive semi-definite and so is the sum.
    """

    def __init__(self, guide: FloatImage, radius: int, eps: float) -> None:
        self.r = radius
        self.chans = [np.ascontiguousarray(guide[..., c]) for c in range(3)]
        ones = np.ones(guide.shape[:2], np.float32)
        self.count = self._sum(ones)  # pixels in each (clipped) window
        self.windows = self.count  # windows covering each pixel: the same number, by symmetry
        self.mean_i = [self._mean(c) for c in self.chans]
        # float64 for the covariances: in flat areas they are differences of nearly equal numbers
        wide = [c.astype(np.float64) - c.mean() for c in self.chans]
        count = self.count.astype(np.float64)
        means = [self._sum(c) / count for c in wide]
        pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
        var = [
            self._sum(wide[a] * wide[b]) / count - means[a] * means[b] + (eps / count if a == b else 0.0)
            for a, b in pairs
        ]
        self.inv = [x.astype(np.float32) for x in _inverse_sym3(var)]

    def _sum(self, x: np.ndarray) -> np.ndarray:
        size = 2 * self.r + 1
        return cv2.boxFilter(x, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)

    def _mean(self, x: np.ndarray) -> np.ndarray:
        return self._sum(x) / self.count

    def apply(self, p: np.ndarray) -> np.ndarray:
        mean_p = self._mean(p)
        cov = [self._mean(c * p) - m * mean_p for c, m in zip(self.chans, self.mean_i, strict=True)]
        a = _mat_vec(self.inv, cov)
        b = mean_p - a[0] * self.mean_i[0] - a[1] * self.mean_i[1] - a[2] * self.mean_i[2]
        sa = [self._sum(x) for x in a]
        return np.asarray(
            self.windows * p
            - sa[0] * self.chans[0]
            - sa[1] * self.chans[1]
            - sa[2] * self.chans[2]
            - self._sum(b)
        )


def _solve_tile(guide: FloatImage, start: FloatImage, unknown: npt.NDArray[np.bool_]) -> FloatImage:
    """Closed-form alpha on the tile's ``unknown`` pixels, the others held at ``start`` (conjugate gradients)."""
    lap = _Laplacian(guide, _MATTING_RADIUS, _MATTING_EPS)
    u = unknown.astype(np.float32)
    prior = _PRIOR_WEIGHT * lap.windows

    def operator(x: np.ndarray) -> np.ndarray:
        return np.asarray((lap.apply(x * u) + prior * x) * u)

    fixed = start * (1.0 - u)
    rhs = (prior * start - lap.apply(fixed)) * u
    x = start * u
    residual = rhs - operator(x)
    precond = 1.0 / (lap.windows + prior)  # Jacobi: the Laplacian's diagonal is close to the window count
    z = residual * precond
    direction = z.copy()
    rz = float(np.vdot(residual, z))
    for _ in range(_CG_ITERATIONS):
        if rz <= 1e-12:
            break
        ad = operator(direction)
        step = rz / float(np.vdot(direction, ad))
        x += step * direction
        residual -= step * ad
        z = residual * precond
        rz_next = float(np.vdot(residual, z))
        direction = z + (rz_next / rz) * direction
        rz = rz_next
    return np.asarray(np.clip(fixed + x * u, 0.0, 1.0), dtype=np.float32)


def _strand_reach(band_px: int) -> int:
    return _STRAND_REACH * band_px


def _quality_halo(band_px: int) -> int:
    return 4 * _MATTING_RADIUS + band_px


def strands(guide: FloatImage) -> tuple[npt.NDArray[np.bool_], FloatImage]:
    """Thin structures that stand out of their surroundings (hair, whiskers) and the alpha each pixel's contrast
    implies, from a morphological top-hat.

    The white and black top-hats (the picture minus its opening, its closing minus the picture) keep what is
    narrower than the disc, brighter or darker than around it; the largest over the three channels is a strand's
    contrast with its background. A strand is taken as opaque where its contrast peaks (within 2 px), so a pixel's
    alpha is its contrast over that peak: thinner, partly covered pixels get less.
    """
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_STRAND_SIZE, _STRAND_SIZE))
    contrast = np.max(
        np.maximum(
            cv2.morphologyEx(guide, cv2.MORPH_TOPHAT, disc), cv2.morphologyEx(guide, cv2.MORPH_BLACKHAT, disc)
        ),
        axis=2,
    )
    peak = cv2.dilate(contrast, np.ones((5, 5), np.uint8))
    alpha = np.clip(contrast / np.maximum(peak, 1e-3), 0.0, 1.0).astype(np.float32)
    return np.asarray(contrast > _STRAND_CONTRAST), alpha


def _strands_beyond(
    coarse: FloatImage,
    band: npt.NDArray[np.bool_],
    unknown: npt.NDArray[np.bool_],
    strand: npt.NDArray[np.bool_],
    band_px: int,
) -> npt.NDArray[np.bool_]:
    """Strand pixels outside the mask and beyond the band (with 1 px around them), within reach of the mask's
    edge and connected to the band's unknown pixels: hair that continues out of the band."""
    inside = (coarse >= 0.5).astype(np.uint8)
    reach = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * (band_px + _strand_reach(band_px)) + 1,) * 2)
    ring = (cv2.dilate(inside, reach) > 0) & (inside == 0) & ~band
    candidates = ring & (cv2.dilate(strand.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    if not candidates.any():
        return candidates
    _, labels = cv2.connectedComponents((candidates | unknown).astype(np.uint8), connectivity=8)
    linked = np.unique(labels[unknown])
    return np.asarray(candidates & np.isin(labels, linked[linked > 0]))


def refine_quality(
    guide: FloatImage, coarse: FloatImage, band: npt.NDArray[np.bool_], band_px: int
) -> FloatImage:
    """Closed-form matting on ``band`` and the strands that leave it, started from the fast result; solved tile by
    tile with overlapping halos."""
    start = refine_fast(guide, coarse, band, band_px)
    # where the guided filter is already sure, the pixel is known: the narrower the unknown band, the better
    # closed-form matting does (Levin et al.'s own trimaps are thin)
    unknown = band & (start > _SURE) & (start < 1.0 - _SURE)
    start = np.where(band & ~unknown, np.round(start), start).astype(np.float32)
    # strands outside the mask: the guided filter (a window of the band's size) averages them away, so the solve
    # starts from, and is pulled towards, the strand's own alpha; beyond the band they are added to the unknowns
    strand, strand_alpha = strands(guide)
    strand &= coarse < 0.5
    start = np.where(unknown & strand, np.maximum(start, strand_alpha), start)
    beyond = _strands_beyond(coarse, band, unknown, strand, band_px)
    start = np.where(beyond, strand_alpha, start).astype(np.float32)
    unknown |= beyond
    solved = band | beyond
    out = start.copy()
    h, w = band.shape
    halo = _quality_halo(band_px)
    for y0 in range(0, h, _TILE):
        for x0 in range(0, w, _TILE):
            core = solved[y0 : y0 + _TILE, x0 : x0 + _TILE]
            if not core.any():
                continue
            rows = slice(max(0, y0 - halo), min(h, y0 + _TILE + halo))
            cols = slice(max(0, x0 - halo), min(w, x0 + _TILE + halo))
            tile = _solve_tile(guide[rows, cols], start[rows, cols], unknown[rows, cols])
            cy, cx = y0 - rows.start, x0 - cols.start
            target = out[y0 : y0 + _TILE, x0 : x0 + _TILE]
            piece = tile[cy : cy + target.shape[0], cx : cx + target.shape[1]]
            target[core] = piece[core]
    return out


def estimate_foreground(image: np.ndarray, alpha: np.ndarray) -> FloatImage:
    """The object's own colour (float32 HxWx3 in [0, 1]) where ``alpha`` is fractional: two blur-fusion passes.

    Where alpha is 1 the colour is the picture's; where it is 0 the colour does not matter (it is the picture's).
    """
    picture = as_guide(image)
    a = as_coarse(alpha, picture.shape[:2])[..., None]
    soft = (a[..., 0] > 0.0) & (a[..., 0] < 1.0)
    if not soft.any():
        return picture
    rows, cols = _crop(soft, 96)
    pic, aa = picture[rows, cols], a[rows, cols]
    fg: np.ndarray = pic
    bg: np.ndarray = pic
    for radius in (90, 6):  # the paper's two passes: a wide one for colour far from known areas, a fine one
        blur_a = _box(aa[..., 0], radius)[..., None]
        blur_f = _box(fg * aa, radius) / (blur_a + 1e-5)
        blur_b = _box(bg * (1.0 - aa), radius) / ((1.0 - blur_a) + 1e-5)
        fg = np.clip(blur_f + aa * (pic - aa * blur_f - (1.0 - aa) * blur_b), 0.0, 1.0)
        bg = blur_b
    out = picture.copy()
    inside = soft[rows, cols]
    out[rows, cols][inside] = fg[inside]
    return out


def refine_alpha(
    image: np.ndarray, mask_or_alpha: np.ndarray, mode: RefineMode | str, band_px: int = 8
) -> FloatImage:
    """Refine a coarse matte against its picture: float32 alpha in [0, 1] at the picture's size.

    ``image``: 8/16-bit or float, grey or RGB(A); ``mask_or_alpha``: boolean mask or float alpha of the same size.
    The band is taken around the coarse matte's 0.5 contour; an empty or full matte has no edge and comes back
    unchanged.
    """
    mode = RefineMode(mode)
    check_band(band_px)
    picture = check_picture(image)
    coarse = as_coarse(mask_or_alpha, picture.shape[:2])
    if mode is RefineMode.OFF:
        return coarse
    band = unknown_band(coarse >= 0.5, band_px)
    if not band.any():
        return coarse
    # only the band's bounding box (and what the filters read around it) is converted and worked on
    margin = 2 * _fast_radius(band_px)
    if mode is RefineMode.QUALITY:
        margin += _quality_halo(band_px) + _strand_reach(band_px)  # strands are followed beyond the band
    rows, cols = _crop(band, margin)
    guide = as_guide(picture[rows, cols])
    refine = refine_fast if mode is RefineMode.FAST else refine_quality
    coarse[rows, cols] = refine(guide, coarse[rows, cols], band[rows, cols], band_px)
    return coarse
