"""Refine edge against ground truth: SAD, MSE, gradient error, ms per 1080p frame, flicker. Prints JSON.

    .venv/bin/python benchmarks/refine_quality.py [--band 8] [--repeats 3]

Composites I = a*F + (1-a)*B are made here with a known alpha at 1920x1080: hair strands on a head, a fur-like
edge, a motion-blurred shape and a soft shadow, over foregrounds and backgrounds cut from the SAM2 demo pictures in
../shared/media. The coarse input is what SAM2 hands over: the true alpha cut at 0.5, reduced to 256 px on its long
side and scaled back (bilinear, cut at 0.5). Measures as on alphamatting.com: SAD = sum |a - gt| / 1000,
MSE = mean (a - gt)^2, gradient error = sum (|grad a| - |grad gt|)^2 / 1000 (Gaussian derivatives, sigma 1.4).
Foreground colour: mean |colour - true F| where the true alpha is soft, frame colour vs estimated.
Flicker: mean |a_t - a_t-1| near a still edge over 30 frames whose picture has sensor noise and whose coarse mask
chatters as SAM2's does (noise on the 256 px decision).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_MEDIA, emit

from roto.matte import MatteOps, MatteSequence
from roto.refine import RefineMode, estimate_foreground, refine_alpha

HEIGHT, WIDTH = 1080, 1920
SAM2_SIDE = 256


def _picture(name: str, flip: bool, shift: int) -> np.ndarray:
    image = cv2.imread(str(SHARED_MEDIA / name))
    if image is None:
        raise SystemExit(f"{SHARED_MEDIA / name}: missing (the benchmark needs the shared demo pictures)")
    image = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    image = np.roll(image[:, ::-1] if flip else image, shift, axis=1)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def _supersampled(draw: Callable[[np.ndarray, int], None], factor: int = 4) -> np.ndarray:
    """Draw at `factor` times the size and average down: exact fractional coverage of thin structures."""
    big = np.zeros((HEIGHT * factor, WIDTH * factor), np.uint8)
    draw(big, factor)
    return cv2.resize(big.astype(np.float32) / 255.0, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def strands(rng: np.random.Generator) -> np.ndarray:
    def draw(big: np.ndarray, f: int) -> None:
        cv2.ellipse(big, (960 * f, 640 * f), (300 * f, 360 * f), 0, 0, 360, 255, -1)
        for _ in range(220):
            angle = rng.uniform(np.pi * 1.05, np.pi * 1.95)
            x, y = 960 + 300 * np.cos(angle), 640 + 360 * np.sin(angle)
            bend = rng.uniform(-0.6, 0.6)
            points = []
            for t in np.linspace(0, 1, 12):
                a = angle + bend * t
                points.append([x + t * 160 * np.cos(a), y + t * 160 * np.sin(a)])
            line = (np.array(points) * f).astype(np.int32)
            cv2.polylines(big, [line], False, 255, max(1, int(rng.uniform(0.6, 2.5) * f)))

    return _supersampled(draw)


def fur(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    angle = np.arctan2(yy - 540, xx - 960)
    radius = np.hypot((xx - 960) / 1.3, yy - 540)
    ripple = sum(rng.uniform(2, 9) * np.sin(k * angle + rng.uniform(0, 6.28)) for k in (37, 91, 173, 311))
    width = 3.0 + 2.5 * (1 + np.sin(7 * angle))  # the soft ramp varies from 3 to 8 px along the edge
    return np.clip((380 + ripple - radius) / width + 0.5, 0.0, 1.0).astype(np.float32)


def motion_blur(rng: np.random.Generator) -> np.ndarray:
    def draw(big: np.ndarray, f: int) -> None:
        cv2.rectangle(big, (600 * f, 300 * f), (1100 * f, 800 * f), 255, -1)
        cv2.circle(big, (1250 * f, 550 * f), 220 * f, 255, -1)

    sharp = _supersampled(draw)
    length = int(rng.integers(18, 30))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 40)), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return np.clip(cv2.filter2D(sharp, -1, kernel / kernel.sum()), 0.0, 1.0)


def soft_shadow(rng: np.random.Generator) -> np.ndarray:
    def body(big: np.ndarray, f: int) -> None:
        cv2.ellipse(big, (900 * f, 420 * f), (180 * f, 300 * f), 0, 0, 360, 255, -1)

    def shade(big: np.ndarray, f: int) -> None:
        cv2.ellipse(big, (1080 * f, 760 * f), (360 * f, 90 * f), -8, 0, 360, 255, -1)

    shadow = cv2.GaussianBlur(_supersampled(shade), (0, 0), float(rng.uniform(6, 12))) * 0.6
    return np.maximum(_supersampled(body), shadow).astype(np.float32)


SHAPES = {"strands": strands, "fur": fur, "motion_blur": motion_blur, "soft_shadow": soft_shadow}
PAIRS = [("truck.jpg", "groceries.jpg"), ("groceries.jpg", "truck.jpg")]


def coarse_from(alpha: np.ndarray, noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """What SAM2 hands over: the alpha cut at 0.5, decided at 256 px on the long side, scaled back up."""
    scale = SAM2_SIDE / max(alpha.shape)
    small_size = (round(alpha.shape[1] * scale), round(alpha.shape[0] * scale))
    small = cv2.resize((alpha >= 0.5).astype(np.float32), small_size, interpolation=cv2.INTER_AREA)
    if noise and rng is not None:
        small = small + rng.normal(0.0, noise, small.shape).astype(np.float32)
    up = cv2.resize(small, (alpha.shape[1], alpha.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.asarray(up >= 0.5)


def _gradient(alpha: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(alpha.astype(np.float64), (0, 0), 1.4)
    return np.hypot(cv2.Sobel(smooth, -1, 1, 0, ksize=3) / 8, cv2.Sobel(smooth, -1, 0, 1, ksize=3) / 8)


def errors(alpha: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    a = alpha.astype(np.float64)
    return {
        "sad": float(np.abs(a - truth).sum() / 1000),
        "mse": float(((a - truth) ** 2).mean()),
        "grad": float(((_gradient(a) - _gradient(truth)) ** 2).sum() / 1000),
    }


def quality(band: int, repeats: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(0)
    modes = ("coarse", "fast", "quality")
    totals = {m: {"sad": 0.0, "mse": 0.0, "grad": 0.0} for m in modes}
    per_case: dict[str, dict] = {}
    times: dict[str, list[float]] = {"fast": [], "quality": []}
    cpu: dict[str, list[float]] = {"fast": [], "quality": []}  # this process's CPU time: honest under load
    for shape_name, make in SHAPES.items():
        truth = make(rng).astype(np.float64)
        coarse = coarse_from(truth)
        for fg_name, bg_name in PAIRS:
            fg = _picture(fg_name, flip=False, shift=0)
            bg = _picture(bg_name, flip=True, shift=300)
            image = (truth[..., None] * fg + (1 - truth[..., None]) * bg).astype(np.float32)
            image8 = np.round(image * 255).astype(np.uint8)  # what a frame decoder hands over
            case = {"coarse": errors(coarse.astype(np.float32), truth)}
            for mode in ("fast", "quality"):
                for _ in range(repeats if mode == "fast" else 1):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    alpha = refine_alpha(image8, coarse, RefineMode(mode), band)
                    times[mode].append((time.perf_counter() - start) * 1000)
                    cpu[mode].append((time.process_time() - start_cpu) * 1000)
                case[mode] = errors(alpha, truth)
            case["foreground"] = foreground_error(image8, alpha, truth, fg)
            per_case[f"{shape_name}/{fg_name[:-4]}-over-{bg_name[:-4]}"] = case
            for m in modes:
                for k in totals[m]:
                    totals[m][k] += case[m][k]
    summary = {
        m: {k: round(v / len(per_case), 6 if k == "mse" else 3) for k, v in totals[m].items()} for m in modes
    }
    summary["foreground"] = {
        k: round(sum(c["foreground"][k] for c in per_case.values()) / len(per_case), 4)
        for k in ("frame_colour", "estimated")
    }
    for m in ("fast", "quality"):
        summary[m]["sad_vs_coarse"] = round(summary[m]["sad"] / summary["coarse"]["sad"] - 1, 3)
        summary[m]["mse_vs_coarse"] = round(summary[m]["mse"] / summary["coarse"]["mse"] - 1, 3)
        summary[m]["ms_per_1080p_frame_median"] = round(float(np.median(times[m])), 1)
        summary[m]["cpu_ms_per_1080p_frame_median"] = round(float(np.median(cpu[m])), 1)
    return summary, per_case


def foreground_error(
    image8: np.ndarray, alpha: np.ndarray, truth: np.ndarray, fg: np.ndarray
) -> dict[str, float]:
    """Mean |colour - true foreground| where the true alpha is soft (0.05-0.95): the frame's own colour (what a
    cut-out carries without estimation) against the colour estimated from the quality mode's alpha."""
    soft = (truth > 0.05) & (truth < 0.95)
    estimated = estimate_foreground(image8, alpha)
    frame = image8.astype(np.float32) / 255
    return {
        "frame_colour": float(np.abs(frame - fg)[soft].mean()),
        "estimated": float(np.abs(estimated - fg)[soft].mean()),
    }


