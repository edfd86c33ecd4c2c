"""Uniform blur kernels: linear motion, defocus, Gaussian, measured; centring and blurring.

Conventions shared by the whole simulator (and by the data folder's measured kernels):

- a kernel is a float32 2-D array, non-negative, summing to one, of odd size, whose
  centre pixel ``(size // 2, size // 2)`` is the origin, so that
  ``blurred = scipy.signal.convolve(sharp, k, mode="same")``;
- directions are ``(cos θ, sin θ)`` in ``(x, y)`` image coordinates (x to the right,
  y *down* the rows), θ in radians;
- every kernel is centred on its centroid (first moment zero). A blur that shifts the
  image would force the network to learn a translation that it cannot see; centring keeps
  the blurry input and the sharp target aligned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

__all__ = [
    "MeasuredKernels",
    "augment_kernel",
    "blur_image",
    "center_kernel",
    "defocus_kernel",
    "delta_kernel",
    "gaussian_kernel",
    "kernel_centroid",
    "linear_kernel",
    "load_kernel",
    "normalize_kernel",
    "splat_points",
    "trim_kernel",
]


def normalize_kernel(k: np.ndarray) -> np.ndarray:
    """Clip negatives and scale to unit sum (float32); a blur must conserve energy."""
    k = np.clip(np.asarray(k, dtype=np.float64), 0.0, None)
    s = k.sum()
    if not np.isfinite(s) or s <= 0:
        raise ValueError("kernel has no positive mass")
    return (k / s).astype(np.float32)


def delta_kernel() -> np.ndarray:
    """The identity kernel (1 x 1)."""
    return np.ones((1, 1), np.float32)


def _pad_to_odd_square(k: np.ndarray) -> np.ndarray:
    """Zero-pad to an odd square so a centre pixel exists (measured kernels may be 70x70)."""
    h, w = k.shape
    n = max(h, w)
    n += 1 - n % 2
    out = np.zeros((n, n), k.dtype)
    y0, x0 = (n - h) // 2, (n - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = k
    return out


def kernel_centroid(k: np.ndarray) -> tuple[float, float]:
    """Centroid ``(x, y)`` relative to the centre pixel of an odd-sized kernel."""
    k = np.asarray(k, np.float64)
    h, w = k.shape
    ys, xs = np.mgrid[:h, :w]
    s = k.sum()
    return float((k * xs).sum() / s - (w - 1) / 2), float((k * ys).sum() / s - (h - 1) / 2)


def trim_kernel(k: np.ndarray, rel_eps: float = 1e-7) -> np.ndarray:
    """Crop to the smallest odd square, symmetric about the centre, holding all mass.

    Values below ``rel_eps * max`` (interpolation dust) are zeroed first so they do not
    inflate the support.
    """
    k = _pad_to_odd_square(np.asarray(k, np.float32))
    k = np.where(k > rel_eps * k.max(), k, 0.0).astype(np.float32)
    c = k.shape[0] // 2
    ys, xs = np.nonzero(k)
    r = int(max(np.abs(ys - c).max(), np.abs(xs - c).max()))
    return normalize_kernel(k[c - r : c + r + 1, c - r : c + r + 1])


def center_kernel(k: np.ndarray) -> np.ndarray:
    """Shift a kernel (sub-pixel, bilinear) so its centroid is the centre pixel.

    Linear interpolation moves the first moment by exactly the requested shift and keeps
    the mass (the kernel is padded first), so the result is centred to float precision.
    """
    k = _pad_to_odd_square(normalize_kernel(k))
    cx, cy = kernel_centroid(k)
    if abs(cx) < 1e-4 and abs(cy) < 1e-4:
        return trim_kernel(k)
    pad = int(np.ceil(max(abs(cx), abs(cy)))) + 1
    k = np.pad(k.astype(np.float64), pad)
    k = ndimage.shift(k, (-cy, -cx), order=1, mode="constant", cval=0.0, prefilter=False)
    return trim_kernel(k)


def splat_points(points: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Render points ``(x, y)`` relative to the origin into a kernel by bilinear splatting.

    Bilinear splatting keeps each point's first moment exactly, so a point set with zero
    weighted mean renders to a centred kernel, with sub-pixel accuracy.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    w = np.full(len(pts), 1.0 / len(pts)) if weights is None else np.asarray(weights, float)
    r = int(np.ceil(np.abs(pts).max(initial=0.0))) + 1
    n = 2 * r + 1
    x = pts[:, 0] + r
    y = pts[:, 1] + r
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    acc = np.zeros(n * n)
    for dx, dy, ww in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        acc += np.bincount((y0 + dy) * n + (x0 + dx), weights=w * ww, minlength=n * n)
    return trim_kernel(acc.reshape(n, n))


def linear_kernel(length: float, angle: float, subsample: int = 4) -> np.ndarray:
    """Uniform linear motion of ``length`` px along ``angle`` (radians), sub-pixel exact.

    The segment is sampled at the midpoints of ``subsample`` cells per pixel, so its
    second moment along the axis is ``length**2 / 12`` (to ``1/n**2``), which is what
    :func:`~training.blur.motion.motion_from_kernel` reads back as extent ``length``.
    """
    if length <= 1e-6:
        return delta_kernel()
    n = max(2, int(np.ceil(length * subsample)))
    t = (np.arange(n) + 0.5) / n * length - length / 2
    pts = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return splat_points(pts)


def defocus_kernel(
    radius: float,
    softness: float = 0.0,
    cat_eye: float = 0.0,
    cat_angle: float = 0.0,
) -> np.ndarray:
    """Defocus disk of ``radius`` px (anti-aliased), support radius ``radius + 0.5``.

    ``softness`` in [0, 1] widens the edge ramp inwards (to ``1 + softness * radius``
    px) for lenses with soft bokeh. ``cat_eye`` in [0, 1) truncates the disk by a second,
    offset disk (optical vignetting near the frame corners) along ``cat_angle``; the
    lens-shaped result is recentred on its centroid.
    """
    if radius <= 0.5:
        return delta_kernel()
    r = int(np.ceil(radius)) + 1
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    ramp = 1.0 + softness * radius

    def disk(cx: float, cy: float) -> np.ndarray:
        d = np.hypot(xs - cx, ys - cy)
        return np.clip((radius + 0.5 - d) / ramp, 0.0, 1.0)

    k = disk(0.0, 0.0)
    if cat_eye > 0:
        off = 2.0 * radius * min(cat_eye, 0.95)
        k = np.minimum(k, disk(off * np.cos(cat_angle), off * np.sin(cat_angle)))
        return center_kernel(k)
    return trim_kernel(k)


def gaussian_kernel(
    sigma: float, sigma_minor: float | None = None, angle: float = 0.0, truncate: float = 3.0
) -> np.ndarray:
    """Gaussian with std ``sigma`` along ``angle`` and ``sigma_minor`` across it.

    ``sigma_minor=None`` gives the isotropic kernel. Support is ``truncate * sigma``.
    """
    s1 = max(float(sigma), 1e-3)
    s2 = s1 if sigma_minor is None else max(float(sigma_minor), 1e-3)
    r = max(1, int(np.ceil(truncate * max(s1, s2))))
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    c, s = np.cos(angle), np.sin(angle)
    u = c * xs + s * ys
    v = -s * xs + c * ys
    k = np.exp(-0.5 * ((u / s1) ** 2 + (v / s2) ** 2))
    k[np.hypot(xs, ys) > truncate * max(s1, s2) + 0.5] = 0.0
    return trim_kernel(k)


def augment_kernel(
    k: np.ndarray, angle_deg: float = 0.0, scale: float = 1.0, flip: bool = False
) -> np.ndarray:
    """Rotate (degrees, counter-clockwise on screen), scale and optionally mirror a kernel.

    Measured kernels are few; rotating and scaling them multiplies their variety while
    keeping their real, irregular shape. The result is renormalised and recentred.
    """
    k = _pad_to_odd_square(normalize_kernel(k))
    if flip:
        k = k[:, ::-1]
    n = k.shape[0]
    out_n = int(np.ceil(n * max(scale, 1.0) * 1.5)) | 1
    pad = (out_n - n) // 2
    kp = np.pad(k, pad)
    c = (kp.shape[0] - 1) / 2
    m = cv2.getRotationMatrix2D((c, c), angle_deg, scale)
    warped = cv2.warpAffine(
        kp, m, kp.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    if warped.sum() <= 0:  # scaled far below a pixel: the blur vanishes
        return delta_kernel()
    return center_kernel(warped)


def load_kernel(path: str | Path) -> np.ndarray:
    """Load a ``.npy`` kernel, make it odd-sized, normalised and centred."""
    return center_kernel(np.load(Path(path)).astype(np.float32))


class MeasuredKernels:
    """A bank of kernels loaded from files (e.g. ``data/kernels/*/*.npy``), augmented.

    ``MeasuredKernels.from_root(root)`` globs ``root/*/*.npy``. Kernels are loaded once.
    """

    def __init__(self, files: Iterable[str | Path]):
        self.files: list[Path] = sorted(Path(f) for f in files)
        self.kernels: list[np.ndarray] = [load_kernel(f) for f in self.files]

    @classmethod
    def from_root(cls, root: str | Path) -> MeasuredKernels:
        return cls(Path(root).glob("*/*.npy"))

    def __len__(self) -> int:
        return len(self.kernels)

    def sample(
        self,
        rng: np.random.Generator,
        scale_range: Sequence[float] = (0.6, 1.4),
        rotate: bool = True,
        max_size: int | None = None,
    ) -> np.ndarray:
        """A random kernel, randomly rotated, scaled and mirrored.

        ``max_size`` caps the output size by shrinking further (small crops cannot hold a
        70 px kernel).
        """
        if not self.kernels:
            raise ValueError("no measured kernels loaded")
        k = self.kernels[int(rng.integers(len(self.kernels)))]
        angle = float(rng.uniform(0, 360)) if rotate else 0.0
        scale = float(rng.uniform(*scale_range))
        flip = bool(rng.random() < 0.5)
        if max_size is not None:
            scale = min(scale, max_size / (k.shape[0] * 1.05))
        out = augment_kernel(k, angle, scale, flip)
        if max_size is not None and out.shape[0] > max_size:
            out = augment_kernel(out, 0.0, max_size / (out.shape[0] + 2.0))
        return out


def blur_image(image: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Convolve an H x W (x C) float image with a kernel, reflect (101) borders.

    Equals ``scipy.signal.convolve(image, k, mode="same")`` away from the borders;
    reflecting (rather than zero-padding) avoids dark frames around training crops.
    cv2 correlates, hence the flip; it switches to a DFT for large kernels by itself.
    """
    img = np.ascontiguousarray(image, dtype=np.float32)
    k = np.ascontiguousarray(np.asarray(k, np.float32)[::-1, ::-1])
    if k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError("kernel size must be odd")
    out = cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT_101)
    return out.reshape(img.shape)
