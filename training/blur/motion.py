"""Ground-truth blur-motion fields from kernel second moments.

The motion estimator is supervised with a field ``(e cos 2θ, e sin 2θ, iso)`` per pixel:
blur has no sign (θ and θ + π blur alike), hence the doubled angle. We read it from the
kernel's 2 x 2 covariance ``C`` (second central moments), which has two virtues: it is
defined for *any* kernel (shake, measured, defocus) and it mixes linearly, so a pixel
whose effective kernel is ``Σ w_i k_i`` (blended spatially varying blur, layer
composites) has covariance ``Σ w_i C_i`` exactly (all kernels are centred).

Decomposition: ``C = λ_min I + (λ_max - λ_min) u uᵀ``. The anisotropic part is a line
along ``u`` (angle θ): a uniform line of length L has variance L²/12, so
``extent = sqrt(12 (λ_max - λ_min))`` (≈ L for linear motion). The isotropic part is
reported radius-like: ``iso = 2 sqrt(λ_min)`` (a disk of radius r has variance r²/4 per
axis, so iso ≈ r; a Gaussian gives 2σ; for motion it is the spread across the path).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "constant_field",
    "field_to_rgb",
    "kernel_covariance",
    "motion_from_covariance",
    "motion_from_kernel",
]


def kernel_covariance(k: np.ndarray) -> np.ndarray:
    """2 x 2 covariance ``[[Cxx, Cxy], [Cxy, Cyy]]`` of a kernel in ``(x, y)`` pixels."""
    k = np.asarray(k, np.float64)
    k = k / k.sum()
    h, w = k.shape
    ys, xs = np.mgrid[:h, :w]
    mx, my = (k * xs).sum(), (k * ys).sum()
    dx, dy = xs - mx, ys - my
    cxx, cyy, cxy = (k * dx * dx).sum(), (k * dy * dy).sum(), (k * dx * dy).sum()
    return np.array([[cxx, cxy], [cxy, cyy]])


def motion_from_covariance(cov: np.ndarray) -> np.ndarray:
    """Covariances ``(..., 2, 2)`` to fields ``(..., 3)`` float32 (see module docstring)."""
    cov = np.asarray(cov, np.float64)
    a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
    diff = a - c
    aniso = np.sqrt(diff * diff + 4.0 * b * b)  # λ_max - λ_min
    lam_min = np.maximum(0.5 * (a + c - aniso), 0.0)
    extent = np.sqrt(12.0 * aniso)
    safe = np.where(aniso > 1e-12, aniso, 1.0)
    cos2 = np.where(aniso > 1e-12, diff / safe, 0.0)
    sin2 = np.where(aniso > 1e-12, 2.0 * b / safe, 0.0)
    return np.stack([extent * cos2, extent * sin2, 2.0 * np.sqrt(lam_min)], -1).astype(np.float32)


def motion_from_kernel(k: np.ndarray) -> np.ndarray:
    """Field vector ``[extent cos 2θ, extent sin 2θ, iso]`` (float32, shape (3,)) of a kernel."""
    return motion_from_covariance(kernel_covariance(k))


def constant_field(vec: np.ndarray, height: int, width: int) -> np.ndarray:
    """Broadcast a (3,) field vector to H x W x 3 (uniform blur)."""
    return np.broadcast_to(np.asarray(vec, np.float32), (height, width, 3)).copy()


def field_to_rgb(field: np.ndarray, max_extent: float | None = None) -> np.ndarray:
    """Colour-code a field for viewing: hue = 2θ, value = extent (uint8 RGB).

    The isotropic channel lifts the value too (desaturated), so defocus shows as grey.
    """
    import cv2

    f = np.asarray(field, np.float32)
    ext = np.hypot(f[..., 0], f[..., 1])
    iso = f[..., 2]
    mag = np.hypot(ext, iso)
    scale = max_extent if max_extent else max(float(mag.max()), 1e-6)
    hue = (np.degrees(np.arctan2(f[..., 1], f[..., 0])) % 360.0) / 2.0  # OpenCV hue 0..180
    sat = np.where(mag > 1e-6, ext / np.maximum(mag, 1e-6), 0.0)
    val = np.clip(mag / scale, 0.0, 1.0)
    hsv = np.stack([hue, sat * 255.0, val * 255.0], -1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
