"""The benchmark protocol's blur, shared by ``benchmarks/kernels.py`` and the refiner's
held-out evaluation so both measure on the same blurry photos.

Blur happens in linear light, and a photo's border is not wrapped: the sharp photo is
reflect-padded and convolved in "valid" mode, then re-encoded, given Gaussian noise and
quantised to 8 bits as a camera file would be.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from glow_core.kernel.fft import conv2_same
from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear

from .spatial import blend_weights

__all__ = ["blur_photo", "blur_photo_varying", "varying_kernel_at"]


def _blur_linear(lin: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """C x H x W linear light convolved with ``kernel``, the border reflect-padded."""
    kh, kw = kernel.shape
    py, px = kh // 2, kw // 2
    padded = torch.nn.functional.pad(lin[None], (px, kw - 1 - px, py, kh - 1 - py),
                                     mode="reflect")[0]
    same = conv2_same(padded, torch.from_numpy(kernel.astype(np.float64)))
    oy, ox = kh - 1 - (kh - 1) // 2, kw - 1 - (kw - 1) // 2
    return same[:, oy:oy + lin.shape[1], ox:ox + lin.shape[2]]


def _camera(lin: torch.Tensor, noise: float, seed: int) -> np.ndarray:
    """C x H x W linear light -> an 8-bit sRGB photo with Gaussian noise, as float32."""
    srgb = linear_to_srgb(lin.permute(1, 2, 0).numpy().astype(np.float32))
    srgb = srgb + np.random.default_rng(seed).normal(0.0, noise, srgb.shape)
    return (np.round(np.clip(srgb, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _linear(sharp: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(srgb_to_linear(sharp)).permute(2, 0, 1).to(torch.float64)


def blur_photo(sharp: np.ndarray, kernel: np.ndarray, noise: float = 0.01, seed: int = 0
               ) -> np.ndarray:
    """Linear-light valid convolution of the reflect-padded photo, + noise, 8-bit."""
    return _camera(_blur_linear(_linear(sharp), kernel), noise, seed)


def blur_photo_varying(sharp: np.ndarray, kernels: Sequence[np.ndarray],
                       grid: tuple[int, int], noise: float = 0.01, seed: int = 0
                       ) -> np.ndarray:
    """A blur that changes across the frame: ``kernels`` (row-major on a ``grid`` of
    knots spread from edge to edge) blended smoothly in linear light, the efficient-filter-
    flow model (:func:`training.blur.spatial.blend_weights`); then noise and 8 bits as
    :func:`blur_photo`. The kernel at a pixel is :func:`varying_kernel_at`'s."""
    lin = _linear(sharp)
    h, w = sharp.shape[:2]
    weights = torch.from_numpy(blend_weights(h, w, grid)).to(torch.float64)
    out = sum(wt[None] * _blur_linear(lin, k) for k, wt in zip(kernels, weights, strict=True))
    return _camera(out, noise, seed)


def varying_kernel_at(kernels: Sequence[np.ndarray], grid: tuple[int, int],
                      size: tuple[int, int], y: float, x: float) -> np.ndarray:
    """The effective kernel of :func:`blur_photo_varying` at pixel (y, x) of an
    ``size`` = (height, width) photo (the kernels must share one shape)."""
    weights = blend_weights(*size, grid)[:, int(y), int(x)]
    k = sum(float(wt) * np.asarray(kk, np.float64) for kk, wt in zip(kernels, weights, strict=True))
    return (k / k.sum()).astype(np.float32)
