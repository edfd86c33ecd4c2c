"""The deconvolution's inner solver: ADMM data split + half-quadratic prior split.

The model and why it is split this way: :mod:`glow_core.kernel.deconvolve`. This module
is the same iteration as :func:`glow_core.kernel._deconv_reference.solve_reference`,
written for speed. Profiled on the CPU (1 MP window, 3 channels, 2 threads) every step
is an elementwise pass over a few MB of floats or an FFT, and such passes are bound by
memory bandwidth, so what costs is their *number*:

* the generalised shrinkage is a table lookup (:mod:`._shrink`): 3 passes (a table of
  shrunk values: scale-and-offset, int32, gather; the range is known from the min / max
  pass that also spots an all-zero level) instead of ~18 with three ``pow``; at a level
  where every gradient is shrunk to 0 (beta = 2) the prior term is skipped, and with it
  one FFT;
* everything that depends only on the level (``1 / (rho |K|^2 + beta |D|^2)``, the data
  numerator of the unsplit solve) is computed once per level, not per iteration, and the
  x update is one multiply-add in the spectrum;
* gradients and their adjoint are slice differences, not ``roll`` copies;
* the z / u update of the data split is two passes, in place (without clipped pixels:
  ``u = a_y (v - y)``, ``z - u = (a_v - a_y) v + 2 a_y y`` on the measured pixels; the
  margin's z is ``k * x + u`` and its u stays 0);
* all channels go through each FFT together (one batched ``rfft2``), on even 2-3-5
  sizes (:func:`fft.fast_size`: odd ones are up to 1.5x slower in MKL);
* the split is over-relaxed (``config.relaxation``, Boyd et al. 2011, sec. 3.4.3): the
  z-update sees ``r k * x + (1 - r) z`` instead of ``k * x``, two passes more per
  iteration for fewer iterations (3 per level instead of 4, and a better result).

Where the time goes (torch profiler, one thread, 1 MP window of the benchmark photo):
per split iteration 4 batched FFTs are ~40 % (the inverse real FFT copies its input
first: ~a third of its time), the elementwise passes of the prior (differences, two
lookups, adjoint) most of the rest. Fresh temporaries cost page faults too: glibc
unmapped every freed ~30 MB block, so each iteration re-faulted and re-zeroed its
temporaries (1.1 s of system time per 1.5k-px solve); :mod:`._memory` keeps them.
Measured with ``benchmarks/kernel_speed.py`` (one thread, CPU seconds, a shared machine)
on the 12 MP benchmark photo: deconvolution 8.42 -> 6.10 CPU s/MP, the whole blind
stage 9.54 -> 6.85 (114 -> 82 CPU s), peak 2.1 GB unchanged; the Kodak ceiling of
``benchmarks/kernels.py`` the same to 0.01 dB on all 32 photo x kernel pairs.

Tried and dropped (measured, 12 MP and Kodak): windows away from the photo's border
without the free boundary. (1) The split done in the spectrum (z and u are linear and
shift-invariant without a mask: the same iterates, 2 FFTs per iteration instead of 4)
is only ~20 % cheaper per iteration; a free-boundary ring along the border (~3 MP of
split windows at 12 MP) eats that; and a periodic window needs ~3.5 kernels of context
(not 2.5) for its cut to fade as much as a free-boundary one's. (2) The unsplit
half-quadratic solve (one FFT solve per level, ~4x cheaper) reaches a different image:
with two iterations per level -0.7 dB (kodim04, smooth) to +0.3 dB (DIV2K 0803,
textured) against the split, with one -1.8 / -0.3 dB, and no lower data weight suits
both kinds (x 0.3-0.5: +0.5 dB on kodim04, -0.6 to -1.8 dB on kodim01 / 03). (3)
Imputing the free margin once per level instead of the split: -1.6 dB at kodim04's
border. The ringing blend's second solve (a third of the iterations) stays: with the
true kernel its mask covers 35-60 % of a window.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._latent import snap_two_tone
from ._shrink import all_shrunk, peak, shrink, shrink_table
from .config import DeconvConfig
from .fft import extend_periodic, psf2otf

__all__ = ["beta_levels", "diff_t", "diffs", "gradient_power", "solve"]


def diffs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Circular forward differences ``(dx, dy)`` of (..., H, W), as :func:`fft.gradients`."""
    dx = torch.empty_like(x)
    dy = torch.empty_like(x)
    torch.sub(x[..., 1:], x[..., :-1], out=dx[..., :-1])
    torch.sub(x[..., :1], x[..., -1:], out=dx[..., -1:])
    torch.sub(x[..., 1:, :], x[..., :-1, :], out=dy[..., :-1, :])
    torch.sub(x[..., :1, :], x[..., -1:, :], out=dy[..., -1:, :])
    return dx, dy


