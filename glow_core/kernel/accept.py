"""Acceptance test of a blind deconvolution: keep it, attenuate it, or back off.

Why: a blind estimate can be confidently wrong (ambiguous content, a blur that is not
one kernel, a kernel larger than the search window); deconvolving with it then makes
the photo clearly worse (measured on the held-out GoPro frame-averaging pairs: up to
-16 dB at estimator confidence 0.86). The estimator's own confidence only sees the
estimate; this module checks it against the photo:

* **consistency across regions** -- camera shake gives nearly the same kernel all over
  the frame, a wrong estimate on ambiguous content does not repeat: the kernel is
  re-estimated (with the global size) on two disjoint halves of the photo and compared
  with the global one (``kernel_similarity``, max NCC over shifts);
* **post-deconvolution checks** on the result (grey, display units, interior only):
  the re-blur residual ``y - k * x`` in noise sigmas, its concentration on the edges,
  and overshoot (ringing: values outside the local range of the blurry input). On a
  JPEG the residual's sigma is at least a share of the codec's error, estimated blind
  from the photo's 8 x 8 blocking (:func:`_codec_sigma`): the codec wipes the noise out
  of the flat areas where the noise estimate looks, not out of the residual.

:func:`accept` combines them into a score in [0, 1] and a blend strength; the engine
returns ``strength * deconvolved + (1 - strength) * blurry`` (strength 0: the input), the
strength lowered further in the cells of the photo that one kernel does not explain
(:func:`cell_strengths`) or, for a field, in its regions (:func:`region_strengths`).
The thresholds are in :class:`AcceptConfig` with the measurements that chose them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from .config import AcceptConfig, KernelConfig
from .deconvolve import _split_alpha
from .fft import conv2_same
from .linear import linear_to_srgb, srgb_to_linear
from .noise import channel_min
from .noise import photo_grey as _grey

__all__ = ["Acceptance", "accept", "accept_field", "blend", "cell_grid", "cell_strengths",
           "deconvolution_checks", "field_consistency", "region_consistency",
           "start_agreement"]


@dataclass
class Acceptance:
    """Result of :func:`accept`: ``score`` in [0, 1], ``strength`` in [0, 1] (share of
    the deconvolution in the output), ``reasons`` (why it was attenuated / refused) and
    the measured ``features``."""

    score: float
    strength: float
    reasons: list[str] = field(default_factory=list)
    features: dict = field(default_factory=dict)

    @property
    def backs_off(self) -> bool:
        return self.strength <= 0.0

    @property
    def part_shares(self) -> np.ndarray | None:
        """The share of the strength each part of the photo kept in the blend (gy x gx:
        one kernel's cells, :func:`cell_strengths`, or a field's regions,
        :func:`region_strengths`); None where one strength held everywhere."""
        shares = self.features.get("cell_strengths", self.features.get("region_strengths"))
        return None if shares is None else np.asarray(shares, dtype=np.float64)


def _window_max(t: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Max over every run of ``n`` along ``dim`` (valid positions: length - n + 1), by
    doubling: runs of 1, 2, 4, ... then one last overlap, ~log2(n) + 1 elementwise passes
    whatever ``n`` is. torch's CPU max pooling compares all ``n`` per pixel: at 4 MP its 27
    px runs took ~0.12 s each, 2.2 s of the acceptance test's 3 s."""
    w = 1
    while 2 * w <= n:
        size = t.shape[dim] - w
        t = torch.maximum(t.narrow(dim, 0, size), t.narrow(dim, w, size))
        w *= 2
    if w < n:
        size = t.shape[dim] - (n - w)
        t = torch.maximum(t.narrow(dim, 0, size), t.narrow(dim, n - w, size))
    return t


def _maxpool(x: torch.Tensor, r: int) -> torch.Tensor:
    """Local max over (2r+1)^2, edge-replicated; separable (rows, then columns), each a
    :func:`_window_max` (r is half the kernel: a 27 x 27 window over a 12 MP photo was
    seconds)."""
    n = 2 * r + 1
    t = F.pad(x[None, None], (r, r, r, r), mode="replicate")[0, 0]
    return _window_max(_window_max(t, n, 1), n, 0).contiguous()


