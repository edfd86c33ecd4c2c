"""Batched FFT blur in torch, so training can simulate uniform blur on its device.

Matches :func:`training.blur.kernels.blur_image` (reflect-101 borders, true convolution)
to float32 precision. The image is reflect-padded by the kernel radius and convolved
circularly; with the kernel's centre at the FFT origin, the wrap-around only touches the
padding, which is cropped away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["blur_batch"]


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