def flicker(band: int, frames: int = 30) -> dict[str, float]:
    """Mean |a_t - a_t-1| near a still edge; also fast mode after reduce chatter (2 frames each side)."""
    rng = np.random.default_rng(1)
    truth = fur(rng)
    fg, bg = _picture("truck.jpg", False, 0), _picture("groceries.jpg", True, 300)
    clean = truth[..., None] * fg + (1 - truth[..., None]) * bg
    near = (
        cv2.dilate(((truth > 0) & (truth < 1)).astype(np.uint8), np.ones((2 * band + 1,) * 2, np.uint8)) > 0
    )
    pictures, masks = [], []
    for _ in range(frames):
        noisy = clean + rng.normal(0.0, 2.0 / 255, clean.shape)
        pictures.append(np.clip(np.round(noisy * 255), 0, 255).astype(np.uint8))
        masks.append(coarse_from(truth, noise=0.08, rng=rng))
    steady = MatteSequence(
        MatteOps(refine=RefineMode.FAST, refine_band_px=band, chatter_frames=2),
        masks.__getitem__,
        frames,
        picture=pictures.__getitem__,
    )
    modes: dict[str, Callable[[int], np.ndarray | None]] = {
        "coarse": lambda t: masks[t].astype(np.float32),
        "fast": lambda t: refine_alpha(pictures[t], masks[t], RefineMode.FAST, band),
        "quality": lambda t: refine_alpha(pictures[t], masks[t], RefineMode.QUALITY, band),
        "fast_after_reduce_chatter_2": steady.alpha,  # every frame has a mask, so never None
    }
    result = {}
    for mode, alpha_of in modes.items():
        previous, change = alpha_of(0), 0.0
        for t in range(1, frames):
            current = alpha_of(t)
            assert current is not None and previous is not None
            change += float(np.abs(current - previous)[near].mean())
            previous = current
        result[mode] = round(change / (frames - 1), 5)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--band", type=int, default=8, help="refine band, pixels each side of the edge")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of fast mode per composite")
    parser.add_argument("--no-flicker", action="store_true", help="skip the 30-frame flicker test")
    args = parser.parse_args()
    summary, per_case = quality(args.band, args.repeats)
    result = {
        "benchmark": "refine_quality",
        "size": f"{WIDTH}x{HEIGHT}",
        "band_px": args.band,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "summary": summary,
        "cases": per_case,
    }
    if not args.no_flicker:
        result["flicker_mean_abs_change"] = flicker(args.band)
    emit(result)


if __name__ == "__main__":
    main()
