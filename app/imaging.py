"""Pure helpers between numpy images and Qt, and the geometry of the motion overlay.

Kept free of widgets so they can be tested directly and reused by the screenshot tool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QColor, QImage


def to_qimage(pixels: np.ndarray) -> QImage:
    """float32 H x W x 3 in [0, 1] -> an 8-bit RGB QImage that owns its memory."""
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    arr = np.clip(pixels[..., :3] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    arr = np.ascontiguousarray(arr)
    h, w, _ = arr.shape
    image = QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy()  # detach from the numpy buffer


def qimage_to_array(image: QImage) -> np.ndarray:
    """QImage -> uint8 H x W x 3 (for tests and the screenshot tool)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    ptr = image.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=image.sizeInBytes())
    arr = arr.reshape(h, image.bytesPerLine())[:, : w * 3]
    return arr.reshape(h, w, 3).copy()


@dataclass(frozen=True)
class MotionSegment:
    """One drawn element of the motion overlay, in image pixel coordinates."""

    cx: float
    cy: float
    dx: float  # half-length vector along the blur axis
    dy: float
    extent: float  # pixels of linear blur
    defocus: float  # pixels of isotropic blur


def latent_cell(image_h: int, image_w: int, grid_h: int, grid_w: int) -> float:
    """Pixels per motion-grid cell.

    The engine pads the image to a multiple of the latent factor, so the ratio is a little
    under the true factor for odd sizes; rounding recovers it.
    """
    ratio = max(image_h / max(grid_h, 1), image_w / max(grid_w, 1))
    return float(max(1, round(ratio)))


def motion_segments(motion: np.ndarray, image_h: int, image_w: int, *,
                    min_cell_px: float = 1.0, stride: int = 1) -> list[MotionSegment]:
    """Turn the engine's motion field into axis segments centred on each cell.

    ``motion[..., 0:2]`` is extent*cos 2θ, extent*sin 2θ: blur has no sign, so the angle is
    doubled; we halve it back and draw a segment (not an arrow) of half-length
    extent / 2 along θ, centred on the cell.
    """
    if motion.ndim != 3 or motion.shape[2] < 2:
        raise ValueError(f"motion field must be h x w x 3, got {motion.shape}")
    gh, gw = motion.shape[:2]
    cell = latent_cell(image_h, image_w, gh, gw)
    if motion.shape[2] < 3:
        motion = np.concatenate([motion, np.zeros((gh, gw, 1), motion.dtype)], axis=2)
    segments: list[MotionSegment] = []
    for gy in range(0, gh, stride):
        for gx in range(0, gw, stride):
            # Averaging the doubled-angle vectors is the right mean for axes: opposite
            # directions of the same axis agree, crossing axes cancel.
            block = motion[gy:gy + stride, gx:gx + stride, :3].reshape(-1, 3).mean(axis=0)
            c, s, defocus = float(block[0]), float(block[1]), float(block[2])
            extent = math.hypot(c, s)
            theta = 0.5 * math.atan2(s, c)
            ny, nx = min(stride, gh - gy), min(stride, gw - gx)
            cx = (gx + nx / 2) * cell
            cy = (gy + ny / 2) * cell
            if cx > image_w or cy > image_h:
                continue
            half = extent / 2.0
            segments.append(MotionSegment(cx, cy, half * math.cos(theta), half * math.sin(theta),
                                          extent, max(defocus, 0.0)))
    return segments


def extent_colour(extent: float, max_extent: float) -> QColor:
    """Cool-to-hot ramp: short blur cyan, long blur orange-red."""
    t = 0.0 if max_extent <= 0 else min(1.0, extent / max_extent)
    stops = [(0.0, (80, 200, 255)), (0.5, (255, 230, 90)), (1.0, (255, 80, 60))]
    for (t0, c0), (t1, c1) in zip(stops, stops[1:], strict=False):
        if t <= t1:
            u = (t - t0) / (t1 - t0)
            return QColor(*(int(a + (b - a) * u) for a, b in zip(c0, c1, strict=True)))
    return QColor(*stops[-1][1])


def format_duration(seconds: float | None) -> str:
    """``0:07`` / ``1:02:03``; an em dash for unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_bytes(n: int | float | None) -> str:
    if n is None:
        return "—"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class EtaClock:
    """Elapsed and remaining time from a fraction done.

    Why not a straight linear extrapolation from the start: the first moments include
    model warm-up, so we wait for a little progress before promising anything.
    """

    def __init__(self, now: float) -> None:
        self.start = now
        self.fraction = 0.0
        self.now = now

    def update(self, fraction: float, now: float) -> None:
        self.fraction = min(max(fraction, 0.0), 1.0)
        self.now = now

    @property
    def elapsed(self) -> float:
        return max(0.0, self.now - self.start)

    @property
    def remaining(self) -> float | None:
        if self.fraction < 0.02 or self.elapsed < 0.2:
            return None
        return self.elapsed * (1.0 - self.fraction) / self.fraction