def diff_t(dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`diffs` (as :func:`fft.gradients_t`); overwrites nothing."""
    out = torch.empty_like(dx)
    torch.sub(dx[..., :-1], dx[..., 1:], out=out[..., 1:])
    torch.sub(dx[..., -1:], dx[..., :1], out=out[..., :1])
    out[..., 1:, :].add_(dy[..., :-1, :]).sub_(dy[..., 1:, :])
    out[..., :1, :].add_(dy[..., -1:, :]).sub_(dy[..., :1, :])
    return out


def gradient_power(shape: tuple[int, int], device: torch.device) -> torch.Tensor:
    """``|Dx|^2 + |Dy|^2`` on the rfft2 grid, in closed form (``|e^(2 pi i f) - 1|^2 =
    4 sin^2(pi f)``): real, no complex OTFs to build."""
    h, w = shape
    fy = torch.fft.fftfreq(h, device=device, dtype=torch.float32)
    fx = torch.fft.rfftfreq(w, device=device, dtype=torch.float32)
    return (4 * torch.sin(math.pi * fy) ** 2)[:, None] + (4 * torch.sin(math.pi * fx) ** 2)[None, :]


def beta_levels(config: DeconvConfig) -> list[float]:
    """The continuation's betas: ``beta_start`` x ``beta_rate`` up to ``beta_max``."""
    betas, beta = [], config.beta_start
    while beta <= config.beta_max * (1 + 1e-6):
        betas.append(beta)
        beta *= config.beta_rate
    return betas


def solve(y: torch.Tensor, sat: torch.Tensor | None, kernel: torch.Tensor,
          lam: float, config: DeconvConfig, margin: int,
          step: Callable[[], None] | None = None, tones: torch.Tensor | None = None,
          weight: torch.Tensor | None = None) -> torch.Tensor:
    """Deconvolve linear channels ``y`` (C, H, W); returns (C, H, W).

    ``lam``: the data weight; ``weight`` (C, H, W), optional: each pixel's data weight
    relative to it (channels of different noise, such as luminance and chroma, noise
    that varies with the level; 0 = no data term, such as a chroma value that clipping
    made meaningless). ``sat`` (C, H, W) bool marks clipped blurry pixels (one-sided
    data term); ``margin``: the periodic extension (and, with ``config.free_boundary``,
    the band of unknown latent pixels) on each side. ``tones`` (2, C, 1, 1): ink /
    paper levels of the text prior (used when ``config.intensity_l0 > 0``). ``step`` is
    called per iteration.
    """
    c, h, w = y.shape
    yp, (top, left, _, _) = extend_periodic(y, margin, even=True)
    hp, wp = yp.shape[-2:]
    dev = y.device
    kotf = psf2otf(kernel, (hp, wp))
    kk = kotf.real ** 2 + kotf.imag ** 2
    dd = gradient_power((hp, wp), dev)
    text = tones is not None and config.intensity_l0 > 0
    if text:
        dd = dd + 1.0  # the two-tone split adds beta * I to the normal equations
    rho = lam * config.rho_ratio
    has_sat = sat is not None and bool(sat.any())
    free_border = config.free_boundary and margin > 0
    use_split = free_border or has_sat or weight is not None
    table = shrink_table(config.alpha, dev) if config.alpha < 1.0 else None
    relax = config.relaxation
    x = yp
    if use_split:
        # Data split: z = k * x where the blurry pixel is a measurement (the valid
        # window; all of it without the free boundary), z = k * x + u (u = 0) elsewhere.
        # z = a_v v + a_y y there, with the shares a_y = lam_i / (lam_i + rho) of the
        # pixel's weight (rho is proportional to lam, so without ``weight`` they are the
        # same for every channel and pixel).
        if free_border:
            inner = (slice(None), slice(top, top + h), slice(left, left + w))
        else:
            inner = (slice(None),) * 3
            pads = (left, wp - w - left, top, hp - h - top)
            sat = torch.nn.functional.pad(sat, pads) if has_sat else None
            weight = None if weight is None else \
                torch.nn.functional.pad(weight, pads, mode="replicate")
        if weight is None:
            a_y: float | torch.Tensor = 1.0 / (1.0 + config.rho_ratio)
            a_v: float | torch.Tensor = config.rho_ratio / (1.0 + config.rho_ratio)
        else:
            a_y = weight / (weight + config.rho_ratio)
            a_v = 1.0 - a_y
        ly = yp[inner] * a_y
        nly = -ly  # for the 2-pass update below
        rk = kotf.conj() * rho
        z = yp.clone()
        u = torch.zeros_like(yp)
        zmu = z  # z - u
    else:
        lky = torch.fft.rfft2(yp).mul_(kotf.conj() * lam)
    for beta in beta_levels(config):
        tau = 1.0 / beta
        if use_split:
            inv_den = (kk * rho).add_(dd, alpha=beta).reciprocal_()
            a_t = rk * inv_den
        else:
            inv_den = (kk * lam).add_(dd, alpha=beta).reciprocal_()
            data = lky * inv_den
        b_p = inv_den.mul_(beta)
        for _ in range(config.inner_iters if use_split else 1):
            r = _prior(x, tau, config, table)
            if text:
                snap = snap_two_tone(x, (tones[0], tones[1]), 2.0 * config.intensity_l0 / beta)
                r = snap if r is None else r.add_(snap)
            # Nothing shrunk through (low beta): the prior adds no spectrum, one FFT less.
            if use_split:
                zs = torch.fft.rfft2(zmu)
                spec = zs.mul_(a_t) if r is None else \
                    torch.fft.rfft2(r).mul_(b_p).addcmul_(a_t, zs)
            else:  # irfft2 leaves its input alone: ``data`` is reused as it is
                spec = data if r is None else torch.fft.rfft2(r).mul_(b_p).add_(data)
            x = torch.fft.irfft2(spec, s=(hp, wp))
            if use_split:
                v = torch.fft.irfft2(spec.mul_(kotf), s=(hp, wp))
                if relax == 1.0:
                    v.add_(u)
                else:  # over-relaxed k * x: r k * x + (1 - r) z, with z = (z - u) + u
                    v.mul_(relax).add_(zmu, alpha=1.0 - relax).add_(u, alpha=2.0 - relax)
                vi = v[inner]
                if not has_sat:
                    # u = v - z = a_y v - a_y y and z - u = v - 2 u on the measured
                    # pixels: two passes, in place in v (z = v, u = 0 on the margin: u
                    # stays 0 there, z - u is v).
                    if weight is None:
                        torch.add(nly, vi, alpha=a_y, out=u[inner])
                    else:
                        torch.addcmul(nly, vi, a_y, out=u[inner])
                    vi.add_(u[inner], alpha=-2.0)
                    zmu = v
                else:
                    z = v.clone()
                    zi = z[inner]
                    zi.mul_(a_v).add_(ly)
                    # One-sided: a clipped pixel only binds when k * x falls below it.
                    zi.copy_(torch.where(sat, torch.maximum(vi, zi), zi))
                    torch.sub(v, z, out=u)
                    zmu = z.sub_(u)
            if step is not None:
                step()
    return x[:, top:top + h, left:left + w]


def _prior(x: torch.Tensor, tau: float, config: DeconvConfig, table: torch.Tensor | None
           ) -> torch.Tensor | None:
    """``D^T w`` with ``w`` the shrunk gradients of ``x``; None when all of it is 0."""
    gx, gy = diffs(x)
    mx, my = peak(gx), peak(gy)
    if all_shrunk(mx, tau, config.alpha) and all_shrunk(my, tau, config.alpha):
        return None
    return diff_t(shrink(gx, tau, config.alpha, table, vmax=mx),
                  shrink(gy, tau, config.alpha, table, vmax=my))
