"""The deconvolution solver as first written: the reference the fast one is tested against.

Why keep it: :func:`glow_core.kernel.deconvolve._solve` was rewritten for speed (table
shrinkage, precomputed per-level spectra, fewer passes over memory); this is the
straightforward form of the same ADMM / half-quadratic splitting, with the iterative
generalised shrinkage, so tests can check that the fast path computes the same thing
(and a benchmark can show what the rewrite gained). Not used by the engine.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._latent import snap_two_tone
from .config import DeconvConfig
from .fft import extend_periodic, gradients, gradients_t, otf_of_gradients, psf2otf

__all__ = ["gst_iterative", "solve_reference"]


def gst_iterative(v: torch.Tensor, tau: float, alpha: float, iters: int = 3) -> torch.Tensor:
    """argmin_w 1/2 (w - v)^2 + tau |w|^alpha by the fixed point of Zuo et al. 2013.

    Zero below the threshold, else ``s = |v| - alpha tau s^(alpha-1)`` from ``s = |v|``
    (three steps: within 0.016 of the converged map at tau = 1, 5e-4 from tau = 0.01).
    """
    if alpha >= 1.0:
        return torch.sign(v) * torch.clamp(v.abs() - tau, min=0.0)
    t0 = (2.0 * tau * (1.0 - alpha)) ** (1.0 / (2.0 - alpha))
    thr = t0 + alpha * tau * t0 ** (alpha - 1.0)
    a = v.abs()
    s = a.clone()
    for _ in range(iters):
        s.clamp_min_(1e-12).pow_(alpha - 1.0).mul_(-alpha * tau).add_(a)
    s.clamp_min_(0.0).masked_fill_(a <= thr, 0.0)
    return torch.copysign(s, v)


def solve_reference(y: torch.Tensor, sat: torch.Tensor | None, kernel: torch.Tensor,
                    lam: float, config: DeconvConfig, margin: int,
                    step: Callable[[], None] | None = None,
                    tones: torch.Tensor | None = None) -> torch.Tensor:
    """Deconvolve linear channels ``y`` (C, H, W); the arguments of ``deconvolve._solve``."""
    c, h, w = y.shape
    yp, (top, left, _, _) = extend_periodic(y, margin)
    hp, wp = yp.shape[-2:]
    dev = y.device
    kotf = psf2otf(kernel, (hp, wp))
    ox, oy = otf_of_gradients((hp, wp), device=dev)
    dd = (ox.abs() ** 2 + oy.abs() ** 2)
    kk = kotf.abs() ** 2
    kconj = kotf.conj()
    rho = lam * config.rho_ratio

    free = config.free_boundary and margin > 0
    use_split = free or (sat is not None and bool(sat.any()))
    valid = torch.zeros((hp, wp), dtype=torch.bool, device=dev)
    valid[top:top + h, left:left + w] = True
    satp = None
    if sat is not None and bool(sat.any()):
        satp = torch.zeros((c, hp, wp), dtype=torch.bool, device=dev)
        satp[:, top:top + h, left:left + w] = sat

    x = yp.clone()
    spec_y = torch.fft.rfft2(yp)
    u = torch.zeros_like(yp) if use_split else None
    z = yp.clone() if use_split else None
    beta = config.beta_start
    while beta <= config.beta_max * (1 + 1e-6):
        for _ in range(config.inner_iters if use_split else 1):
            gx, gy = gradients(x)
            tau = 1.0 / beta
            wx = gst_iterative(gx, tau, config.alpha)
            wy = gst_iterative(gy, tau, config.alpha)
            prior = torch.fft.rfft2(gradients_t(wx, wy))
            dd_i = dd
            if tones is not None and config.intensity_l0 > 0:
                u_i = snap_two_tone(x, (tones[0], tones[1]), 2.0 * config.intensity_l0 / beta)
                prior = prior + torch.fft.rfft2(u_i)
                dd_i = dd + 1.0
            if use_split:
                target = torch.fft.rfft2(z - u)
                num = rho * kconj * target + beta * prior
                den = rho * kk + beta * dd_i
            else:
                num = lam * kconj * spec_y + beta * prior
                den = lam * kk + beta * dd_i
            spec_x = num / den
            x = torch.fft.irfft2(spec_x, s=(hp, wp))
            if use_split:
                kx = torch.fft.irfft2(spec_x * kotf, s=(hp, wp))
                r = config.relaxation  # over-relaxed: k * x -> r k * x + (1 - r) z
                v = r * kx + (1.0 - r) * z + u
                zq = (lam * yp + rho * v) / (lam + rho)
                z = torch.where(valid, zq, v) if free else zq
                if satp is not None:
                    z = torch.where(satp, torch.maximum(v, zq), z)
                u = v - z
            if step is not None:
                step()
        beta *= config.beta_rate
    return x[:, top:top + h, left:left + w]
