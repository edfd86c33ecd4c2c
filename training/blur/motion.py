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

from glow_core.models.motion import kernel_covariance
from glow_core.models.motion import motion_from_covariance as _motion_from_covariance

__all__ = [
    "constant_field",
    "field_to_rgb",
    "kernel_covariance",
    "motion_from_covariance",
    "motion_from_kernel",
]


def motion_from_covariance(cov: np.ndarray) -> np.ndarray:
    """Covariances ``(..., 2, 2)`` to fields ``(..., 3)`` float32 (see module docstring).

    The decomposition is the engine's (:mod:`glow_core.models.motion`), so what the
    estimator is trained on and the kernel field the engine hands the DiT agree exactly.
    """
    return _motion_from_covariance(cov).astype(np.float32)


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
