"""Blind estimation of one blur kernel from a photo (coarse to fine, sparse gradients).

Pipeline (issue 10, item 1):

1. luminance in linear light (blur adds photons), on the square region with the most
   salient-edge energy in both directions (or the given one);
2. a pyramid with sqrt(2) steps, from a ~5 px kernel to the full size; the kernel is
   resampled between levels;
3. per level, alternate: L0-prior latent image by half-quadratic splitting
   (Xu et al. 2013, Pan et al. 2014) -> salient edges: one magnitude threshold chosen
   so the weakest of 4 orientation bins keeps 20 x kernel-width pixels, lowered each
   iteration (Cho & Lee 2009 / Pan); optional Xu & Jia r-map -> least-squares kernel in
   the gradient domain by conjugate gradient on the k x k support (Toeplitz normal
   matrix from one FFT autocorrelation) -> threshold, speck pruning (connected
   components), renormalisation and re-centring by the centre of mass;
4. automatic size: the window is 51 px at most; from level to level it shrinks to the
   support holding 97 % of the mass times a margin, and the output is cropped to it.
   When that estimate is not trusted (a large shake fills or escapes the window), a
   **large search** looks again with a window of 15 % of the region side (75 px on a
   500 px photo), solved only up to the pyramid level where the kernel is ~37 px and
   upsampled: the finer levels of a 67-70 px trail dissolve into speckle. The more
   confident of the two estimates is returned;
5. **several starts**: all of the above again with pyramid steps of 1.35 instead of
   sqrt(2), on the same region, and when those two disagree a third (steps of 1.45) as a
   tie-break; the start whose kernel explains the region best (the lowest re-blur
   residual of the region deconvolved with it) is kept, then polished; a kernel no other
   start confirms does not compete. The estimate is chaotic (its hard decisions flip on
   tiny changes), and the pyramids fail on different photos (:func:`_pick_start` has the
   measurements);
6. borders extended smoothly periodic before every FFT; edges are only taken from the
   interior (eroded by half a kernel), so the wrap never enters the kernel solve;
7. under noise (Immerkaer-style estimate on the display grey) the image is pre-smoothed
   by a known Gaussian that is modelled in the latent step and applied to the edge maps,
   so it does not end up in the kernel; the L0 weight grows with the noise.

Measured choices and figures: ``benchmarks/kernel_dev.py`` and the config comments.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from ._edges import r_map, select_edges
from ._image import display_grey, gaussian_blur, grey, noise_sigma, resize, to_tensor
from ._kernel_solve import clean_kernel, solve_kernel
from ._latent import l0_latent
from ._polish import polish_kernel, region_residual
from .config import AcceptConfig, KernelConfig
from .fft import extend_periodic, gradients, kernel_centre, otf_of_gradients, psf2otf
from .linear import linear_to_srgb
from .noise import estimate_noise

Region = tuple[int, int, int, int]


class KernelCancelled(Exception):
    """Raised by :func:`estimate_kernel` when ``cancel()`` returned True."""


@dataclass
class KernelEstimate:
    """A blind kernel estimate.

    ``kernel``: k x k float32, non-negative, sum 1, centred, orientation of
    ``scipy.signal.convolve(sharp, kernel, mode="same")``. ``confidence`` in [0, 1]:
    how much to trust it; near 0 for sharp or textureless input or a failed estimate
    (the engine may then skip deconvolution). ``region`` = (y0, x0, y1, x1) used.
    ``info``: ``noise_sigma`` (display units), ``prefilter_sigma``, ``levels`` (per level:
    scale, kernel size, image size, edges kept per orientation bin, the kernel) and
    ``confidence_parts``. How far the confidence can be trusted is measured by
    ``benchmarks/kernels.py`` (README, "Blind kernel benchmark"), not quoted here: its
    figures move with every estimator change.
    """

    kernel: np.ndarray
    confidence: float
    size: int
    region: Region
    seconds: float
    info: dict = field(default_factory=dict)


def _odd(n: float) -> int:
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


def _pick_device(image: object, config: KernelConfig, device: str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    if config.device is not None:
        return torch.device(config.device)
    if isinstance(image, torch.Tensor):
        return image.device
    return torch.device("cpu")


def choose_region(g: torch.Tensor, size: int) -> Region:
    """Square window of side ``size`` with the most salient-edge energy.

    Score = sqrt(E_x * E_y), the energies of horizontal and vertical gradients above
    the median magnitude: a window needs edges in both directions to pin a 2-D kernel.
    Pixels next to clipped highlights are ignored (saturation breaks the linear model).
    """
    h, w = g.shape
    if size >= h and size >= w:
        return 0, 0, h, w
    f = max(1, min(h, w) // 256)  # work on a coarse grid: cheap even for 12 MP
    small = F.avg_pool2d(g[None, None], f, f)[0, 0] if f > 1 else g
    gx = (small[:, 1:] - small[:, :-1]).abs()[:-1]
    gy = (small[1:] - small[:-1]).abs()[:, :-1]
    sat = (small >= 0.97).float()
    sat = F.max_pool2d(sat[None, None], 5, 1, 2)[0, 0][:-1, :-1]
    thr = torch.sqrt(gx * gx + gy * gy).median()
    ex = torch.where(gx > thr, gx, 0.0) * (1 - sat)
    ey = torch.where(gy > thr, gy, 0.0) * (1 - sat)
    win_h = max(1, min(size, h) // f - 1)
    win_w = max(1, min(size, w) // f - 1)
    score = torch.sqrt(_window_means(ex, win_h, win_w) * _window_means(ey, win_h, win_w))
    idx = int(torch.argmax(score))
    iy, ix = divmod(idx, score.shape[1])
    y0 = min(iy * f, max(0, h - size))
    x0 = min(ix * f, max(0, w - size))
    return y0, x0, min(h, y0 + size), min(w, x0 + size)


def _window_means(x: torch.Tensor, win_h: int, win_w: int) -> torch.Tensor:
    """Means of every ``win_h x win_w`` window (valid positions), from an integral image:
    ``avg_pool2d`` with a stride of 1 sums each window anew, ~3.7 s for the ~170 px windows
    of a 1 MP photo's grid; this is a few milliseconds at any size."""
    s = torch.zeros((x.shape[0] + 1, x.shape[1] + 1), dtype=torch.float64, device=x.device)
    s[1:, 1:] = x.double().cumsum(0).cumsum(1)
    total = s[win_h:, win_w:] - s[:-win_h, win_w:] - s[win_h:, :-win_w] + s[:-win_h, :-win_w]
    return (total / (win_h * win_w)).to(x.dtype)


