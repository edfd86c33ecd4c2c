"""Motion estimator: the blur's axis, extent and defocus per region, on the latent grid.

Blur has no sign (a streak from left to right looks like one from right to left), so the
direction is encoded as a doubled angle: (extent*cos 2θ, extent*sin 2θ), plus an isotropic
(defocus) size. Values are in pixels divided by :data:`MOTION_SCALE` so the targets are
near unit range; :func:`decode_motion` turns them back into pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from glow_core.config import MotionConfig
from glow_core.models.blocks import NAFBlock, level_window, resample

MOTION_SCALE = 16.0


class MotionEstimator(nn.Module):
    def __init__(self, config: MotionConfig, latent_factor: int) -> None:
        super().__init__()
        self.config = config
        self.latent_factor = latent_factor
        w = config.width
        self.intro = nn.Conv2d(3, w, 3, padding=1, stride=2)
        stages = []
        ch = w
        for level in range(config.depth):
            win = level_window(config.stat_window, level + 1)
            blocks = [NAFBlock(ch, win) for _ in range(config.blocks)]
            stages.append(nn.Sequential(*blocks, nn.Conv2d(ch, ch * 2, 2, stride=2)))
            ch *= 2
        self.stages = nn.Sequential(*stages)
        win = level_window(config.stat_window, config.depth + 1)
        self.head = nn.Sequential(NAFBlock(ch, win), nn.Conv2d(ch, config.out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        feat = self.head(self.stages(self.intro(x)))
        return resample(feat, (h // self.latent_factor, w // self.latent_factor))


def decode_motion(field: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split a B x 3 x h x w field into extent (px), axis angle (radians in [0, π)) and defocus."""
    c2, s2, iso = field[:, 0] * MOTION_SCALE, field[:, 1] * MOTION_SCALE, field[:, 2]
    extent = torch.sqrt(c2 * c2 + s2 * s2)
    angle = torch.remainder(0.5 * torch.atan2(s2, c2), torch.pi)
    return {"extent": extent, "angle": angle, "defocus": iso * MOTION_SCALE}


# ------------------------------------------------------------------ kernels -> motion map
# The kernel stage (glow_core.kernel) estimates the blur itself; its kernels reach the DiT
# through the same 3-channel map the estimator predicts, computed here so that training
# and the engine compute it the same way. Second moments (as the simulator's ground truth,
# training/blur/motion.py): C = λ_min I + (λ_max - λ_min) u uᵀ; a line of length L has
# variance L²/12, so extent = sqrt(12 (λ_max - λ_min)); the isotropic part is reported
# radius-like, 2 sqrt(λ_min) (a disk of radius r has r²/4 per axis). Covariances mix
# linearly, so a blend of regions is the blend of their covariances.


def kernel_covariance(kernel: np.ndarray | torch.Tensor) -> np.ndarray:
    """Covariances ``(..., 2, 2)`` ``[[Cxx, Cxy], [Cxy, Cyy]]`` of kernels ``(..., k, k)``.

    x runs along columns, y along rows (image axes; scipy orientation of the kernel).
    """
    k = np.asarray(kernel.detach().cpu() if isinstance(kernel, torch.Tensor) else kernel,
                   np.float64)
    if k.ndim < 2:
        raise ValueError(f"kernel must be at least 2-D, got shape {k.shape}")
    k = np.clip(k, 0.0, None)
    s = k.sum(axis=(-2, -1), keepdims=True)
    if np.any(s <= 0):
        raise ValueError("kernel must have a positive sum")
    k = k / s
    h, w = k.shape[-2:]
    ys, xs = np.mgrid[:h, :w].astype(np.float64)
    mx = (k * xs).sum(axis=(-2, -1), keepdims=True)
    my = (k * ys).sum(axis=(-2, -1), keepdims=True)
    dx, dy = xs - mx, ys - my
    cxx = (k * dx * dx).sum(axis=(-2, -1))
    cyy = (k * dy * dy).sum(axis=(-2, -1))
    cxy = (k * dx * dy).sum(axis=(-2, -1))
    return np.stack([np.stack([cxx, cxy], -1), np.stack([cxy, cyy], -1)], -2)


def motion_from_covariance(cov: np.ndarray) -> np.ndarray:
    """Covariances ``(..., 2, 2)`` to motion vectors ``(..., 3)`` in PIXELS (not scaled)."""
    cov = np.asarray(cov, np.float64)
    a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
    diff = a - c
    aniso = np.sqrt(diff * diff + 4.0 * b * b)  # λ_max - λ_min
    lam_min = np.maximum(0.5 * (a + c - aniso), 0.0)
    extent = np.sqrt(12.0 * aniso)
    ok = aniso > 1e-12
    safe = np.where(ok, aniso, 1.0)
    cos2 = np.where(ok, diff / safe, 0.0)
    sin2 = np.where(ok, 2.0 * b / safe, 0.0)
    return np.stack([extent * cos2, extent * sin2, 2.0 * np.sqrt(lam_min)], -1)


