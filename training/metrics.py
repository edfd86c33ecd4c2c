"""Image-quality metrics: PSNR and SSIM on float images in [0, 1].

Both take ``H x W x 3`` (or ``N x H x W x 3``) float arrays with values in [0, 1] and
an optional ``border`` of pixels to ignore on every side: deblurring papers crop the
border because every method (and the simulator's reflected padding) is least certain
there, and a few bad edge rows would otherwise dominate the mean squared error.

SSIM is scikit-image's ``structural_similarity`` (``channel_axis=2, data_range=1.0``,
its defaults otherwise: 7 x 7 uniform window, sample covariance), so numbers compare
with the many papers that use that implementation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["psnr", "ssim"]

# PSNR of two identical images is infinite; report a finite ceiling so that means and
# JSON stay usable (no real restoration reaches it: 1/255 rounding alone gives ~59 dB).
PSNR_CEILING = 100.0


def _prepare(a: np.ndarray, b: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise ValueError(f"expected H x W x 3 or N x H x W x 3 images, got {a.shape}")
    if border < 0:
        raise ValueError("border cannot be negative")
    if border:
        h, w = a.shape[-3], a.shape[-2]
        if 2 * border >= min(h, w):
            raise ValueError(f"border {border} leaves nothing of a {h} x {w} image")
        a = a[..., border : h - border, border : w - border, :]
        b = b[..., border : h - border, border : w - border, :]
    return a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)


def psnr(a: np.ndarray, b: np.ndarray, border: int = 0) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB (peak 1.0); a float, or one value per batch item.

    Identical images give :data:`PSNR_CEILING` rather than infinity.
    """
    x, y = _prepare(a, b, border)
    mse = np.mean((x - y) ** 2, axis=(-3, -2, -1))
    with np.errstate(divide="ignore"):
        value = np.where(mse > 0, 10.0 * np.log10(1.0 / np.maximum(mse, 1e-300)), PSNR_CEILING)
    value = np.minimum(value, PSNR_CEILING)
    return float(value) if value.ndim == 0 else value


def ssim(a: np.ndarray, b: np.ndarray, border: int = 0) -> float | np.ndarray:
    """Mean structural similarity (scikit-image, colour channels averaged)."""
    from skimage.metrics import structural_similarity

    x, y = _prepare(a, b, border)
    if x.ndim == 3:
        return float(structural_similarity(x, y, channel_axis=2, data_range=1.0))
    return np.array(
        [structural_similarity(p, q, channel_axis=2, data_range=1.0) for p, q in zip(x, y)]
    )
