"""Non-blind deconvolution: hyper-Laplacian prior, clipped highlights out of the data term.

Why this design:

* **Model.** In linear light (blur adds photons), per channel (see Colour below),

      min_x  lambda/2 * sum_i phi_i((k * x)_i - y_i)  +  sum |grad x|^alpha

  with alpha = 0.8 (a hyper-Laplacian: Krishnan & Fergus 2009; natural-image gradients
  are heavier-tailed than a Laplacian, alpha = 1 is TV). ``phi_i`` is the per-pixel data
  term: quadratic where the blurry pixel is a valid measurement; **one-sided** where it
  is clipped (Whyte et al. 2014: a saturated pixel only says "at least this bright", so
  it costs only if the re-blurred estimate falls below it); **zero** in the border margin
  (Almeida & Figueiredo 2013: the blurry border mixes in latent pixels outside the frame,
  so those are unknowns, not a wrap-around). That is what stops street lights and frame
  edges from ringing.
* **Solver** (:mod:`._solver`). The data term is split off by ADMM (z = k * x, scaled
  dual u; z is a per-pixel prox), the prior by half-quadratic splitting (w = grad x with
  a continuation on beta, Krishnan & Fergus); the x step is a closed-form FFT solve on a
  smoothly periodic extension (``fft.extend_periodic``). The w step is generalised soft
  thresholding (Zuo et al. 2013) for any alpha in (0, 1], looked up in a table
  (:mod:`._shrink`).
* **Colour.** A colour photo is solved in luminance and two opponent chroma channels
  (:mod:`.opponent`): blur is the same on every channel, luminance has sqrt(3) x less
  noise than one channel, chroma little detail; each channel's data weight follows its
  own noise. Clipping is one-sided in luminance and drops the chroma data there.
* **Noise-aware weight.** lambda = ``noise_gain / sigma^2`` with sigma the noise of the
  blurry photo, read in sRGB (plus, on a JPEG, a share of the codec's blind error) and
  mapped to linear light at the photo's median level, floored so clean images still get
  a little regularisation; then each pixel's weight follows the inverse tone curve's
  slope at its level (noise even in sRGB is ~15x larger at white than at 10 % grey in
  linear light). Linear inputs keep one weight from the linear noise.
* **Ringing.** A kernel error or an unmodelled outlier shows up as oscillation next to
  strong edges. After the solve, the re-blur residual ``|k*x - y|`` (relative to the
  noise) marks pixels the model could not explain; there the result is blended towards a
  more strongly regularised solution (cheap: the same solver with a larger prior weight
  reuses the FFTs). Measured, see ``benchmarks/kernels.py``.

Big photos: :func:`deconvolve` tiles with a context margin of at least twice the kernel
size and raised-cosine blending (:func:`deconvolve_window` does one window), so peak memory
follows the tile, not the photo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace as dc_replace

import numpy as np
import torch

from . import opponent
from ._guided import guided_upsample
from ._memory import keep_freed_blocks
from ._resample import box_mean, double, halve
from ._solver import beta_levels
from ._solver import solve as _solve
from .config import DeconvConfig
from .fft import conv2_same, extend_periodic, psf2otf
from .linear import linear_slope, linear_to_srgb, srgb_to_linear
from .noise import estimate_codec_noise, estimate_noise

__all__ = [
    "DeconvCancelled",
    "DeconvConfig",
    "deconvolve",
    "deconvolve_window",
    "raised_cosine",
    "wiener",
]


class DeconvCancelled(Exception):
    """Raised when the ``cancel`` callback asks to stop."""


ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


# ----------------------------------------------------------------------------- helpers


def _to_kernel(kernel: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float32) if not isinstance(
        kernel, torch.Tensor) else kernel, dtype=torch.float32, device=device)
    if k.ndim != 2:
        raise ValueError(f"kernel must be 2-D, got shape {tuple(k.shape)}")
    s = float(k.sum())
    if not math.isfinite(s) or s <= 0 or float(k.min()) < 0:
        raise ValueError("kernel must be non-negative with a positive sum")
    return k / s


def _split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    a = np.asarray(image)
    squeeze = a.ndim == 2
    if squeeze:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"image must be H x W or H x W x C, got shape {a.shape}")
    alpha = None
    if a.shape[2] in (2, 4):
        alpha = a[:, :, -1:]
        a = a[:, :, :-1]
    return a.astype(np.float32, copy=False), alpha, squeeze


def _join_alpha(out: np.ndarray, alpha: np.ndarray | None, squeeze: bool) -> np.ndarray:
    if alpha is not None:
        out = np.concatenate([out, alpha.astype(out.dtype)], axis=2)
    if squeeze and out.shape[2] == 1:
        out = out[:, :, 0]
    return out


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow an H x W (x C) boolean mask by ``radius`` px in y and x (a square, per
    channel), as a separable max filter: shifted ORs on the bytes. At 12 MP this is
    ~0.1 s against ~2.7 s for torch's max pooling on a float copy."""
    if radius <= 0:
        return mask
    rows = mask.copy()
    for s in range(1, radius + 1):
        rows[s:] |= mask[:-s]
        rows[:-s] |= mask[s:]
    out = rows.copy()
    for s in range(1, radius + 1):
        out[:, s:] |= rows[:, :-s]
        out[:, :-s] |= rows[:, s:]
    return out


