"""The standard sRGB transfer curve (IEC 61966-2-1), for numpy arrays and torch tensors.

Blur happens in linear light (photons add up), so kernels are estimated and images
deconvolved after the inverse curve, and the result is re-encoded afterwards.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

_A = 0.055
_THRESH_SRGB = 0.04045
_THRESH_LIN = 0.0031308


def srgb_to_linear(x: ArrayT) -> ArrayT:
    """Inverse sRGB curve; values are clipped to [0, 1] first (the curve is defined there)."""
    if isinstance(x, torch.Tensor):
        x = x.clamp(0.0, 1.0)
        return torch.where(x <= _THRESH_SRGB, x / 12.92, ((x + _A) / (1 + _A)) ** 2.4)
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= _THRESH_SRGB, x / 12.92, ((x + _A) / (1 + _A)) ** 2.4).astype(np.float32)


def linear_to_srgb(x: ArrayT) -> ArrayT:
    """Forward sRGB curve; values are clipped to [0, 1] first."""
    if isinstance(x, torch.Tensor):
        x = x.clamp(0.0, 1.0)
        return torch.where(
            x <= _THRESH_LIN, x * 12.92, (1 + _A) * x.clamp_min(1e-12) ** (1 / 2.4) - _A
        )
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    out = np.where(x <= _THRESH_LIN, x * 12.92, (1 + _A) * np.maximum(x, 1e-12) ** (1 / 2.4) - _A)
    return out.astype(np.float32)


def linear_slope(x: ArrayT) -> ArrayT:
    """d(linear) / d(sRGB) at sRGB values ``x``: how much the inverse curve stretches a
    small sRGB error, such as the noise of a photo encoded in sRGB."""
    if isinstance(x, torch.Tensor):
        x = x.clamp(0.0, 1.0)
        return torch.where(x <= _THRESH_SRGB, torch.full_like(x, 1 / 12.92),
                           2.4 / (1 + _A) * ((x + _A) / (1 + _A)) ** 1.4)
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    out = np.where(x <= _THRESH_SRGB, 1 / 12.92, 2.4 / (1 + _A) * ((x + _A) / (1 + _A)) ** 1.4)
    return out.astype(np.float32)
