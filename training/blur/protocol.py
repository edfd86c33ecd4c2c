"""The benchmark protocol's blur, shared by ``benchmarks/kernels.py`` and the refiner's
held-out evaluation so both measure on the same blurry photos.

Blur happens in linear light, and a photo's border is not wrapped: the sharp photo is
reflect-padded and convolved in "valid" mode, then re-encoded, given Gaussian noise and
quantised to 8 bits as a camera file would be.
"""

from __future__ import annotations

import numpy as np
import torch

from glow_core.kernel.fft import conv2_same
from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear


def blur_photo(sharp: np.ndarray, kernel: np.ndarray, noise: float = 0.01, seed: int = 0
               ) -> np.ndarray:
    """Linear-light valid convolution of the reflect-padded photo, + noise, 8-bit."""
    lin = torch.from_numpy(srgb_to_linear(sharp)).permute(2, 0, 1).to(torch.float64)
    kh, kw = kernel.shape
    py, px = kh // 2, kw // 2
    padded = torch.nn.functional.pad(lin[None], (px, kw - 1 - px, py, kh - 1 - py),
                                     mode="reflect")[0]
    same = conv2_same(padded, torch.from_numpy(kernel.astype(np.float64)))
    oy, ox = kh - 1 - (kh - 1) // 2, kw - 1 - (kw - 1) // 2
    out = same[:, oy:oy + sharp.shape[0], ox:ox + sharp.shape[1]]
    srgb = linear_to_srgb(out.permute(1, 2, 0).numpy().astype(np.float32))
    srgb = srgb + np.random.default_rng(seed).normal(0.0, noise, srgb.shape)
    return (np.round(np.clip(srgb, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)