def raised_cosine(n: int, fade_start: int, fade_end: int) -> np.ndarray:
    """1-D weights: raised-cosine ramps of the given lengths at each end, 1 in between.

    Overlapping windows whose ramps cover the same pixels sum to 1 (sin^2 + cos^2), the
    partition of unity that efficient filter flow (Hirsch et al. 2010) blends with.
    """
    w = np.ones(n, dtype=np.float64)
    if fade_start > 0:
        t = (np.arange(fade_start) + 0.5) / fade_start
        w[:fade_start] = np.sin(0.5 * np.pi * t) ** 2
    if fade_end > 0:
        t = (np.arange(fade_end) + 0.5) / fade_end
        w[n - fade_end:] = np.cos(0.5 * np.pi * t) ** 2
    return w


def _margin_for(kernel_shape: tuple[int, int], config: DeconvConfig) -> int:
    return int(math.ceil(config.context_kernels * max(kernel_shape)))


def deconvolve_window(lin: np.ndarray | torch.Tensor, kernel: np.ndarray | torch.Tensor,
                      box: tuple[int, int, int, int], *, lam: float,
                      sat: np.ndarray | torch.Tensor | None = None,
                      config: DeconvConfig | None = None,
                      step: Callable[[], None] | None = None,
                      residual: bool = False,
                      tones: np.ndarray | None = None,
                      tone_ref: float | None = None,
                      ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Deconvolve the window ``box = (y0, x0, y1, x1)`` of a linear H x W x C image.

    Reads a context margin of ``config.context_kernels`` kernel sizes around the box
    (clipped to the photo), solves there, and returns only the box (y1-y0, x1-x0, C):
    the window's own borders stay in the margin. Where the margin reaches the photo's
    edge, the free-boundary extension of :func:`_solve` takes over. ``lam`` is the data
    weight, computed once for the whole photo so tiles agree. ``tone_ref``
    (:func:`reference_slope`, also once per photo): the photo's noise is taken as even
    in sRGB, so each pixel's data weight follows the curve's slope there relative to it
    (``config.tone_weights``); None: even in linear light.
    """
    config = config or DeconvConfig()
    keep_freed_blocks()  # the solver's temporaries: no page faults per iteration
    dev = torch.device(config.device or "cpu")
    k = _to_kernel(kernel, dev)
    a = lin if isinstance(lin, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(lin))
    hh, ww = a.shape[:2]
    y0, x0, y1, x1 = box
    m = _margin_for(tuple(k.shape), config)
    cy0, cx0 = max(0, y0 - m), max(0, x0 - m)
    cy1, cx1 = min(hh, y1 + m), min(ww, x1 + m)
    win = a[cy0:cy1, cx0:cx1].to(dev, torch.float32).permute(2, 0, 1).contiguous()
    s = None
    if sat is not None:
        st = sat if isinstance(sat, torch.Tensor) else torch.from_numpy(np.asarray(sat))
        s = st[cy0:cy1, cx0:cx1].to(dev).permute(2, 0, 1).contiguous()
    # Inner windows (context from the photo) still need a margin for the FFT wrap; the
    # free boundary makes the photo's real border and the window's cut alike unknown.
    pad = max(k.shape) + 8
    tt = None
    if config.intensity_l0 > 0:
        tt = torch.as_tensor(text_tones(win.permute(1, 2, 0).cpu().numpy()) if tones is None
                             else np.asarray(tones), dtype=torch.float32, device=dev)
        tt = tt.reshape(2, -1, 1, 1)
    var = None  # each pixel's noise variance relative to lam's, (C, H, W)
    if tone_ref is not None and config.tone_weights:
        var = _tone_variance(win, tone_ref, lam, config)
    if config.opponent_colour and win.shape[0] == 3:
        out = _solve_opponent(win, s, k, lam, config, pad, step, tt, var)
    else:
        weight = None if var is None else var.reciprocal_()
        out = _solve(win, s, k, lam, config, pad, step, tt, weight=weight)
        if config.ringing_boost > 0:
            out = _suppress_ringing(out, win, s, k, lam, config, pad, tt, weight=weight)
    core = out[:, y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    core_np = core.permute(1, 2, 0).cpu().numpy()
    if not residual:
        return core_np
    # Re-blur residual (mean over channels) on the core: how well this kernel explains
    # the data here. The zero padding of conv2_same only affects the context margin.
    rb = conv2_same(out, k)
    res = ((rb - win) ** 2)
    if s is not None:
        res = torch.where(s, torch.zeros_like(res), res)
    res = res.mean(0)[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    return core_np, res.cpu().numpy()


def _tone_variance(win: torch.Tensor, tone_ref: float, lam: float,
                   config: DeconvConfig) -> torch.Tensor:
    """Each pixel's linear noise variance relative to the one ``lam`` assumes.

    Noise even in sRGB (what a camera's JPEG and the benchmark's protocol carry) is
    stretched by the inverse curve by its slope: ~15x more in linear light at white
    than at 10 % grey. One weight for the whole photo over-trusts the highlights (they
    ring and amplify noise) and under-trusts the shadows (they are smoothed away). The
    level is read from the window smoothed over 3 x 3 (the noise barely moves it), and
    the variance floored at ``config.min_noise`` (quantisation) like the weight itself.
    """
    sigma_ref = math.sqrt(config.noise_gain / lam)
    level = torch.nn.functional.avg_pool2d(win[None], 3, stride=1, padding=1,
                                           count_include_pad=False)[0]
    ratio = linear_slope(linear_to_srgb(level)).div_(tone_ref).square_()
    return ratio.clamp_(min=(config.min_noise / sigma_ref) ** 2)


def _solve_opponent(win: torch.Tensor, sat: torch.Tensor | None, k: torch.Tensor,
                    lam: float, config: DeconvConfig, pad: int,
                    step: Callable[[], None] | None, tones: torch.Tensor | None,
                    var: torch.Tensor | None = None) -> torch.Tensor:
    """Solve a linear RGB window (3, H, W) in luminance + opponent chroma; returns RGB.

    Each channel gets the data weight of its own noise (``lam`` is one RGB channel's
    weight ``noise_gain / sigma^2``): luminance ``luma_gain_ratio x noise_gain /
    sigma_Y^2``, chroma ``chroma_gain_ratio x noise_gain / sigma_C^2``. Clipping says
    "at least this bright" of each clipped channel, so of luminance too, but nothing of
    chroma: a pixel with any channel clipped is one-sided in luminance and has no data
    term in chroma. ``var`` (3, H, W): each RGB pixel's noise variance relative to
    ``lam``'s (:func:`_tone_variance`), mixed into the opponent channels' per-pixel
    weights.
    """
    mix2 = torch.as_tensor(opponent.FROM_RGB ** 2, dtype=torch.float32, device=win.device)
    scale2 = mix2.sum(1).reshape(3, 1, 1)  # each channel's variance over an RGB one's
    ratios = torch.tensor([config.luma_gain_ratio, config.chroma_gain_ratio,
                           config.chroma_gain_ratio], dtype=torch.float32,
                          device=win.device).reshape(3, 1, 1)
    # A blind kernel's misfit (``common_noise_share`` f of the variance) is the same in
    # R, G and B, so luminance's mean keeps all of it, where independent noise mixes by
    # the rows' squares; chroma keeps the independent scale (a misfit is not colourless
    # at colour edges). Luminance's two parts are trusted by their own ratios:
    # ``luma_gain_ratio`` for the noise, ``luma_misfit_ratio`` for the misfit.
    f = min(max(float(config.common_noise_share), 0.0), 1.0)
    sigma2 = config.noise_gain / lam  # one RGB channel's noise variance
    var_c = scale2 * sigma2  # each channel's independent noise variance
    lam_c = ratios * config.noise_gain / var_c
    if f > 0.0:
        luma_var = sigma2 * (float(scale2[0]) * (1.0 - f) / config.luma_gain_ratio
                             + f / config.luma_misfit_ratio)
        lam_c[0] = config.noise_gain / luma_var
    y = opponent.from_rgb(win)
    weight = None
    if var is not None:
        weight = torch.einsum("oc,chw->ohw", mix2, var).reciprocal_().mul_(scale2)
    sat_c = None
    if sat is not None:
        clipped = sat.any(0, keepdim=True)
        sat_c = torch.cat([clipped, torch.zeros_like(clipped).expand(2, -1, -1)])
        if weight is None:
            weight = torch.ones_like(y)
        weight[1:].masked_fill_(clipped.expand(2, -1, -1), 0.0)
    tt = None if tones is None else opponent.from_rgb(tones.transpose(0, 1)).transpose(0, 1)
    # The channels' weights go into the per-pixel weight, not into lam: the split's
    # penalty rho is one for all channels, ``opponent_rho_ratio`` x one RGB channel's
    # weight (see the config for the measurements).
    noise_w = torch.ones_like(y) if weight is None else weight  # 1 / relative variance
    data_w = noise_w * (lam_c / lam)
    # The ringing blend's residual in units of the independent noise: it looks for the
    # misfit, so its units do not grow with it.
    res_scale = noise_w / var_c
    config = dc_replace(config, rho_ratio=config.opponent_rho_ratio)
    if not (config.chroma_half_resolution and min(y.shape[-2:]) >= 4 * max(k.shape)):
        return opponent.to_rgb(_solve_part(y, sat_c, k, lam, config, pad, step, tt,
                                           data_w, res_scale))
    luma = _solve_part(y[:1], sat_c[:1] if sat_c is not None else None, k, lam, config,
                       pad, step, None if tt is None else tt[:, :1], data_w[:1],
                       res_scale[:1])
    chroma = _solve_half(y[1:], k, lam, config, None if tt is None else tt[:, 1:],
                         data_w[1:], res_scale[1:], guide=luma[0])
    return opponent.to_rgb(torch.cat([luma, chroma]))


def _solve_part(y: torch.Tensor, sat: torch.Tensor | None, k: torch.Tensor, lam: float,
                config: DeconvConfig, pad: int, step: Callable[[], None] | None,
                tones: torch.Tensor | None, data_w: torch.Tensor,
                res_scale: torch.Tensor) -> torch.Tensor:
    """The split solve of some opponent channels, then its ringing blend."""
    out = _solve(y, sat, k, lam, config, pad, step, tones, weight=data_w)
    if config.ringing_boost > 0:
        out = _suppress_ringing(out, y, sat, k, lam, config, pad, tones, weight=data_w,
                                res_scale=res_scale)
    return out


def half_kernel(k: torch.Tensor) -> torch.Tensor:
    """The kernel that blurs a 2 x 2-averaged image as ``k`` blurs the full one.

    Averaging 2 x 2 blocks of ``k * c`` samples ``k * (box * c)`` at even positions; the
    odd positions of ``box * c`` are taken as the mean of their even neighbours, so each
    tap of ``k`` at an odd offset from its centre splits in half between the two even
    offsets beside it: ``k`` filtered with [1/2, 1, 1/2] in y and x, kept at even
    offsets from the centre (the sum stays 1, the centre stays the centre).
    """
    tri = torch.tensor([0.5, 1.0, 0.5], dtype=k.dtype, device=k.device)
    wide = torch.nn.functional.pad(k, (1, 1, 1, 1))  # the spread reaches one tap further
    kt = torch.nn.functional.conv2d(wide[None, None],
                                    (tri[:, None] * tri[None, :])[None, None], padding=1)[0, 0]
    cy, cx = (wide.shape[0] - 1) // 2, (wide.shape[1] - 1) // 2
    kh = kt[cy % 2::2, cx % 2::2]
    return kh / kh.sum()


def _solve_half(y: torch.Tensor, k: torch.Tensor, lam: float, config: DeconvConfig,
                tones: torch.Tensor | None, data_w: torch.Tensor,
                res_scale: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Chroma solved on 2 x 2 averages with :func:`half_kernel`, upsampled along the
    edges of ``guide``, the solved luminance (:func:`._guided.guided_upsample`).

    Chroma carries little detail at the finest scale (as JPEG's 4:2:0 assumes), and the
    solve's cost is its pixels: two of the three channels at a quarter of them halve the
    deconvolution. The average of 2 x 2 pixels has a quarter of one pixel's noise
    variance, so the residual's scale is 4 x a pixel's; the data weight is
    ``config.chroma_half_weight`` x a pixel's (see there).
    """
    kh = half_kernel(k)
    out = _solve_part(halve(y), None, kh, lam, config, max(kh.shape) + 8, None, tones,
                      halve(data_w).mul_(config.chroma_half_weight),
                      halve(res_scale).mul_(4.0))
    return guided_upsample(out, guide, config.chroma_guide_radius, config.chroma_guide_eps)


def _suppress_ringing(out: torch.Tensor, win: torch.Tensor, sat: torch.Tensor | None,
                      k: torch.Tensor, lam: float, config: DeconvConfig,
                      pad: int, tones: torch.Tensor | None = None, *,
                      weight: torch.Tensor | None = None,
                      res_scale: torch.Tensor | None = None) -> torch.Tensor:
    """Blend towards a more regularised solution where the model fails to fit the data.

    With the right kernel the re-blur residual ``k * x - y`` is at the noise level
    everywhere; ringing from a wrong kernel (or an outlier the mask missed) comes with a
    residual well above it, next to the edges that ring. There the result is blended
    (smooth mask, rising from ``ringing_residual`` to twice that, in noise sigmas) into
    the solution with a data weight ``ringing_boost`` times smaller.
    """
    # The squared residual in units of each pixel's noise variance: ``res_scale`` is
    # 1 / that variance; without it, the data weight over noise_gain (RGB channels).
    if res_scale is None:
        res_scale = lam / config.noise_gain if weight is None else \
            weight * (lam / config.noise_gain)
    res = (conv2_same(out, k) - win).square_().mul_(res_scale)
    if sat is not None:
        res = torch.where(sat, torch.zeros_like(res), res)
    r = max(k.shape) // 2
    res = res.mean(0)
    res[:r], res[-r:], res[:, :r], res[:, -r:] = 0, 0, 0, 0  # zero-padded reblur there
    level = torch.sqrt(box_mean(res[None], max(2, r // 2))[0])
    t = config.ringing_residual
    mask = ((level - t) / t).clamp(0.0, 1.0)
    mask = box_mean(mask[None], max(2, r // 2))[0]
    if float(mask.max()) < 0.05:
        return out
    # The same sparse solver with half the inner iterations: the blend only needs a
    # calmer image (a closed-form Gaussian-prior solve instead lost 0.2-0.3 dB).
    light = dc_replace(config, inner_iters=max(1, config.inner_iters // 2))
    lam_s = lam / config.ringing_boost
    if config.ringing_half_resolution and min(win.shape[-2:]) >= 4 * max(k.shape):
        # The calmer image is smooth where it is used: solved on 2 x 2 means (a clipped
        # pixel makes its mean one-sided; 4 x the weight for a quarter of the noise).
        kh = half_kernel(k)
        sat_h = None if sat is None else halve(sat.float()) > 0
        smooth = double(_solve(halve(win), sat_h, kh, lam_s, light, max(kh.shape) + 8,
                                tones=tones,
                                weight=None if weight is None else halve(weight).mul_(4.0)),
                         *win.shape[-2:])
    else:
        smooth = _solve(win, sat, k, lam_s, light, pad, tones=tones, weight=weight)
    return out + mask * (smooth - out)


def chroma_detail(lin: np.ndarray) -> float:
    """The opponent chroma's gradient energy over luminance's, on 4 x 4 means of a
    linear H x W x 3 photo: how much of its detail is colour (the means keep the noise
    from counting). Shaken + 1 % noise, 384-512 px centres: Kodak 0.06-0.86 (most
    below 0.25), urban scenes 0.01-0.37, McMaster's saturated colours 0.23-1.15,
    DIV2K 0.08-1.02, dead leaves of random colours 2.5-3.5."""
    t = torch.from_numpy(np.ascontiguousarray(lin[..., :3])).permute(2, 0, 1)
    y = torch.nn.functional.avg_pool2d(opponent.from_rgb(t)[None], 4)[0]
    if min(y.shape[-2:]) < 2:
        return 0.0
    g = (y[:, 1:] - y[:, :-1]).square().mean((1, 2)) + \
        (y[..., 1:] - y[..., :-1]).square().mean((1, 2))
    return float((g[1] + g[2]) / g[0].clamp_min(1e-12))


def chroma_choice(lin: np.ndarray, config: DeconvConfig) -> DeconvConfig:
    """``config`` with the half-resolution chroma solve turned off for a photo whose
    colour carries more fine detail than any photo measured (:func:`chroma_detail` above
    ``chroma_half_max_detail``): decided once per photo, so every tile solves alike and
    no seam can show. A photo whose file stored its colour at half resolution
    (``chroma_stored_half``) keeps the half solve."""
    if not config.opponent_colour or lin.ndim != 3 or lin.shape[2] < 3:
        return config
    if config.chroma_half_resolution and config.chroma_stored_half:
        return config  # the file kept no finer colour (a 4:2:0 JPEG)
    detail = chroma_detail(lin)
    if config.chroma_half_resolution and detail <= config.chroma_half_max_detail:
        return config
    return dc_replace(config, chroma_half_resolution=False)


def text_tones(lin: np.ndarray) -> np.ndarray:
    """(2, C) ink and paper levels of a linear H x W x C photo: 1st / 97th percentiles."""
    sub = np.asarray(lin, dtype=np.float32)[::2, ::2].reshape(-1, lin.shape[-1])
    return np.percentile(sub, [1.0, 97.0], axis=0).astype(np.float32)


def _saturation_mask(srgb: np.ndarray, config: DeconvConfig) -> np.ndarray | None:
    if config.saturation >= 1.0:
        return None
    mask = srgb >= config.saturation
    if not mask.any():
        return None
    return _dilate(mask, config.saturation_dilate)


def data_weight(lin: np.ndarray, config: DeconvConfig,
                noise_sigma: float | None = None, linear_sigma: bool = False) -> float:
    """Data weight lambda from the noise: noise_gain / sigma_linear^2.

    ``noise_sigma`` given by the caller is in the input's units (sRGB unless
    ``linear_sigma``); it is mapped to linear light with the curve's mean slope over the
    photo, since the prior works on linear values.
    """
    if config.weight is not None:
        return float(config.weight)
    if noise_sigma is None:
        sigma = float(estimate_noise(lin))
    elif linear_sigma:
        sigma = float(noise_sigma)
    else:
        sigma = float(noise_sigma) * reference_slope(lin)
    sigma = max(sigma, config.min_noise)
    return config.noise_gain / sigma ** 2


def photo_noise(rgb: np.ndarray, config: DeconvConfig, noise_sigma: float | None,
                linear: bool, *, read: float | None = None,
                codec: float | None = None) -> float | None:
    """The noise sigma to weigh the data by, in the input's units: the caller's, else
    read from the sRGB photo when the noise is taken as even in sRGB
    (``config.tone_weights``; on a JPEG at least ``config.codec_noise_share`` x the
    codec's blind error, :func:`noise.estimate_codec_noise`), else None
    (:func:`data_weight` reads the linear one). ``read`` / ``codec``:
    ``estimate_noise(rgb)`` / ``estimate_codec_noise(rgb)`` when the caller has them
    already (the acceptance test reads the same photo)."""
    if noise_sigma is not None or linear or not config.tone_weights \
            or config.weight is not None:
        return noise_sigma
    sigma = float(estimate_noise(rgb)) if read is None else read
    if config.codec_noise_share > 0:
        blocks = float(estimate_codec_noise(rgb)) if codec is None else codec
        sigma = max(sigma, config.codec_noise_share * blocks)
    return sigma


def photo_weights(rgb: np.ndarray, lin: np.ndarray, config: DeconvConfig,
                  noise_sigma: float | None, linear: bool) -> tuple[float, float | None]:
    """``(lam, tone_ref)`` once per photo, shared by its tiles and field regions: the data
    weight (:func:`data_weight` of :func:`photo_noise`) and, for an sRGB photo, the
    curve's slope at its median level (:func:`reference_slope`, read once for both)."""
    sigma = photo_noise(rgb, config, noise_sigma, linear)
    if linear:
        return data_weight(lin, config, sigma, linear_sigma=True), None
    ref = reference_slope(lin)
    if sigma is None:
        return data_weight(lin, config), ref
    return data_weight(lin, config, sigma * ref, linear_sigma=True), ref


def reference_slope(lin: np.ndarray) -> float:
    """d(linear)/d(sRGB) at the photo's median level: where an sRGB noise sigma is read
    as a linear one for the photo's single data weight."""
    return float(linear_slope(np.median(linear_to_srgb(lin[::4, ::4]))))


def tile_boxes(h: int, w: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, x0, y1, x1) covering H x W with cores of at most ``tile`` (no overlap)."""
    ny, nx = max(1, math.ceil(h / tile)), max(1, math.ceil(w / tile))
    ys = np.linspace(0, h, ny + 1).round().astype(int)
    xs = np.linspace(0, w, nx + 1).round().astype(int)
    return [(int(ys[i]), int(xs[j]), int(ys[i + 1]), int(xs[j + 1]))
            for i in range(ny) for j in range(nx)]


def deconvolve(image: np.ndarray, kernel: np.ndarray | torch.Tensor,
               config: DeconvConfig | None = None, *, noise_sigma: float | None = None,
               linear: bool = False, progress: ProgressFn | None = None,
               cancel: CancelFn | None = None) -> np.ndarray:
    """Deconvolve an H x W x C photo (sRGB in [0, 1], or linear with ``linear=True``).

    ``noise_sigma`` (in the input's units) overrides the estimate. Alpha (C = 2 or 4)
    passes through untouched. Photos larger than ``config.tile`` are done window by
    window with a context margin; since each window returns only its core (its borders'
    effects stay in the margin), the cores tile the photo without seams. ``progress``
    gets fractions in [0, 1]; ``cancel`` returning True raises :class:`DeconvCancelled`.
    """
    config = config or DeconvConfig()
    rgb, alpha, squeeze = _split_alpha(image)
    lin = rgb if linear else srgb_to_linear(rgb)
    config = chroma_choice(lin, config)
    lam, tone_ref = photo_weights(rgb, lin, config, noise_sigma, linear)
    # The clipped mask compares with a level below 1, so the sRGB input needs no clipped
    # copy (one photo-sized array less at 12 MP).
    sat = _saturation_mask(linear_to_srgb(rgb) if linear else rgb, config)
    h, w = lin.shape[:2]
    boxes = tile_boxes(h, w, config.tile)
    # Per-window total inner iterations, for progress.
    per = len(beta_levels(config)) * config.inner_iters
    total = max(1, per * len(boxes))
    done = [0]

    def step() -> None:
        done[0] += 1
        if cancel is not None and cancel():
            raise DeconvCancelled("deconvolution cancelled")
        if progress is not None:
            progress(min(1.0, done[0] / total))

    out = np.empty_like(lin)
    lin_t = torch.from_numpy(np.ascontiguousarray(lin))
    tones = text_tones(lin) if config.intensity_l0 > 0 else None
    for box in boxes:
        y0, x0, y1, x1 = box
        out[y0:y1, x0:x1] = deconvolve_window(lin_t, kernel, box, lam=lam, sat=sat,
                                              config=config, step=step, tones=tones,
                                              tone_ref=tone_ref)
    if progress is not None:
        progress(1.0)
    del lin_t, lin
    res = out if linear else np.clip(linear_to_srgb(out), 0.0, 1.0, out=out)
    return _join_alpha(res.astype(np.float32, copy=False), alpha, squeeze)


def wiener(image: np.ndarray, kernel: np.ndarray | torch.Tensor, nsr: float = 1e-3, *,
           linear: bool = False, device: str | None = None) -> np.ndarray:
    """Wiener filter reference: X = conj(K) Y / (|K|^2 + nsr), on a periodic extension.

    ``nsr`` is the (flat) noise-to-signal power ratio. Same colour handling as
    :func:`deconvolve` (linear light, alpha passes through).
    """
    rgb, alpha, squeeze = _split_alpha(image)
    lin = rgb if linear else srgb_to_linear(rgb)
    dev = torch.device(device or "cpu")
    k = _to_kernel(kernel, dev)
    y = torch.from_numpy(np.ascontiguousarray(lin)).to(dev).permute(2, 0, 1)
    yp, (top, left, h, w) = extend_periodic(y, max(k.shape) + 8)
    hp, wp = yp.shape[-2:]
    kotf = psf2otf(k, (hp, wp))
    x = torch.fft.irfft2(kotf.conj() * torch.fft.rfft2(yp) / (kotf.abs() ** 2 + nsr),
                         s=(hp, wp))
    out = x[:, top:top + h, left:left + w].permute(1, 2, 0).cpu().numpy()
    res = out if linear else np.clip(linear_to_srgb(out), 0.0, 1.0)
    return _join_alpha(res.astype(np.float32), alpha, squeeze)