def _gradient_energy(y: torch.Tensor) -> torch.Tensor:
    """``gx^2 + gy^2`` of backward differences (0 in the first row / column), in place in
    two photo-sized tensors: at 12 MP each pass over the grey is ~10 ms and each fresh
    tensor ~10 ms of page faults, and the checks read this twice."""
    gy = torch.zeros_like(y)
    gx = torch.zeros_like(y)
    torch.sub(y[1:], y[:-1], out=gy[1:])
    torch.sub(y[:, 1:], y[:, :-1], out=gx[:, 1:])
    return gx.mul_(gx).addcmul_(gy, gy)


def deconvolution_checks(blurry: np.ndarray, deconvolved: np.ndarray, kernel: np.ndarray,
                         noise_sigma: float, *, residual_floor: float = 0.002,
                         overshoot_floor: float = 0.01, codec_sigma: float = 0.0,
                         clipped: float | None = None,
                         blurry_grey: np.ndarray | None = None, cell: int = 0) -> dict:
    """Residual and ringing features of a deconvolution (blurry/deconvolved: sRGB [0, 1]).

    * ``residual``: rms of ``y - srgb(k * lin(x))`` over the interior, in noise sigmas;
    * ``edge_residual``: mean squared residual on the 10 % strongest edges of ``y`` over
      that on the rest (a wrong kernel leaves structure at edges);
    * ``overshoot``: rms of the part of ``x`` outside [local min - 2 sigma, local max +
      2 sigma] of ``y`` (window of the kernel's size), in noise sigmas (ringing halos);
    * ``sharpen``: gradient energy of ``x`` over that of ``y``.

    The two sigmas have different floors (:class:`AcceptConfig`): a residual is judged
    against the photo's own noise (down to 8-bit quantisation), ringing against at least
    1 % noise, the level its thresholds were measured at, since a halo is seen in absolute
    terms. ``codec_sigma`` (a JPEG's error, :func:`_codec_sigma`) is a further floor of the
    residual's sigma only: a codec removes noise where the noise estimate looks (flat
    areas) and leaves error where the residual is large (edges, texture).

    Blurry pixels with every channel at or above ``clipped`` (near-white lights; default
    :attr:`AcceptConfig.clipped`; and a kernel radius around them) are left out
    of both residuals: a light brighter than white is clipped in the blurry photo and in
    the result alike, so re-blurring the result cannot give its streak back (a right
    kernel on a night street read 4-5 sigmas there). When they would leave less than a
    tenth of the interior, everything counts.

    In float32: the features are ratios of means over ~10^5-10^7 pixels, far from
    float32's limits, and at 12 MP the float64 copies of the photo cost ~1.5 GB.
    ``blurry_grey``: ``_grey(blurry)`` when the caller has it (the steepness check reads
    the same grey). ``cell`` > 0: also ``cell_residuals``, the residual (noise sigmas) of
    each cell of a grid of about that many px (:func:`cell_grid`), for
    :func:`cell_strengths`.
    """
    y = torch.from_numpy((_grey(blurry) if blurry_grey is None else blurry_grey)
                         .astype(np.float32, copy=False))
    x = torch.from_numpy(_grey(deconvolved).astype(np.float32))
    k = torch.from_numpy(np.asarray(kernel, dtype=np.float32))
    sigma = max(float(noise_sigma), residual_floor, float(codec_sigma))
    sigma_ov = max(float(noise_sigma), overshoot_floor)
    reblur = torch.from_numpy(linear_to_srgb(conv2_same(
        torch.from_numpy(srgb_to_linear(x.numpy())), k).numpy()))
    b = max(k.shape) + 2
    h, w = y.shape
    if h <= 2 * b + 8 or w <= 2 * b + 8:
        b = max(1, min(h, w) // 4)
    sl = (slice(b, h - b), slice(b, w - b))
    r = (y - reblur)[sl]
    g2_in = _gradient_energy(y)[sl]
    g = torch.sqrt(g2_in)
    rad = max(1, max(k.shape) // 2)
    level = AcceptConfig.clipped if clipped is None else clipped
    top = channel_min(_split_alpha(blurry)[0])  # near white: a light, not a red door
    keep = ~(_maxpool(torch.from_numpy(np.ascontiguousarray(top >= level)).float(), rad)[sl] > 0)
    if float(keep.float().mean()) < 0.1:
        keep = torch.ones_like(keep)
    cells = _cell_residuals(r * r, keep, (h, w), b, cell) if cell else None
    r, g = r[keep], g[keep]
    thr = torch.quantile(g.flatten()[:: max(1, g.numel() // 200_000)], 0.9)
    edge = g >= thr
    r2 = r * r
    e_edge = float(r2[edge].mean()) if edge.any() else 0.0
    e_rest = float(r2[~edge].mean()) if (~edge).any() else 1e-12
    hi = _maxpool(y, rad) + 2 * sigma_ov
    lo = -_maxpool(-y, rad) - 2 * sigma_ov
    ov = (x - torch.minimum(torch.maximum(x, lo), hi))[sl]
    sharp_in = float(g2_in.mean())
    sharp_out = float(_gradient_energy(x)[sl].mean())
    out = {
        "residual": float(torch.sqrt(r2.mean())) / sigma,
        "edge_residual": e_edge / max(e_rest, 1e-12),
        "overshoot": float(torch.sqrt((ov * ov).mean())) / sigma_ov,
        "sharpen": sharp_out / max(sharp_in, 1e-12),
        "residual_rms": float(torch.sqrt(r2.mean())),
        "residual_sigma": sigma,
    }
    if cells is not None:
        out["cell_residuals"] = (np.sqrt(cells) / sigma).round(4).tolist()
    return out


def _cell_residuals(r2: torch.Tensor, keep: torch.Tensor, size: tuple[int, int], border: int,
                    cell: int) -> np.ndarray:
    """Mean squared residual per cell of a grid of ``cell`` px cells over the whole photo
    (``size``), read off the interior's residual ``r2`` (kept pixels only; a cell without
    any is nan: nothing there to judge). One pass over the map already computed, so a
    12 MP photo's ~700 cells of 128 px cost a few block sums."""
    h, w = size
    gy, gx = cell_grid(h, w, cell)
    ys = np.linspace(0, h, gy + 1).round().astype(int) - border
    xs = np.linspace(0, w, gx + 1).round().astype(int) - border
    hi, wi = r2.shape
    kept = r2 * keep
    out = np.full((gy, gx), np.nan)
    for i in range(gy):
        y0, y1 = max(0, ys[i]), min(hi, ys[i + 1])
        for j in range(gx):
            x0, x1 = max(0, xs[j]), min(wi, xs[j + 1])
            if y1 <= y0 or x1 <= x0:
                continue
            n = float(keep[y0:y1, x0:x1].sum())
            if n > 0:
                out[i, j] = float(kept[y0:y1, x0:x1].sum()) / n
    return out


def cell_grid(h: int, w: int, cell: int) -> tuple[int, int]:
    """(rows, columns) of the grid of about ``cell`` px cells over an h x w photo."""
    return max(1, round(h / cell)), max(1, round(w / cell))


Estimator = Callable[..., object]


def _halves(h: int, w: int) -> list[tuple[int, int, int, int]]:
    if w >= h:
        return [(0, 0, h, w // 2), (0, w - w // 2, h, w)]
    return [(0, 0, h // 2, w), (h - h // 2, 0, h, w)]


def region_consistency(image: np.ndarray, kernel: np.ndarray | Callable[[tuple], np.ndarray],
                       kernel_config: KernelConfig | None = None, *,
                       estimator: Estimator | None = None, max_side: int = 384,
                       cancel: Callable[[], bool] | None = None) -> dict:
    """Re-estimate the kernel (same size) on the two halves of ``image``; compare.

    Each half contributes its most textured square of at most ``max_side`` px (the
    estimator's region choice). ``kernel``: the kernel to check, or a function of the
    region (y0, x0, y1, x1) giving the expected kernel there (a kernel field). Returns
    ``sims`` (each half's kernel vs the expected one), ``pair`` (the halves against each
    other), ``min`` (nan when the photo is too small to split) and the half kernels.
    """
    from .estimate import choose_region, kernel_similarity
    from .estimate import estimate_kernel as default_estimator

    est_fn = estimator or default_estimator
    # the halves only check the kernel's shape: no polish (two region deconvolutions each)
    # and one start
    kcfg = replace(kernel_config or KernelConfig(), polish_rounds=0, extra_starts=())
    img = np.asarray(image)
    h, w = img.shape[:2]
    ref_of = kernel if callable(kernel) else (lambda _region: kernel)
    size = int(np.asarray(ref_of((0, 0, h, w))).shape[0])
    grey_t = torch.from_numpy(_grey(img).astype(np.float32))
    kernels, sims = [], []
    for y0, x0, y1, x1 in _halves(h, w):
        side = min(max_side, y1 - y0, x1 - x0)
        if side < max(48, 2 * size + 2):
            return {"sims": [], "pair": float("nan"), "min": float("nan"), "kernels": []}
        ry0, rx0, ry1, rx1 = choose_region(grey_t[y0:y1, x0:x1], side)
        region = (y0 + ry0, x0 + rx0, y0 + ry1, x0 + rx1)
        kwargs = {"kernel_size": size, "region": region}
        if cancel is not None:
            kwargs["cancel"] = cancel
        est = est_fn(img, kcfg, **kwargs)
        kernels.append(np.asarray(est.kernel, dtype=np.float64))
        ref = np.asarray(ref_of(region), dtype=np.float64)
        sims.append(float(kernel_similarity(ref, kernels[-1])))
    pair = float(kernel_similarity(kernels[0], kernels[1]))
    return {"sims": sims, "pair": pair, "min": float(min(sims)), "kernels": kernels}


def field_consistency(image: np.ndarray, kfield: object,
                      kernel_config: KernelConfig | None = None, *,
                      estimator: Estimator | None = None,
                      cancel: Callable[[], bool] | None = None) -> dict:
    """:func:`region_consistency` of a :class:`KernelField`: each half's kernel is
    compared with the field's kernel at that half's region (the global kernel when the
    field is uniform), so a truly varying blur that the field follows still agrees."""
    if kfield.uniform or kfield.grid == (1, 1):
        ref: np.ndarray | Callable = kfield.global_kernel if kfield.uniform \
            else kfield.kernels[0, 0]
    else:
        def ref(region: tuple) -> np.ndarray:
            y0, x0, y1, x1 = region
            return kfield.kernel_at(0.5 * (y0 + y1), 0.5 * (x0 + x1))
    return region_consistency(image, ref, kernel_config, estimator=estimator, cancel=cancel)


def blend(blurry: np.ndarray, deconvolved: np.ndarray,
          strength: float | np.ndarray) -> np.ndarray:
    """``strength * deconvolved + (1 - strength) * blurry`` (in sRGB, alpha from blurry).
    ``strength``: one share, or an H x W map of them (a varying field's region shares)."""
    if np.ndim(strength) == 0:
        s = float(np.clip(strength, 0.0, 1.0))
        if s >= 1.0:
            return deconvolved
        if s <= 0.0:
            return blurry
    else:
        s = np.clip(np.asarray(strength, np.float32), 0.0, 1.0)
        if np.ndim(blurry) == 3:
            s = s[:, :, None]
    return (s * np.asarray(deconvolved, np.float32)
            + (1 - s) * np.asarray(blurry, np.float32)).astype(np.float32)


def _ramp(v: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between (either order)."""
    if not np.isfinite(v):
        return 1.0
    t = (v - bad) / (good - bad) if good != bad else float(v >= good)
    return float(np.clip(t, 0.0, 1.0))


def start_agreement(estimate: object) -> float | None:
    """How far another of the estimator's starts confirms the chosen kernel of
    ``estimate`` (a :class:`KernelEstimate` or :class:`KernelField`: the kernel similarity
    of the closest other start that found blur and explains the region,
    ``estimate._pick_start``'s ``info["agreement"]``), or None where only one start ran (a
    region of a field, a kernel read off light streaks, a first start that found no blur)
    or the object carries no ``info`` (a stand-in estimator's result)."""
    agreement = getattr(estimate, "info", {}).get("agreement")
    return None if agreement is None else float(agreement)


#: The parts judged before deconvolving (an earlier acceptance's are reused as they are).
PRE_PARTS = ("confidence", "consistency", "agreement")


def _pre_parts(conf: float, consistency: dict | None, config: AcceptConfig,
               agreement: float | None = None) -> tuple[dict, dict]:
    feats: dict = {"confidence": conf}
    parts = {"confidence": _ramp(conf, config.min_confidence, config.full_confidence)}
    if agreement is not None and config.agreement_check:
        feats["agreement"] = agreement
        parts["agreement"] = _ramp(agreement, config.min_agreement, config.full_agreement)
    if consistency is not None:
        feats["consistency"] = consistency["min"]
        feats["consistency_pair"] = consistency["pair"]
        parts["consistency"] = _ramp(consistency["min"], config.min_consistency,
                                     config.full_consistency)
    return parts, feats


def _post_parts(feats: dict, config: AcceptConfig) -> dict:
    parts = {"overshoot": _ramp(feats["overshoot"], config.max_overshoot, config.ok_overshoot),
             "residual": _ramp(feats["residual"], config.max_residual, config.ok_residual)}
    if config.edge_residual_check:
        parts["edge_residual"] = _ramp(feats["edge_residual"], config.max_edge_residual,
                                       config.ok_edge_residual)
    steep = feats.get("steepness", float("nan"))
    if config.steepness_check and math.isfinite(steep):
        parts["steepness"] = _ramp(steep, config.max_steepness, config.ok_steepness)
    return parts


def _steepness(grey: np.ndarray, kernel: np.ndarray, noise_sigma: float,
               config: AcceptConfig) -> dict:
    """``{"steepness": ...}`` (:mod:`.steepness`) of the blurry photo's grey when the
    check is on, else nothing."""
    if not config.steepness_check:
        return {}
    from .steepness import edge_steepness

    return {"steepness": edge_steepness(grey, kernel, noise_sigma, clipped=config.clipped)}


def _finish(parts: dict, feats: dict, config: AcceptConfig) -> Acceptance:
    score = float(np.prod(list(parts.values()))) if parts else 1.0
    reasons = [f"{name} {feats.get(name, float('nan')):.2f} -> x{v:.2f}"
               for name, v in parts.items() if v < 1.0]
    strength = score if score >= config.min_strength else 0.0
    if strength <= 0.0:
        reasons.append(f"score {score:.2f} < {config.min_strength}: back off")
    return Acceptance(score=score, strength=strength, reasons=reasons,
                      features=dict(feats, parts=dict(parts)))


def _noise(blurry: np.ndarray, noise_sigma: float | None) -> float:
    """The given noise sigma, or the photo's estimated one."""
    if noise_sigma is not None:
        return float(noise_sigma)
    from .noise import estimate_noise

    return float(estimate_noise(_split_alpha(blurry)[0]))


def _codec_sigma(blurry: np.ndarray, config: AcceptConfig, codec: float | None = None
                 ) -> float:
    """The residual's floor for a block-coded photo: ``config.codec_residual_share`` of
    its blind codec error (:func:`glow_core.kernel.noise.estimate_codec_noise`; 0
    without 8 x 8 blocking). From the pixels, not the file: the stage gets pixels only,
    and a JPEG saved again as PNG keeps its blocks."""
    if config.codec_residual_share <= 0.0:
        return 0.0
    from .noise import estimate_codec_noise

    if codec is None:
        codec = float(estimate_codec_noise(_split_alpha(blurry)[0]))
    return config.codec_residual_share * codec


def _floors(config: AcceptConfig, codec_sigma: float = 0.0) -> dict:
    return {"residual_floor": config.residual_sigma_floor,
            "overshoot_floor": config.overshoot_sigma_floor, "codec_sigma": codec_sigma,
            "clipped": config.clipped}


def _post(blurry: np.ndarray, deconvolved: np.ndarray, kernel: np.ndarray,
          noise_sigma: float | None, parts: dict, feats: dict, config: AcceptConfig,
          codec_error: float | None = None) -> None:
    noise_sigma = _noise(blurry, noise_sigma)
    codec = _codec_sigma(blurry, config, codec_error)
    grey = _grey(blurry)
    post = deconvolution_checks(blurry, deconvolved, kernel, noise_sigma,
                                blurry_grey=grey, cell=config.cell_size, **_floors(config, codec))
    post.update(_steepness(grey, kernel, noise_sigma, config))
    feats.update(post)
    parts.update(_post_parts(post, config))


def accept_field(kfield: object, consistency: dict | None, config: AcceptConfig, *,
                 blurry: np.ndarray | None = None, deconvolved: np.ndarray | None = None,
                 noise_sigma: float | None = None,
                 previous: Acceptance | None = None,
                 codec_error: float | None = None) -> Acceptance:
    """Acceptance of a :class:`KernelField`: confidence x consistency (``previous``
    reuses an earlier pre-deconvolution result), then, given the deconvolution, the
    post checks (a varying field: see :func:`_post_regions`). ``codec_error``: the
    photo's blind codec error (:func:`glow_core.kernel.noise.estimate_codec_noise`) when
    the caller has read it (else read here)."""
    if previous is not None:
        feats = {k: v for k, v in previous.features.items() if k != "parts"}
        parts = {k: v for k, v in previous.features.get("parts", {}).items()
                 if k in PRE_PARTS}
    else:
        parts, feats = _pre_parts(float(kfield.global_confidence), consistency, config,
                                  start_agreement(kfield))
    if blurry is not None and deconvolved is not None:
        if kfield.uniform or kfield.grid == (1, 1):
            k = kfield.global_kernel if kfield.uniform else kfield.kernels[0, 0]
            _post(blurry, deconvolved, k, noise_sigma, parts, feats, config, codec_error)
        else:
            _post_regions(blurry, deconvolved, kfield, noise_sigma, parts, feats, config,
                          codec_error)
    return _finish(parts, feats, config)


def _post_regions(blurry: np.ndarray, deconvolved: np.ndarray, kfield: object,
                  noise_sigma: float | None, parts: dict, feats: dict,
                  config: AcceptConfig, codec_error: float | None = None) -> None:
    """Post checks of a varying field. Overshoot (ringing) needs no kernel but its
    size: it is measured on the whole blended result. The residuals need one kernel:
    per region with its own, the median region counts for the whole field (a region
    straddling two blurs fits neither, but the residual-aware blend does not use it
    there), and each region's own residual is kept (``features["region_residuals"]``)
    for :func:`region_strengths`."""
    noise_sigma = _noise(blurry, noise_sigma)
    floors = _floors(config, _codec_sigma(blurry, config, codec_error))  # the whole photo's
    grey = _grey(blurry)
    whole = deconvolution_checks(blurry, deconvolved, kfield.global_kernel, noise_sigma,
                                 blurry_grey=grey, **floors)
    per: dict = {"residual": [], "edge_residual": []}
    gy, gx = kfield.grid
    for i in range(gy):
        for j in range(gx):
            y0, x0, y1, x1 = (int(v) for v in kfield.boxes[i, j])
            f = deconvolution_checks(blurry[y0:y1, x0:x1], deconvolved[y0:y1, x0:x1],
                                     kfield.kernels[i, j], noise_sigma, **floors)
            for name in per:
                per[name].append(f[name])
    whole.update(_steepness(grey, kfield.global_kernel, noise_sigma, config))
    found = dict(whole, **{name: float(np.median(v)) for name, v in per.items()})
    feats.update(found)
    feats["region_residuals"] = np.asarray(per["residual"]).reshape(gy, gx).round(4).tolist()
    parts.update(_post_parts(found, config))


def region_strengths(acceptance: Acceptance, config: AcceptConfig) -> np.ndarray | None:
    """Each region's share of a varying field's deconvolution (gy x gx in [0, 1]): the
    residual check's ramp on the region's own re-blur residual, or None for a field
    without per-region residuals (one kernel).

    Why per region: the field's residual is its median region's, which lets a few regions
    the model cannot explain (a moving subject, a kernel fitted to it) through whole. On
    real GoPro frames two fields were kept at 0.84 / 0.98 with four regions at 9-24 noise
    sigmas losing 4-9 dB each (the frames lost 4.0 / 3.4 dB; one kernel was refused
    there, its whole-frame residual 10.6 sigmas)."""
    res = acceptance.features.get("region_residuals")
    if res is None:
        return None
    return _ramps(np.asarray(res, dtype=np.float64), config)


def cell_strengths(acceptance: Acceptance, config: AcceptConfig) -> np.ndarray | None:
    """Each cell's share of one kernel's deconvolution (gy x gx in [0, 1]), to multiply
    the photo's strength with: the residual check's ramp on the cell's own re-blur
    residual (:attr:`AcceptConfig.cell_size`), or None without cell residuals.

    Where the photo's residual is above the ramp's ok level it has already lowered the
    strength, so the cells are judged against it (scaled by ok / photo's residual): a
    cell is held back for fitting worse than the photo does, not twice for the same
    misfit (judged absolutely, two real crops kept at 0.36 / 0.57 lost 1.6 dB of their
    +2.9 / +3.6). It only lowers the strength: raising it where a cell fits lost on real
    frames, since a wrong kernel fits a static part of a scene too."""
    res = acceptance.features.get("cell_residuals")
    if res is None:
        return None
    whole = float(acceptance.features.get("residual", float("nan")))
    scale = config.ok_residual / max(config.ok_residual, whole) if math.isfinite(whole) \
        else 1.0
    return _ramps(np.asarray(res, dtype=np.float64) * scale, config)


def _ramps(residuals: np.ndarray, config: AcceptConfig) -> np.ndarray:
    """The residual check's ramp on each of an array of residuals."""
    return np.vectorize(lambda v: _ramp(float(v), config.max_residual, config.ok_residual),
                        otypes=[np.float64])(residuals)


def accept(blurry: np.ndarray, deconvolved: np.ndarray, estimate: object,
           noise_sigma: float | None, config: AcceptConfig | None = None, *,
           consistency: dict | None = None, kernel_config: KernelConfig | None = None,
           estimator: Estimator | None = None,
           cancel: Callable[[], bool] | None = None) -> Acceptance:
    """Score a blind deconvolution and choose its strength (see :class:`AcceptConfig`).

    ``blurry`` / ``deconvolved``: sRGB in [0, 1]. ``estimate``: a :class:`KernelEstimate`
    or a :class:`KernelField`; ``consistency``: a precomputed :func:`region_consistency`
    (else computed here, two extra estimates, when ``config.use_consistency``). The
    engine outputs :func:`blend` ``(blurry, deconvolved, result.strength)``.
    """
    config = config or AcceptConfig()
    if hasattr(estimate, "global_kernel"):
        prev = getattr(estimate, "acceptance", None)
        if prev is None and consistency is None and config.use_consistency:
            consistency = field_consistency(blurry, estimate, kernel_config,
                                            estimator=estimator, cancel=cancel)
        return accept_field(estimate, consistency, config, blurry=blurry,
                            deconvolved=deconvolved, noise_sigma=noise_sigma, previous=prev)
    kernel = np.asarray(estimate.kernel)
    if consistency is None and config.use_consistency:
        consistency = region_consistency(blurry, kernel, kernel_config, estimator=estimator,
                                         cancel=cancel)
    parts, feats = _pre_parts(float(estimate.confidence), consistency, config,
                              start_agreement(estimate))
    _post(blurry, deconvolved, kernel, noise_sigma, parts, feats, config)
    return _finish(parts, feats, config)
