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
    intensity: float = 0.0,
    levels: tuple[float, float] | None = None,
) -> torch.Tensor:
    """One L0 latent solve on a periodic canvas.

    ``b`` is the (periodically extended) blurry image, ``b_spec`` its ``rfft2``,
    ``k_otf`` the kernel's OTF and ``dx_otf``/``dy_otf`` the gradient OTFs.

    ``intensity`` > 0 adds Pan et al.'s (2014) text prior ``intensity * lam * ||x||_0`` on
    the intensities, generalised to two tones: the count of pixels not exactly at one of
    ``levels`` (ink, paper; default (0, 1)). Its proximal step snaps a pixel to the nearest
    level when it is within ``sqrt(intensity * lam / beta)``, split with the same ``beta``.
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
        gx.masked_fill_(small, 0.0)  # fresh tensors: in place saves two allocations
        gy.masked_fill_(small, 0.0)
        num2 = torch.fft.rfft2(gradients_t(gx, gy))
        if intensity > 0.0:
            u = snap_two_tone(x, levels or (0.0, 1.0), intensity * lam / beta)
            num2 = num2 + torch.fft.rfft2(u)
            x = torch.fft.irfft2((num1 + beta * num2) / (den_k + beta * (den_d + 1.0)), s=shape)
        else:
            x = torch.fft.irfft2((num1 + beta * num2) / (den_k + beta * den_d), s=shape)
        beta *= kappa
    return x


def snap_two_tone(x: torch.Tensor, levels: tuple[float, float] | torch.Tensor,
                  threshold_sq: float) -> torch.Tensor:
    """Proximal step of the two-tone L0 intensity prior: x, or the nearest level when
    ``(x - level)^2 < threshold_sq``. ``levels`` is (lo, hi), scalars or tensors that
    broadcast against ``x`` (per channel)."""
    lo, hi = levels
    lo_t = torch.as_tensor(lo, dtype=x.dtype, device=x.device)
    hi_t = torch.as_tensor(hi, dtype=x.dtype, device=x.device)
    near = torch.where((x - lo_t).abs() <= (x - hi_t).abs(), lo_t.expand_as(x), hi_t.expand_as(x))
    return torch.where((x - near) ** 2 < threshold_sq, near, x)