def kernel_motion_vector(kernel: np.ndarray | torch.Tensor) -> np.ndarray:
    """One kernel (k x k) to its motion vector (3,) in the estimator's units (/ MOTION_SCALE)."""
    return (motion_from_covariance(kernel_covariance(kernel)) / MOTION_SCALE).astype(np.float32)


def _tent(centre: float, half: float, at: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(at - centre) / max(half, 1e-6), 0.0, None)


def kernel_motion_map(kernel: Any, grid: tuple[int, int],
                      image_size: tuple[int, int] | None = None, *,
                      boxes: np.ndarray | None = None,
                      factor: float | None = None) -> torch.Tensor:
    """A kernel or a per-region kernel field as the DiT's motion map, 1 x 3 x h x w.

    ``kernel`` is one of: a k x k kernel (uniform blur: the same vector everywhere); a
    gy x gx x k x k array of region kernels with ``boxes`` (gy x gx x 4: y0, x0, y1, x1
    in pixels) and ``image_size`` (H, W); or a ``glow_core.kernel.KernelField`` (anything
    with ``kernels``, ``boxes``, ``image_size`` and optionally ``uniform`` /
    ``global_kernel``). ``grid`` = (h, w), the latent grid; cell (i, j) covers pixels
    around ((i + 0.5) * factor, (j + 0.5) * factor) with ``factor`` the model's latent
    factor (default: image_size / grid, i.e. an unpadded image). For a padded canvas pass
    its grid and ``factor=config.latent_factor``; cells past the photo take the nearest
    region's kernel.

    Each latent cell takes the covariance blend of the regions that cover its centre,
    weighted by a tent that is 1 at a region's centre and 0 at its edges (so overlapping
    regions hand over smoothly), then the second-moment decomposition. Values are in the
    MotionEstimator's units (extent cos 2θ, extent sin 2θ, defocus size, / MOTION_SCALE).
    """
    gh, gw = int(grid[0]), int(grid[1])
    if hasattr(kernel, "kernels") and hasattr(kernel, "boxes"):
        if getattr(kernel, "uniform", False) and getattr(kernel, "global_kernel", None) is not None:
            return kernel_motion_map(kernel.global_kernel, grid)
        image_size = image_size or tuple(kernel.image_size)
        boxes = np.asarray(kernel.boxes)
        kernel = kernel.kernels
    k = np.asarray(kernel.detach().cpu() if isinstance(kernel, torch.Tensor) else kernel,
                   np.float64)
    if k.ndim == 2:
        vec = kernel_motion_vector(k)
        return torch.from_numpy(np.ascontiguousarray(
            np.broadcast_to(vec[:, None, None], (3, gh, gw)).copy()))[None].float()
    if k.ndim != 4 or boxes is None or image_size is None:
        raise ValueError("a kernel field needs gy x gx x k x k kernels, boxes and image_size")
    cov = kernel_covariance(k).reshape(-1, 2, 2)  # R x 2 x 2
    bx = np.asarray(boxes, np.float64).reshape(-1, 4)
    height, width = float(image_size[0]), float(image_size[1])
    # Latent cell centres in image pixels (the grid may extend past the image: padding).
    fy = float(factor) if factor else height / gh
    fx = float(factor) if factor else width / gw
    ys = (np.arange(gh) + 0.5) * fy
    xs = (np.arange(gw) + 0.5) * fx
    wts = np.zeros((len(bx), gh, gw))
    for r, (y0, x0, y1, x1) in enumerate(bx):
        wy = _tent(0.5 * (y0 + y1), 0.5 * (y1 - y0), ys)
        wx = _tent(0.5 * (x0 + x1), 0.5 * (x1 - x0), xs)
        wts[r] = wy[:, None] * wx[None, :]
    total = wts.sum(0)
    if np.any(total <= 0):  # outside every region: the nearest region's centre
        cy = 0.5 * (bx[:, 0] + bx[:, 2])
        cx = 0.5 * (bx[:, 1] + bx[:, 3])
        d = ((ys[None, :, None] - cy[:, None, None]) ** 2
             + (xs[None, None, :] - cx[:, None, None]) ** 2)
        nearest = np.argmin(d, axis=0)
        empty = total <= 0
        for r in range(len(bx)):
            wts[r][empty & (nearest == r)] = 1.0
        total = wts.sum(0)
    wts /= total
    blended = np.einsum("rhw,rij->hwij", wts, cov)
    vec = motion_from_covariance(blended) / MOTION_SCALE  # h x w x 3
    return torch.from_numpy(np.ascontiguousarray(vec.transpose(2, 0, 1)))[None].float()
