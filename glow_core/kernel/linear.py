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
    """Inverse sRGB curve; values are clipped to [0, 1] first (the curve is defined there).

    numpy arrays go through torch too (no copy): its passes use every thread and run in
    place, where numpy's ran ~8 single-threaded passes (a 12 MP photo 0.46 -> 0.36 s on
    two threads, the same values to 3e-7); the stage converts photos ~30 times. Both
    branches are written into tensors this call made (the clipped copy, the curve), not
    fresh ones: at 12 MP each fresh 144 MB block costs its page faults (0.29 -> 0.18 s,
    the same values bit for bit).
    """
    if isinstance(x, np.ndarray) or not isinstance(x, torch.Tensor):
        return srgb_to_linear(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()
    x = x.clamp(0.0, 1.0)
    curve = (x + _A).mul_(1 / (1 + _A)).pow_(2.4)
    dark = x <= _THRESH_SRGB
    if curve.requires_grad:  # out= does not differentiate: the plain form
        return torch.where(dark, x / 12.92, curve)
    return torch.where(dark, x.div_(12.92), curve, out=curve)


def linear_to_srgb(x: ArrayT) -> ArrayT:
    """Forward sRGB curve; values are clipped to [0, 1] first (numpy through torch, as
    :func:`srgb_to_linear`)."""
    if isinstance(x, np.ndarray) or not isinstance(x, torch.Tensor):
        return linear_to_srgb(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()
    x = x.clamp(0.0, 1.0)
    curve = x.clamp_min(1e-12).pow_(1 / 2.4).mul_(1 + _A).sub_(_A)
    dark = x <= _THRESH_LIN
    if curve.requires_grad:  # out= does not differentiate: the plain form
        return torch.where(dark, x * 12.92, curve)
    return torch.where(dark, x.mul_(12.92), curve, out=curve)


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