def rescale_kernel(k: torch.Tensor, factor: float, out_size: int) -> torch.Tensor:
    """Resample a centred kernel by ``factor`` and centre-crop/pad to ``out_size``."""
    a = k.shape[-1]
    m = _odd(max(3, (a - 1) * factor + 1)) if factor != 1 else a
    up = F.interpolate(k[None, None], size=(m, m), mode="bilinear", align_corners=True)[0, 0]
    up = up.clamp_min(0)
    out = up.new_zeros((out_size, out_size))
    cu, co = (m - 1) // 2, (out_size - 1) // 2
    r = min(cu, co)
    out[co - r : co + r + 1, co - r : co + r + 1] = up[cu - r : cu + r + 1, cu - r : cu + r + 1]
    s = out.sum()
    if float(s) <= 0:
        out[co, co] = 1.0
        return out
    return out / s


def support_radius(k: torch.Tensor, mass: float = 0.97) -> int:
    """Smallest Chebyshev radius around the centre that holds ``mass`` of the kernel.

    Mass-based rather than "any non-zero pixel": a faint far speck left by the solve
    must not make every finer level (and the output) as large as the search window.
    """
    arr = np.clip(k.detach().cpu().numpy().astype(np.float64), 0, None)
    total = arr.sum()
    if total <= 0:
        return 0
    cy, cx = kernel_centre(*arr.shape)
    yy, xx = np.mgrid[: arr.shape[0], : arr.shape[1]]
    ring = np.maximum(np.abs(yy - cy), np.abs(xx - cx))
    per_ring = np.bincount(ring.ravel(), weights=arr.ravel())
    cum = np.cumsum(per_ring) / total
    return int(np.searchsorted(cum, mass - 1e-9))


