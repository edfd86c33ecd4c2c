"""Batched FFT blur in torch, so training can simulate uniform blur on its device.

Matches :func:`training.blur.kernels.blur_image` (reflect-101 borders, true convolution)
to float32 precision. The image is reflect-padded by the kernel radius and convolved
circularly; with the kernel's centre at the FFT origin, the wrap-around only touches the
padding, which is cropped away.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["blur_batch", "stack_kernels"]


def blur_batch(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Blur ``B x C x H x W`` images with one ``k x k`` kernel each (``B x k x k``, k odd).

    Works on any device and float dtype (computed in float32, returned in the input's
    dtype). Padding is ``reflect`` and needs ``k // 2 < min(H, W)``; larger kernels fall
    back to ``replicate``.
    """
    if images.ndim != 4 or kernels.ndim != 3 or kernels.shape[0] != images.shape[0]:
        raise ValueError("expected images B x C x H x W and kernels B x k x k")
    k = kernels.shape[-1]
    if kernels.shape[-2] != k or k % 2 == 0:
        raise ValueError("kernels must be square with odd size")
    dtype = images.dtype
    x = images.float()
    b, c, h, w = x.shape
    r = k // 2
    mode = "reflect" if r < min(h, w) else "replicate"
    xp = F.pad(x, (r, r, r, r), mode=mode) if r > 0 else x
    hp, wp = xp.shape[-2:]
    kp = torch.zeros(b, hp, wp, device=x.device, dtype=torch.float32)
    kp[:, :k, :k] = kernels.float()
    kp = torch.roll(kp, shifts=(-r, -r), dims=(-2, -1))  # kernel centre at the origin
    out = torch.fft.irfft2(torch.fft.rfft2(xp) * torch.fft.rfft2(kp)[:, None], s=(hp, wp))
    return out[..., r : r + h, r : r + w].to(dtype)


def stack_kernels(
    kernels: Sequence[np.ndarray], device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Zero-pad odd kernels of different sizes to a common size: ``B x k x k`` float32.

    Padding symmetrically keeps each kernel's centre, so the blur is unchanged.
    """
    n = max(int(k.shape[0]) for k in kernels)
    out = np.zeros((len(kernels), n, n), np.float32)
    for i, k in enumerate(kernels):
        p = (n - k.shape[0]) // 2
        out[i, p : p + k.shape[0], p : p + k.shape[1]] = k
    return torch.from_numpy(out).to(device)
