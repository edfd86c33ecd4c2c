"""Latent-image update under an L0 gradient prior, by half-quadratic splitting.

Solves ``min_x ||k * x - b||^2 + lam * ||grad x||_0`` as in Xu et al. 2013 / Pan et al.
2014: alternate a hard threshold on the gradients (the exact L0 proximal step) with a
closed-form FFT solve, doubling the splitting weight ``beta``. The result keeps only
salient step edges, which is what makes the kernel solve well posed.
"""

from __future__ import annotations

import torch

from .fft import gradients, gradients_t


def l0_latent(
    b_spec: torch.Tensor,
    b: torch.Tensor,
    k_otf: torch.Tensor,
    dx_otf: torch.Tensor,
    dy_otf: torch.Tensor,
    lam: float,
    beta_max: float,
    kappa: float,
) -> torch.Tensor:
    """One L0 latent solve on a periodic canvas.

    ``b`` is the (periodically extended) blurry image, ``b_spec`` its ``rfft2``,
    ``k_otf`` the kernel's OTF and ``dx_otf``/``dy_otf`` the gradient OTFs.
    """
    shape = b.shape[-2:]
    num1 = torch.conj(k_otf) * b_spec
    den_k = k_otf.real**2 + k_otf.imag**2
    den_d = dx_otf.real**2 + dx_otf.imag**2 + dy_otf.real**2 + dy_otf.imag**2
    x = b
    beta = 2.0 * lam
    while beta < beta_max:
        gx, gy = gradients(x)
        small = (gx * gx + gy * gy) < (lam / beta)
        gx = gx.masked_fill(small, 0.0)
        gy = gy.masked_fill(small, 0.0)
        num2 = torch.fft.rfft2(gradients_t(gx, gy))
        x = torch.fft.irfft2((num1 + beta * num2) / (den_k + beta * den_d), s=shape)
        beta *= kappa
    return x