def kernel_spread(k: np.ndarray) -> float:
    """Root-mean-square distance of the kernel's mass from its centre of mass (pixels)."""
    h, w = k.shape
    yy, xx = np.mgrid[:h, :w]
    s = float(k.sum())
    if s <= 0:
        return 0.0
    cy, cx = (k * yy).sum() / s, (k * xx).sum() / s
    return float(np.sqrt((k * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum() / s))


def kernel_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Max normalised cross-correlation over shifts (shift-invariant kernel similarity)."""
    return kernel_alignment(a, b)[0]


def kernel_alignment(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple[int, int]]:
    """:func:`kernel_similarity` and the shift (dy, dx) at its peak: ``np.roll(b, (dy,
    dx))`` lies on ``a``."""
    import numpy.fft as nf

    n = a.shape[0] + b.shape[0]
    fa = nf.rfft2(a, s=(n, n))
    fb = nf.rfft2(b, s=(n, n))
    cc = nf.irfft2(fa * np.conj(fb), s=(n, n))
    dy, dx = np.unravel_index(int(np.argmax(cc)), cc.shape)
    dy, dx = (dy if dy <= n // 2 else dy - n), (dx if dx <= n // 2 else dx - n)
    return float(cc.max() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)), (int(dy), int(dx))


def _gauss_otf(shape: tuple[int, int], sigma: float, device: torch.device) -> torch.Tensor:
    fy = torch.fft.fftfreq(shape[0], device=device)
    fx = torch.fft.rfftfreq(shape[1], device=device)
    return torch.exp(-2 * (math.pi * sigma) ** 2 * (fy[:, None] ** 2 + fx[None, :] ** 2))


def estimate_kernel(
    image: np.ndarray | torch.Tensor,
    config: KernelConfig = KernelConfig(),  # noqa: B008 - frozen, immutable default
    *,
    kernel_size: int | None = None,
    region: Region | None = None,
    linear: bool = False,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    device: str | None = None,
) -> KernelEstimate:
    """Estimate one blur kernel for ``image`` (see module docstring for the method).

    ``image``: H x W or H x W x C, float in [0, 1] (sRGB unless ``linear``), uint8 or
    uint16, numpy or torch. ``kernel_size`` (odd; even is rounded up) overrides the
    automatic size. ``region`` = (y0, x0, y1, x1) restricts the estimate to that box.
    ``progress(fraction, message)`` is called between iterations; ``cancel()`` is polled
    there too and :class:`KernelCancelled` raised when it returns True.
    """
    t0 = time.perf_counter()
    # The starts (each a usual estimate and, when it runs, a large search) are the first
    # 85 % of the bar, the polish the last 15 % (the bar must not sit at 100 % meanwhile).
    est = None
    if config.light_streaks and region is None:
        est = _from_streaks(image, config, kernel_size, linear, device, t0)
    if est is None:
        est = _estimate_edges(image, config, kernel_size, region, linear, progress, cancel,
                              device)
    if config.polish_rounds > 0:
        est.kernel = _polish(image, est, config, kernel_size is None, linear, progress,
                             cancel, device)
        est.size = int(est.kernel.shape[0])
    est.seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, "kernel estimated")
    return est


def _from_streaks(image: np.ndarray | torch.Tensor, config: KernelConfig,
                  kernel_size: int | None, linear: bool, device: str | None,
                  t0: float) -> KernelEstimate | None:
    """The kernel the photo's light streaks agree on (:mod:`.streaks`), or None. Its
    region (for the polish) is the one the edge-based estimate would take; its
    confidence is the streaks' agreement."""
    from .streaks import streak_kernel

    img = to_tensor(image, _pick_device(image, config, device))
    g_lin, g_disp = grey(img, linear)
    h, w = g_lin.shape
    cap = _odd(config.large_fraction * min(h, w, config.region_max))
    limit = max(config.auto_kernel_max, cap) if kernel_size is None else _odd(kernel_size)
    clipped = g_disp >= AcceptConfig.clipped  # near white: a clipped light
    found = streak_kernel(g_lin.cpu().numpy(), clipped.cpu().numpy(),
                          max_size=limit, kernel_size=kernel_size, config=config.streaks,
                          kernel_threshold=config.kernel_threshold,
                          speck_mass=config.speck_mass)
    if found is None:
        return None
    kernel, info = found
    k = int(kernel.shape[0])
    side = int(min(max(config.region_min, config.region_per_kernel * k), config.region_max))
    region = choose_region(g_disp, min(side, h, w))
    y0, x0, y1, x1 = region
    return KernelEstimate(
        kernel=kernel, confidence=float(info["agreement"]), size=k, region=region,
        seconds=time.perf_counter() - t0,
        info={"noise_sigma": noise_sigma(g_disp[y0:y1, x0:x1]), "light_streaks": info,
              "confidence_parts": {"streaks": float(info["agreement"])},
              "device": str(img.device)})


def _estimate_edges(image: np.ndarray | torch.Tensor, config: KernelConfig,
                    kernel_size: int | None, region: Region | None, linear: bool,
                    progress: Callable[[float, str], None] | None,
                    cancel: Callable[[], bool] | None, device: str | None) -> KernelEstimate:
    """The edge-based estimate (the module's method): one start per pyramid step of
    ``config.level_scale`` and ``config.extra_starts``, the one that best explains its
    region kept (:func:`_pick_start`). The second start always runs (when the first found
    blur); each later one only while no two starts so far agree
    (``config.start_consensus``): it is the tie-break of two that disagree."""
    scales = (config.level_scale, *config.extra_starts)
    # The starts share the bar's first 85 %: the first two (nearly always both run) 75 %,
    # the rare tie-breaks the last 10 %; each start's own usual / large split inside.
    spans = _start_spans(len(scales))
    starts: list[KernelEstimate] = []
    similarity: dict[tuple[int, int], float] = {}
    for i, scale in enumerate(scales):
        if i > 0 and kernel_spread(starts[0].kernel) < config.no_blur_spread:
            break  # no blur found: nothing for another start to find a better kernel of
        if i > 1 and max(similarity.values()) >= config.start_consensus:
            break  # two starts agree: a tie-break would cost a whole estimate for nothing
        bar = None if progress is None else (
            lambda f, m, i=i: progress(spans[i] + f * (spans[i + 1] - spans[i]),
                                       m if i < 2 else f"tie-break start: {m}"))
        est = _one_start(image, replace(config, level_scale=scale), kernel_size,
                         region if i == 0 else starts[0].region, linear, bar, cancel,
                         device)
        est.info["level_scale"] = float(scale)
        for j, other in enumerate(starts):
            similarity[j, i] = kernel_similarity(est.kernel, other.kernel)
        starts.append(est)
    if len(starts) == 1:
        return starts[0]
    return _pick_start(image, starts, similarity, config, linear, cancel, device)


def _start_spans(n: int) -> list[float]:
    """Where each of ``n`` starts begins (and the last ends) on the bar's first 85 %."""
    if n <= 2:
        return [0.85 * i / n for i in range(n + 1)]
    return [0.0, 0.375, 0.75] + [0.75 + 0.1 * (i + 1) / (n - 2) for i in range(n - 2)]


def _one_start(image: np.ndarray | torch.Tensor, config: KernelConfig,
               kernel_size: int | None, region: Region | None, linear: bool,
               progress: Callable[[float, str], None] | None,
               cancel: Callable[[], bool] | None, device: str | None) -> KernelEstimate:
    """One coarse-to-fine estimate, with the large search when the usual sizes do not
    hold the blur (its bar: the usual estimate 70 %, the large search 30 %)."""
    first = None if progress is None else (lambda f, m: progress(0.7 * f, m))
    est = _estimate_single(image, config, kernel_size, region, linear, first, cancel, device)
    truncated = est.info["confidence_parts"]["contained"] < 1.0  # fills its window
    doubtful = est.confidence < config.large_below or (
        truncated and est.confidence < config.large_keep_above)
    if kernel_size is None and doubtful:
        y0, x0, y1, x1 = est.region
        big = _odd(config.large_fraction * min(y1 - y0, x1 - x0))
        if big > config.auto_kernel_max:
            # Not trusted at the usual sizes: maybe a large shake (67-70 px kair_large
            # kernels gave confidence 0-0.15 there). Look again with a larger window,
            # solved at a coarser scale; keep whichever estimate is more confident.
            cfg = replace(config, solve_max=config.large_solve,
                          kernel_tikhonov=config.large_tikhonov)
            second = None if progress is None else (
                lambda f, m: progress(0.7 + 0.3 * f, f"large shake search: {m}"))
            alt = _estimate_single(image, cfg, big, est.region, linear, second, cancel, device)
            r = support_radius(torch.from_numpy(alt.kernel))
            alt.kernel = _as_kernel(rescale_kernel(torch.from_numpy(alt.kernel), 1.0,
                                                   min(big, 2 * (r + 2) + 1)))
            alt.size = int(alt.kernel.shape[0])
            alt.info["large_search"] = True
            est.info["large_search"] = False
            if alt.confidence > est.confidence:
                est = alt
    return est


def _region_crop(image: np.ndarray | torch.Tensor, region: Region, linear: bool,
                 config: KernelConfig, device: str | None) -> tuple[torch.Tensor, np.ndarray]:
    """The region of the photo as a tensor (the input's values) and in display (sRGB)
    values as numpy, as the residual test reads it."""
    y0, x0, y1, x1 = region
    crop = to_tensor(image, _pick_device(image, config, device))[y0:y1, x0:x1]
    out = crop.cpu().numpy()
    return crop, linear_to_srgb(out) if linear else out


def _pick_start(image: np.ndarray | torch.Tensor, starts: list[KernelEstimate],
                similarity: dict[tuple[int, int], float], config: KernelConfig,
                linear: bool, cancel: Callable[[], bool] | None,
                device: str | None) -> KernelEstimate:
    """The start whose kernel explains the region best: lowest re-blur residual of the
    region deconvolved with it (:func:`region_residual`, the polish's own test), among
    the starts whose kernel another start confirms. ``similarity[j, i]`` (j < i): the
    kernel similarity of starts j and i.

    Why several starts: the estimate is chaotic; its hard decisions (edge thresholds,
    speck pruning, the size chosen level by level) flip on tiny changes, and the sixth
    session measured that input changes of 1e-7 move 16 of the 192 protocol cases by
    more than 1 dB. Two pyramids (steps of sqrt(2) and 1.35) fail on different cases:
    on the protocol (Kodak 24 x 8 real kernels, 1 % noise) 142 and 148 of 192 within an
    error ratio of 2, 158 for the better of the two, and the lower residual of their
    final kernels picked 153 (blind 25.38 / 25.47 -> 25.57 dB): a wrong kernel leaves
    blur or rings, both explain the photo worse. As shipped in the eighth session (two
    starts, the unpolished kernels' residuals, so the polish runs once) the benchmark
    measured 150 of 192 and 25.55 dB; on real GoPro crops it was a wash (README).

    A kernel competes only when another start's agrees with it
    (``config.start_agreement``): the residual arbitrates between estimates of one blur,
    not between different blurs. On real GoPro crops the two starts that disagreed most
    (similarity 0.41 / 0.44) were nearly static frames where the first start's large
    search was refused by the acceptance test and the second start's 31 / 39 px kernel,
    its residual a little lower, passed it and cost 1.1 / 2.5 dB. When no two agree the
    first start stands. With a third start (run only when the first two disagree,
    ``config.start_consensus``) this is a vote: two pyramids that find one kernel outvote
    a third that found another, however well that one explains the region. Offline, on
    the three single-start runs' final kernels (1.45 the third), the tie-break ran on 38
    of the 192 cases and took the share within an error ratio of 2 from 152 to 155 and
    the blind mean from 25.57 to 25.70 dB (the third start on every case: 156); as
    shipped, the benchmark measured 150 -> 154 of 192 and 25.55 -> 25.69 dB, no case
    worse, and no real GoPro crop changed (README, "A third start").

    A start that finds no blur is only one start's word; a blur kernel from another is a
    challenger, never the other way round (a delta explains any photo by denoising it):
    no-blur kernels neither compete nor confirm.

    The kept kernel's ``info["agreement"]`` is its similarity to the closest other start
    that found blur and whose kernel explains the region within
    ``config.start_confirm_residual`` of its own residual; below ``start_agreement`` the
    acceptance test refuses it (``AcceptConfig.min_agreement``): every unconfirmed kernel
    measured lost (see the two configs).
    """
    _, region = _region_crop(image, starts[0].region, linear, config, device)
    sigma = float(estimate_noise(region))
    blur = [kernel_spread(est.kernel) >= config.no_blur_spread for est in starts]

    def pair(i: int, j: int) -> float:
        return similarity[min(i, j), max(i, j)]

    support = [max((pair(i, j) for j in range(len(starts)) if j != i and blur[j]),
                   default=0.0) for i in range(len(starts))]
    competing = [blur[i] and support[i] >= config.start_agreement
                 for i in range(len(starts))]
    if not any(competing):
        competing[0] = True  # no two agree: the first start's word stands
    residuals = []
    for est, compete in zip(starts, competing):
        if cancel is not None and cancel():
            raise KernelCancelled("kernel estimation cancelled")
        # not a candidate: no residual computed (a lone one's is the polish's "before")
        residuals.append(region_residual(region, est.kernel, sigma) if compete
                         else float("inf"))
    best = int(np.argmin(residuals))
    chosen = starts[best]
    # The chosen kernel's confirmation, counted only from starts that explain the region
    # too (a kernel whose deconvolution fails to explain it confirms nothing); the
    # acceptance test refuses an unconfirmed kernel (AcceptConfig.min_agreement).
    plausible = config.start_confirm_residual * residuals[best]
    chosen.info["agreement"] = max(
        (pair(best, j) for j in range(len(starts))
         if j != best and blur[j] and residuals[j] <= plausible), default=0.0)
    chosen.info["starts"] = [
        {"level_scale": est.info["level_scale"], "size": int(est.kernel.shape[0]),
         "confidence": float(est.confidence), "agreement": agree,
         "residual": res if math.isfinite(res) else None,  # None: it did not compete
         "large_search": bool(est.info.get("large_search", False))}
        for est, res, agree in zip(starts, residuals, support)]
    chosen.info["start"] = best
    chosen.info["region_residual"] = (residuals[best], sigma)
    return chosen


def _polish(image: np.ndarray | torch.Tensor, est: KernelEstimate, config: KernelConfig,
            auto: bool, linear: bool, progress: Callable[[float, str], None] | None,
            cancel: Callable[[], bool] | None, device: str | None) -> np.ndarray:
    """The estimate re-solved against deconvolutions of its region (:mod:`._polish`)."""
    y0, x0, y1, x1 = est.region
    grow = config.polish_grow if auto else 0
    if kernel_spread(est.kernel) < config.no_blur_spread:
        est.info["polish"] = {"kept": False, "skipped": "no blur to polish"}
        return est.kernel
    if est.kernel.shape[0] > config.auto_kernel_max or \
            est.kernel.shape[0] + grow > min(y1 - y0, x1 - x0) // 3:
        # A large shake is solved coarse and upsampled because its full-resolution solve
        # dissolves into speckle; the polish would undo that (kair_large on Kodak 05:
        # kernel similarity 0.92 -> 0.51, -2.5 dB).
        return est.kernel

    def check() -> None:
        if cancel is not None and cancel():
            raise KernelCancelled("kernel estimation cancelled")

    bar = None if progress is None else (
        lambda f: progress(0.85 + 0.15 * f, "polishing the kernel"))
    # Only the region is read: grey is per pixel, so cropping first gives the same values
    # without converting the whole photo (and the colour check below reads its sRGB).
    crop, region = _region_crop(image, est.region, linear, config, device)
    g_lin, _ = grey(crop, linear)
    # the region's noise, measured by the estimate on the same pixels (display units)
    polished = polish_kernel(g_lin, est.kernel, config,
                             est.info["noise_sigma"], grow=grow, check=check, progress=bar)
    similarity = kernel_similarity(polished, est.kernel)
    info: dict = {"kept": False, "similarity": similarity}
    est.info["polish"] = info
    if similarity < config.polish_min_similarity:
        # The polish fixes details; a kernel that changed shape drifted to another fixed
        # point (a 67 px trail estimated at 51 px: similarity to the truth 0.92 -> 0.51).
        return est.kernel
    # Kept only when it explains its region better (one that does not fitted a halo or
    # thinned the trail: see :mod:`._polish`), judged on the region in colour.
    known = est.info.get("region_residual")  # the starts' pick measured it already
    if known is not None:
        before, sigma = known
    else:
        sigma = float(estimate_noise(region))
        check()
        before = region_residual(region, est.kernel, sigma)
    check()
    after = region_residual(region, polished, sigma)
    info["residual"] = (before, after)
    info["kept"] = bool(after < (1.0 - config.polish_min_gain) * before)
    return polished if info["kept"] else est.kernel


def _estimate_single(
    image: np.ndarray | torch.Tensor,
    config: KernelConfig,
    kernel_size: int | None,
    region: Region | None,
    linear: bool,
    progress: Callable[[float, str], None] | None,
    cancel: Callable[[], bool] | None,
    device: str | None,
) -> KernelEstimate:
    """One coarse-to-fine estimate (the method of the module docstring)."""
    t0 = time.perf_counter()
    if config.threads:
        torch.set_num_threads(int(config.threads))
    dev = _pick_device(image, config, device)
    img = to_tensor(image, dev)
    h_img, w_img = img.shape[:2]
    if kernel_size is not None:
        if int(kernel_size) < 3:
            raise ValueError(f"kernel_size must be >= 3, got {kernel_size}")
        k_final = _odd(kernel_size)
    else:
        k_final = _odd(config.auto_kernel_max)
    auto = kernel_size is None

    if region is None:
        side = int(
            min(max(config.region_min, config.region_per_kernel * k_final), config.region_max)
        )
        region = choose_region(display_grey(img), side)
    y0, x0, y1, x1 = (int(v) for v in region)
    y0, x0 = max(0, y0), max(0, x0)
    y1, x1 = min(h_img, y1), min(w_img, x1)
    if y1 - y0 < 16 or x1 - x0 < 16:
        raise ValueError(f"region {region} is too small (need at least 16x16 pixels)")
    region = (y0, x0, y1, x1)
    # Only the region is read from here on: grey is per pixel, so the crop's grey has the
    # same values as the photo's, without converting a 12 MP photo (~0.8 s) per start.
    b_full, g_disp = grey(img[y0:y1, x0:x1], linear)
    tones = None
    if config.intensity_l0 > 0:
        q = torch.quantile(b_full[::2, ::2].flatten(), torch.tensor([0.01, 0.97], device=dev))
        tones = (float(q[0]), float(q[1]))
    noise = noise_sigma(g_disp)
    if auto:
        # a kernel cannot be wider than a third of the region and still be observed
        k_final = min(k_final, _odd(min(y1 - y0, x1 - x0) / 3))
    elif k_final > min(y1 - y0, x1 - x0) // 2:
        raise ValueError(f"kernel_size {k_final} too large for a {y1 - y0}x{x1 - x0} region")

    n_levels = max(
        1, math.ceil(math.log(k_final / config.coarsest_kernel) / math.log(config.level_scale)) + 1
    )
    scales = [config.level_scale ** -(n_levels - 1 - i) for i in range(n_levels)]
    nominal = [max(3, _odd(k_final * s)) for s in scales]
    nominal[-1] = k_final
    iters = [config.iters_per_level] * (n_levels - 1) + [config.iters_finest + config.refine_iters]
    cost = [s * s * it for s, it in zip(scales, iters)]
    done, total_cost = 0.0, sum(cost)

    noise_units = noise / 0.01
    pre_sigma = config.noise_prefilter * max(0.0, noise_units - config.noise_floor)
    lam0 = config.latent_lambda * (1 + config.noise_lambda_gain * noise_units)
    lam_min = config.latent_lambda_min * (1 + config.noise_lambda_gain * noise_units)

    k = torch.zeros((nominal[0], nominal[0]), device=dev)
    c0 = (nominal[0] - 1) // 2
    k[c0, c0] = 0.5
    k[c0, c0 + 1] = 0.5  # Pan et al.'s 2-pixel start breaks the symmetry of a delta
    prev_level_kernel: torch.Tensor | None = None
    level_info = []
    ksz = nominal[0]
    px = py = bx = by = None
    for li, s in enumerate(scales):
        if li > 0:
            target = nominal[li]
            if auto:
                r = support_radius(k)
                adapt = _odd((2 * r + 1) * config.level_scale * config.auto_margin + 2)
                lo = min(target, _odd(config.auto_kernel_min * s))
                target = int(min(target, max(adapt, lo)))
            if target > config.solve_max:
                # A large kernel is solved at this coarser scale and upsampled below: its
                # finer levels (more unknowns than the edges pin) dissolve into speckle
                # (refining them near the support found so far, 1-2 px around it, made
                # the kair_large kernels worse: similarity 0.69 -> 0.46).
                break
            prev_level_kernel = k
            k = rescale_kernel(k, scales[li] / scales[li - 1], target)
        ksz = k.shape[-1]
        hl, wl = max(8, round((y1 - y0) * s)), max(8, round((x1 - x0) * s))
        b = resize(b_full, (hl, wl))
        sig = pre_sigma * s  # noise shrinks as the image is downsampled
        if sig > 0.3:
            b = gaussian_blur(b, sig)
        else:
            sig = 0.0
        margin = ksz + 4
        bp, (top, left, _, _) = extend_periodic(b, margin)
        shape = bp.shape[-2:]
        b_spec = torch.fft.rfft2(bp)
        dx_otf, dy_otf = otf_of_gradients(shape, device=dev)
        gotf = _gauss_otf(shape, sig, dev) if sig > 0 else None
        bx, by = gradients(bp)
        valid = torch.zeros(shape, device=dev)
        e = ksz // 2 + 1
        valid[top + e : top + hl - e, left + e : left + wl - e] = 1.0
        useful = r_map(bx, by, ksz)
        want = int(config.edge_keep * ksz)
        thr = None
        n_kept: list[int] = []
        lam = lam0
        resid = 1.0
        for it in range(iters[li]):
            if cancel is not None and cancel():
                raise KernelCancelled("kernel estimation cancelled")
            k_otf = psf2otf(k, shape)
            if gotf is not None:
                k_otf = k_otf * gotf
            x = l0_latent(
                b_spec, bp, k_otf, dx_otf, dy_otf, lam, config.hqs_beta_max, config.hqs_kappa,
                config.intensity_l0, tones,
            )
            gx, gy = gradients(x)
            px, py, thr, n_kept = select_edges(
                gx, gy, valid, useful, config.rmap_threshold, config.edge_bins, want, thr
            )
            thr *= config.edge_threshold_decay
            if gotf is not None:
                px = torch.fft.irfft2(torch.fft.rfft2(px) * gotf, s=shape)
                py = torch.fft.irfft2(torch.fft.rfft2(py) * gotf, s=shape)
            k_raw, resid = solve_kernel(
                px, py, bx, by, ksz, k, config.kernel_tikhonov, config.cg_iters
            )
            k = clean_kernel(k_raw, config.kernel_threshold, config.speck_mass)
            lam = max(lam * config.latent_lambda_decay, lam_min)
            if li == n_levels - 1 and it >= iters[li] - config.refine_iters - 1:
                # refinement: a detailed latent once the kernel is close (measured gain)
                lam = config.refine_lambda * (1 + config.noise_lambda_gain * noise_units)
            done += cost[li] / iters[li]
            if progress is not None:
                progress(done / total_cost, f"kernel level {li + 1}/{n_levels}, iteration {it + 1}")
        level_info.append(
            {
                "scale": s,
                "size": ksz,
                "image": (hl, wl),
                "edges": n_kept,
                "want": int(want),
                "residual": resid,
                "kernel": k.detach().cpu().numpy().copy(),
            }
        )

    # Output: the requested size, or the support plus a small margin when automatic.
    solved = [lv["scale"] for lv in level_info]
    finest = solved[-1]
    fill = 0.0
    if auto:
        r = support_radius(k)
        out = min(ksz, 2 * (r + 2) + 1)
        k = rescale_kernel(k, 1.0, out)
        fill = (2 * r + 1) / max(nominal[len(solved) - 1], 1)
    kern = _as_kernel(k)
    confidence, parts = _confidence(kern, prev_level_kernel, solved, level_info, fill, config)
    if finest < 1:  # back to the photo's resolution
        size = k_final if not auto else min(k_final, _odd((kern.shape[0] + 1) / finest))
        kern = _as_kernel(rescale_kernel(k, 1 / finest, size))
    return KernelEstimate(
        kernel=kern.astype(np.float32),
        confidence=confidence,
        size=int(kern.shape[0]),
        region=region,
        seconds=time.perf_counter() - t0,
        info={
            "noise_sigma": noise,
            "prefilter_sigma": pre_sigma,
            "levels": level_info,
            "confidence_parts": parts,
            "device": str(dev),
        },
    )


def _as_kernel(k: torch.Tensor) -> np.ndarray:
    kern = np.clip(k.detach().to("cpu", torch.float32).numpy(), 0, None)
    return kern / max(float(kern.sum()), 1e-12)


def _confidence(
    kern: np.ndarray,
    prev: torch.Tensor | None,
    scales: list[float],
    level_info: list[dict],
    fill: float,
    config: KernelConfig,
) -> tuple[float, dict]:
    """Trust in [0, 1] = blur extent x level consistency x edge coverage x containment.

    * extent: a kernel whose peak pixel holds most of the mass is no blur worth removing
      (sharp input -> ~0; a Gaussian of sigma 1 px -> ~0.7, motion blur -> ~1);
    * consistency: similarity of the last two levels' kernels (a converged estimate
      does not change when the resolution doubles; a failed one wanders);
    * coverage: the emptiest orientation bin's share of the edges wanted (a textureless
      or one-directional region cannot pin a 2-D kernel);
    * contained (automatic size only): a support that fills the whole search window is
      what failures look like (junk spreads to the window; measured on 6 Kodak x 6 real
      kernels <= 25 px wide: 7 of the 10 estimates 49-51 px wide had error ratio > 2,
      against 5 of the other 26).
    """
    spread = kernel_spread(kern)
    peak = float(kern.max())
    extent = float(np.clip((1.0 - peak) / (1.0 - config.delta_peak), 0.0, 1.0)) ** 2
    consistency = 1.0
    if prev is not None and len(scales) > 1:
        up = rescale_kernel(prev, scales[-1] / scales[-2], max(kern.shape[0], prev.shape[-1]))
        consistency = max(0.0, kernel_similarity(up.cpu().numpy(), kern))
    edges = level_info[-1]["edges"] if level_info else []
    want = max(1.0, level_info[-1]["want"]) if level_info else 1.0
    coverage = min(1.0, min(edges) / (0.5 * want)) if edges else 0.0
    contained = float(np.clip((1.0 - fill) / max(1.0 - config.fill_limit, 1e-6), 0.0, 1.0))
    conf = float(np.clip(extent * consistency * coverage * contained, 0.0, 1.0))
    return conf, {
        "spread": spread,
        "peak": peak,
        "extent": extent,
        "consistency": consistency,
        "coverage": coverage,
        "contained": contained,
    }
