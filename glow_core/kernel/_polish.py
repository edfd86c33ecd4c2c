"""The kernel's last polish: re-solved against a deconvolution of its region.

The coarse-to-fine estimate solves the kernel against a cartoon latent (the L0 prior
keeps only salient edges) and thresholds it at 7.5 % of its peak: both are what makes
the search robust, and both cost detail. A real shake trail is thin and much of its
mass lies in faint stretches (a Levin kernel's second stroke, the far side of a loop);
the estimate drops them, and deconvolving with a kernel that misses a quarter of its
mass loses 2-4 dB even at a kernel similarity of 0.9.

Once the kernel is close, a non-blind deconvolution with it is a far better latent than
the cartoon: every gradient is usable, not just the strongest edges. So the polish
alternates a few times: deconvolve the region (grey, linear light, the same solver as
the photo), solve the kernel by least squares against *all* its gradients on a support a
little larger than the estimate's, and clean it with a much lower threshold (the solve
is far less noisy now).

Measured (Kodak 05-12, 1 % noise, out of the sample the estimator was tuned on): on the
two Levin kernels with faint strokes (k09, k10; 16 cases) blind 24.16 -> 25.03 dB against
a 25.54 dB true-kernel Wiener filter, error ratio <= 2 on 62 -> 81 % (4 rounds, 1.5 %
threshold; 2 rounds 24.89; a 0.5 % threshold let noise back in: 23.12). But on compact
kernels the low threshold adds a halo: k11 -0.45 dB (2 rounds) / -0.78 (4), k12 and the
INFWIDE kernels -0.25 (4), so over the 48 cases it is a wash and it is off by default
(``KernelConfig.polish_rounds = 0``) until it can tell the two apart. On the whole
``benchmarks.kernels`` protocol (24 photos, 2 rounds; 134 of the 192 cases) it confirmed
that: k09 -0.01, k10 +0.42, k11 -0.58, k12 -0.38 dB.

**Telling them apart: the re-blur residual.** A polish that helps explains the region
better: deconvolved with the polished kernel and blurred again, the region comes back
closer to the photo. One that hurts does not, though it has more freedom (a longer
support, a lower threshold): it fits a halo or thins the trail, and its residual stays
level or rises. So the polished kernel is kept only when it lowers the residual by
``KernelConfig.polish_min_gain`` (:func:`region_residual`). Measured on the same 64 cases with
the luminance + chroma solver (the photo's deconvolution, its residual in noise sigmas,
:func:`glow_core.kernel.accept.deconvolution_checks`): always polishing +0.08 dB
(k09 +0.82, k10 +0.90, k11 -0.78, k12 -0.17); keeping it where the residual fell by 1-2 %
+0.16 dB (k09 +0.53, k10 +0.49, k11 0.00, k12 +0.13), 2 of 44 polished cases lost more
than 0.1 dB (against 17); every polish that lost over 1 dB raised the residual or kept it
level. (In sample: the rule was read off these cases. On the whole ``benchmarks.kernels``
protocol it gained +0.15 dB a case on them and +0.05 on the 128 cases of the other 16
photos, out of sample: 15 up by over 0.1 dB, 6 down, the worst -0.82.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from ._kernel_solve import clean_kernel, solve_kernel
from .config import DeconvConfig, KernelConfig
from .fft import extend_periodic, gradients


def region_residual(region: np.ndarray, kernel: np.ndarray, noise: float | None = None
                    ) -> float:
    """How well ``kernel`` explains ``region`` (H x W x C sRGB, or H x W): deconvolved with
    the photo's own solver (colour, as the photo will be) and blurred again, the residual
    in noise sigmas, as the acceptance test reads it (interior, near-white lights left out).

    The photo's colour solve, not the polish's grey one: its luminance trusts the data
    sqrt(3) x more, so a kernel's error shows; measured on the 64 cases of the module
    docstring, the grey solve's residual kept 4 polishes that lost (-2.75 dB among them) and
    refused 9 that gained 0.2-1.6 dB.
    """
    from .accept import deconvolution_checks
    from .deconvolve import deconvolve
    from .noise import estimate_noise

    sigma = float(estimate_noise(region)) if noise is None else float(noise)
    latent = deconvolve(region, kernel, noise_sigma=sigma)
    return deconvolution_checks(region, latent, kernel, sigma)["residual"]


def polish_kernel(region: torch.Tensor, kernel: np.ndarray, config: KernelConfig,
                  noise: float, *, grow: int,
                  check: Callable[[], None] | None = None,
                  progress: Callable[[float], None] | None = None) -> np.ndarray:
    """``config.polish_rounds`` alternations on ``region`` (H x W, grey linear light).

    ``kernel``: the estimate (odd square); ``noise``: the region's noise sigma in display
    (sRGB) units, as the photo's deconvolution takes it; ``grow``: pixels added to the
    support (0 keeps a size the user chose). ``check`` runs between rounds (it raises to
    cancel). Returns the polished kernel, ``kernel.shape[0] + grow`` square, centred and
    normalised; whether to keep it is :func:`region_residual`'s to say.
    """
    from .deconvolve import data_weight, deconvolve  # the solver of the photo itself

    size = kernel.shape[0] + grow
    k = torch.from_numpy(np.pad(kernel.astype(np.float32), grow // 2))
    b = region.to("cpu", torch.float32)
    h, w = b.shape
    margin = size + 4
    bp, (top, left, _, _) = extend_periodic(b, margin)
    bx, by = gradients(bp)
    # Only gradients whose whole blur footprint lies inside the region are data.
    valid = torch.zeros_like(bp)
    e = size // 2 + 1
    valid[top + e:top + h - e, left + e:left + w - e] = 1.0
    lin = b.numpy()
    deconv = DeconvConfig()
    deconv = replace(deconv, weight=data_weight(lin[..., None], deconv, noise))
    for r in range(config.polish_rounds):
        if check is not None:
            check()
        latent = deconvolve(lin, k.numpy(), deconv, linear=True)
        xp, _ = extend_periodic(torch.from_numpy(np.ascontiguousarray(latent)), margin)
        px, py = gradients(xp)
        raw, _ = solve_kernel(px * valid, py * valid, bx, by, size, k,
                              config.kernel_tikhonov, config.cg_iters)
        k = clean_kernel(raw, config.polish_threshold, config.speck_mass)
        if progress is not None:
            progress((r + 1) / config.polish_rounds)
    return k.numpy().astype(np.float32)


__all__ = ["polish_kernel", "region_residual"]
