"""The blur kernel of a real (blurry, sharp) pair, fitted with the sharp photo known.

Real captures come without a true kernel, so a blind result on them could only be scored
against its input, never against a ceiling. But where the sharp photo is at hand the
kernel that best turns it into the blurry one is a least-squares problem, not a blind
one: every gradient of the sharp photo constrains it (Levin et al. 2009 measured their
"ground truth" kernels this way, from a calibration pattern). That fitted kernel gives
real blur what synthetic blur has:

* a **ceiling**: the same deconvolution given the fitted kernel;
* how far **one kernel explains** the crop at all (the fitted kernel re-blurs the sharp
  photo to within ``fit_psnr`` of the blurry one: high where the blur is one uniform
  shake, low where subjects move or depth varies), so a blind loss can be laid on the
  estimator or on the model;
* how well the **blind estimate explains** the blur (``explained_psnr``: the sharp photo
  re-blurred by the estimate at its best shift, against the blurry one).

All in linear light, where blur is a convolution (the tone curve undone as the stage does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import binary_dilation

from glow_core.kernel._image import grey
from glow_core.kernel._kernel_solve import normal_equations, ridge_weight, solve_normal
from glow_core.kernel.fft import conv2_same, gradients, kernel_centre
from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear


@dataclass(frozen=True)
class PairFitConfig:
    """How the kernel is fitted; each default with its reason."""

    #: Support side (odd). The frame-averaged GoPro blurs reach ~40 px; a larger support
    #: costs nothing but CG iterations, and the threshold clears what it does not need.
    size: int = 61
    #: Tikhonov weight relative to the gradients' energy: the sharp photo's gradients
    #: are known, so the solve is well posed and needs only a touch.
    tikhonov: float = 1e-4
    iters: int = 300
    #: Values under a share of the peak are the solve's noise; of these shares the one
    #: whose kernel re-blurs the sharp photo closest to the blurry one is kept (a gradient
    #: fit leaves the kernel's low frequencies loose: at 3 % a haze of small values held a
    #: sixth to a third of the mass and re-blurred dead leaves at 22-26 dB against 45 for
    #: the true kernel; 10-20 % gave 43.5-45.3). No speck pruning: a frame-averaged blur
    #: is a few separate dots when the camera moves fast.
    thresholds: tuple[float, ...] = (0.05, 0.1, 0.2)


def _linear_grey(image: np.ndarray) -> torch.Tensor:
    return grey(torch.from_numpy(np.ascontiguousarray(image, np.float32)), linear=False)[0]


def _solve_on(support: np.ndarray, auto: torch.Tensor, rhs: torch.Tensor,
              gamma: float) -> np.ndarray:
    """The least-squares kernel with every value outside ``support`` held at zero."""
    size = support.shape[0]
    ys, xs = np.nonzero(support)
    dy = ys[:, None] - ys[None, :] + size - 1
    dx = xs[:, None] - xs[None, :] + size - 1
    a = auto[torch.from_numpy(dy), torch.from_numpy(dx)]
    a = a + gamma * torch.eye(len(ys), dtype=a.dtype)
    k = np.zeros(support.shape)
    k[ys, xs] = torch.linalg.solve(a, rhs[torch.from_numpy(ys), torch.from_numpy(xs)]).numpy()
    return k


def fit_kernel(blurry: np.ndarray, sharp: np.ndarray,
               config: PairFitConfig = PairFitConfig()) -> np.ndarray:
    """The ``size x size`` kernel (scipy orientation, sum 1, not re-centred: the pair's
    alignment is kept) that best blurs ``sharp`` into ``blurry`` (H x W x 3 sRGB).

    A least-squares solve over the whole support, then again on the support it found
    (values over a threshold of the peak, grown by a pixel), dropping negative values
    until none is left (an active-set non-negative solve); of the thresholds the kernel
    that re-blurs best is returned.
    """
    size = config.size | 1
    b, s = _linear_grey(blurry).double(), _linear_grey(sharp).double()
    px, py = gradients(s)
    bx, by = gradients(b)
    # Sharp gradients within a kernel of the border are zeroed, so the circular
    # correlations are linear ones (what lies beyond the crop is unknown, and the
    # blurry gradients' wrap-around at its edge is never reached).
    inner = torch.zeros_like(s)
    inner[size:-size, size:-size] = 1
    px, py = px * inner, py * inner
    auto, rhs = normal_equations(px, py, bx, by, size)
    gamma = ridge_weight(auto, config.tikhonov)
    k0 = torch.zeros(size, size, dtype=torch.float64)
    k0[kernel_centre(size, size)] = 1
    free = solve_normal(auto, rhs, k0, gamma, config.iters)[0].numpy()
    best, best_fit = None, -np.inf
    for threshold in config.thresholds:
        support = binary_dilation(free > threshold * free.max())
        for _ in range(20):
            k = _solve_on(support, auto, rhs, gamma)
            if (k[support] >= 0).all():
                break
            support &= k > 0
        k = np.clip(k, 0, None)
        k = (k / max(k.sum(), 1e-12)).astype(np.float32)
        fit = fit_psnr(blurry, sharp, k)
        if fit > best_fit:
            best, best_fit = k, fit
    return best


def trail_parts(kernel: np.ndarray, level: float = 0.1, min_mass: float = 0.05) -> int:
    """How many separate pieces the kernel's trail falls into: its 8-connected components
    over ``level`` of the peak holding at least ``min_mass`` of that mass. A camera shaken
    through one exposure draws one continuous trail; frame averaging (the GoPro pairs:
    8-10 frames of a 240 fps clip) draws one dot per frame once the camera moves more than
    a pixel or two between frames, a blur no photograph has."""
    from glow_core.kernel._kernel_solve import _components

    mask = kernel > level * kernel.max()
    total = kernel[mask].sum()
    return sum(kernel[c[:, 0], c[:, 1]].sum() >= min_mass * total
               for c in _components(mask))


def reblur(sharp: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``sharp`` (sRGB) blurred by ``kernel`` in linear light, back to sRGB."""
    lin = torch.from_numpy(srgb_to_linear(np.ascontiguousarray(sharp, np.float32)))
    k = torch.from_numpy(np.asarray(kernel, np.float32))
    out = conv2_same(lin.permute(2, 0, 1), k).permute(1, 2, 0)
    return np.clip(linear_to_srgb(out.numpy()), 0.0, 1.0)


def fit_psnr(blurry: np.ndarray, sharp: np.ndarray, kernel: np.ndarray,
             shift: bool = False) -> float:
    """PSNR (dB) of ``sharp`` re-blurred by ``kernel`` against ``blurry``, away from the
    borders (a kernel's reach, where the crop's outside is unknown); ``shift``: at the best
    integer shift, as a blind kernel is free to move the photo."""
    from benchmarks.kernels import best_shift, psnr

    m = max(kernel.shape) // 2 + 12
    ours = reblur(sharp, kernel)[m:-m, m:-m]
    target = blurry[m:-m, m:-m]
    return psnr(ours, target, best_shift(ours, target) if shift else (0, 0))
