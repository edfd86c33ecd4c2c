"""Are the photo's sharpest edges steeper than the estimated blur allows?

Why: blur spreads every edge. A step of height h blurred by a kernel k rises over the
kernel's extent across it, so its steepest slope is at most h times the peak of the
kernel's profile in that direction; no edge of a photo blurred by k can be steeper. A
blind estimate on a photo with no blur (a sharp but noisy one: the noise reads as blur)
finds a kernel of 15-75 px all the same, and the other acceptance features (residual,
ringing) cannot tell it from a right one, while its strongest edges are 2-4 x steeper than
that kernel permits. Measured (a one-off study, 86 estimates: 54 GoPro frame-averaging
crops, Kodak 01 / 07 / 13 / 19 sharp or shaken by Levin k10, INFWIDE 20 and kair_large 1 at
1 % / 4 % noise): every deconvolution that gained had a ratio of at most 1.75, six that lost
(27 dB in all: sharp noisy photos -2.8 to -8.8 dB, a 77 px estimate on a nearly static GoPro
frame -5.8 dB, wrong 75 px estimates on noisy shaken photos) 2.0-3.7.

The measure: the grey photo smoothed over 3 x 3 (noise), its gradient magnitude at the 2 %
strongest edges among those whose local contrast (max - min within the kernel's radius + 2)
is well above the noise and not clipped, divided by that contrast and by the steepest slope
the same smoothing and gradient give a unit step blurred by the kernel (the steepest of
16 directions); the 90th percentile of that ratio. Taking the steepest direction keeps it
conservative: a thin straight trail leaves the edges along it sharp, so on a sharp photo
such a kernel reads ~1.4-1.7 and passes; only a kernel that spreads every edge (what noise
gets read as) is refused on this ground. Comparing each edge with the kernel's slope in
its own direction would be stronger; not measured.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._resample import box_mean
from .accept import _maxpool
from .config import AcceptConfig
from .fft import conv2_same

__all__ = ["edge_steepness", "kernel_max_slope"]

#: Share of the candidate edge pixels (by gradient) that are judged.
STRONGEST = 0.02
#: Percentile of their ratios that is reported.
PERCENTILE = 0.9


def _slope(t: torch.Tensor) -> torch.Tensor:
    gy, gx = torch.gradient(t)
    return torch.hypot(gx, gy)


def kernel_max_slope(kernel: np.ndarray, directions: int = 16) -> float:
    """The steepest slope of a unit step blurred by ``kernel`` (then smoothed as the photo
    is), over ``directions`` step orientations."""
    k = torch.from_numpy(np.asarray(kernel, dtype=np.float32))
    n = 2 * max(k.shape) + 64
    yy, xx = torch.meshgrid(torch.arange(n) - n / 2, torch.arange(n) - n / 2, indexing="ij")
    inner = (slice(n // 4, n - n // 4),) * 2
    best = 0.0
    for th in np.linspace(0.0, math.pi, directions, endpoint=False):
        step = ((xx * math.cos(th) + yy * math.sin(th)) > 0).float()
        best = max(best, float(_slope(box_mean(conv2_same(step, k)[None], 1)[0])[inner].max()))
    return best


def edge_steepness(grey: np.ndarray, kernel: np.ndarray, noise_sigma: float, *,
                   clipped: float = AcceptConfig.clipped) -> float:
    """The ratio of the module docstring for a grey sRGB photo (H x W in [0, 1]); NaN when
    the photo has too few strong edges to judge (then nothing is judged)."""
    g = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32))
    smooth = box_mean(g[None], 1)[0]  # 3 x 3 mean: the noise
    slope = _slope(smooth)
    r = int(max(kernel.shape)) // 2 + 2
    hi = _maxpool(smooth, r)  # separable: torch's max pooling took 33 s at 12 MP
    lo = -_maxpool(-smooth, r)
    contrast = hi - lo
    ok = (contrast > max(0.15, 10.0 * float(noise_sigma))) & (hi < clipped) & (lo > 1 - clipped)
    ok[:r], ok[-r:], ok[:, :r], ok[:, -r:] = False, False, False, False
    if int(ok.sum()) < 50:
        return float("nan")
    s, c = slope[ok], contrast[ok]
    step = max(1, s.numel() // 2_000_000)  # quantiles of a subsample on big photos
    top = s >= torch.quantile(s[::step], 1.0 - STRONGEST)
    ratio = s[top] / (c[top] * kernel_max_slope(kernel))
    return float(torch.quantile(ratio[::max(1, ratio.numel() // 200_000)], PERCENTILE))
