"""Spatially varying blur: a grid of kernels (the "blur trace"), estimated and deconvolved.

Why: in a real hand-held photo, rotation about the optical axis and depth make the blur
differ across the frame; one kernel then fits the centre and rings at the corners. Like
efficient filter flow (Hirsch et al. 2010), the photo is covered by overlapping regions,
each with its own kernel, and the per-region results are blended with raised-cosine
weights that sum to one over the overlaps, so there is no seam.

* **Regions** are at least ``region_min`` (256) px and ``region_per_kernel`` (4) kernel
  widths, so each sees enough edges in every direction; the grid follows the photo's
  size and aspect, capped at ``max_cells`` per side.
* **Estimated where the photo is**: a region larger than the estimator's own window
  (``KernelConfig.region_max``, 512 px) is estimated on its most textured window of that
  size, so the cost follows the number of regions, not the photo's size.
* **Own or global**: a region keeps its own kernel only where it explains the region
  better than the whole photo's kernel (re-blur residual lower by
  ``FieldConfig.own_margin``); else it takes the global kernel. A region's estimate (one
  start, a quarter of the photo or less) is much less reliable than the photo's: without
  this test the field lost 1.4 dB to one kernel on uniform blur (see
  ``benchmarks/varying_blur.py`` and the config's note).
* **Confidence-weighted regularisation**: a textureless or failed region (low
  confidence from the estimator) is pulled towards the confidence-weighted mean of its
  4-neighbours and the global kernel (each aligned to it by integer shift, so averaging
  does not smear); a confident region keeps its own kernel.
* **One kernel when they agree**: if every confident region resembles the global kernel,
  the field is marked uniform and deconvolved with the global kernel alone (faster, and
  no chance of blending artefacts).
* **Back off**: if the global estimate itself is not trusted, the engine should skip
  deconvolution (``KernelField.backs_off``) rather than damage a sharp photo.
* **Acceptance** (:mod:`glow_core.kernel.accept`): ``estimate_kernel_field`` attaches the
  pre-deconvolution part, ``deconvolve_field`` checks the result for ringing / residual
  and returns ``strength * deconvolved + (1 - strength) * image`` (the input when refused),
  each region's share further cut by its own re-blur residual
  (:func:`accept.region_strengths`): a region the field cannot explain keeps the photo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from ._resample import box_mean
from .accept import (
    Acceptance,
    accept_field,
    blend,
    cell_strengths,
    field_consistency,
    region_strengths,
    start_agreement,
)
from .config import AcceptConfig, DeconvConfig, FieldConfig, KernelConfig
from .deconvolve import (
    DeconvCancelled,
    _join_alpha,
    _saturation_mask,
    _split_alpha,
    chroma_choice,
    deconvolve,
    deconvolve_window,
    photo_noise,
    photo_weights,
    raised_cosine,
)
from .linear import linear_to_srgb, srgb_to_linear
from .noise import estimate_codec_noise, estimate_noise

__all__ = ["KernelField", "deconvolve_field", "estimate_kernel_field", "field_grid"]

Box = tuple[int, int, int, int]


@dataclass
class KernelField:
    """Kernels on a grid of overlapping regions, with confidences (the blur trace).

    ``kernels``: gy x gx x k x k float32 (each sum 1, scipy orientation);
    ``confidences``: gy x gx in [0, 1] (after regularisation: the share of the region's
    own estimate in its kernel); ``boxes``: gy x gx x 4 int (y0, x0, y1, x1) in pixels;
    ``global_kernel`` / ``global_confidence``: the whole-photo estimate; ``uniform``: all
    regions agree, so one kernel is used; ``image_size``: (height, width).
    """

    kernels: np.ndarray
    confidences: np.ndarray
    boxes: np.ndarray
    global_kernel: np.ndarray
    global_confidence: float
    image_size: tuple[int, int]
    uniform: bool = False
    min_confidence: float = 0.15
    raw_confidences: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    # Acceptance test (glow_core.kernel.accept), set for blind fields only: before
    # deconvolution from confidence and cross-region consistency; deconvolve_field
    # completes it with the post-deconvolution checks and blends by its strength.
    acceptance: Acceptance | None = None
    accept_config: AcceptConfig | None = None

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.kernels.shape[0]), int(self.kernels.shape[1])

    @property
    def backs_off(self) -> bool:
        """True when the estimate is not trusted and deconvolution should be skipped.

        Low global confidence, or (blind fields) the acceptance test refused it before
        deconvolution (e.g. the halves of the photo disagree with the kernel).
        """
        if self.global_confidence < self.min_confidence:
            return True
        return self.acceptance is not None and self.acceptance.strength <= 0.0

    @property
    def strength(self) -> float:
        """Share of the deconvolution in the stage's output (1: all, 0: the input)."""
        if self.backs_off:
            return 0.0
        return 1.0 if self.acceptance is None else float(self.acceptance.strength)

    @classmethod
    def single(cls, kernel: np.ndarray, image_size: tuple[int, int],
               confidence: float = 1.0) -> KernelField:
        """A 1 x 1 field holding one kernel (a user's kernel file, or a global estimate)."""
        k = np.asarray(kernel, dtype=np.float32)
        h, w = image_size
        return cls(kernels=k[None, None], confidences=np.full((1, 1), confidence),
                   boxes=np.array([[[0, 0, h, w]]]), global_kernel=k,
                   global_confidence=confidence, image_size=(h, w), uniform=True)

    def kernel_images(self) -> list[tuple[Box, np.ndarray]]:
        """(box, kernel image) per region, row-major; images are peak-normalised to 1."""
        out = []
        gy, gx = self.grid
        for i in range(gy):
            for j in range(gx):
                k = self.kernels[i, j]
                out.append((tuple(int(v) for v in self.boxes[i, j]),
                            (k / max(float(k.max()), 1e-12)).astype(np.float32)))
        return out

    def overlay(self, width: int | None = None, height: int | None = None,
                colour: tuple[int, int, int] = (255, 214, 64)) -> np.ndarray:
        """An RGBA uint8 image of the blur trace, to lay over the photo scaled to it.

        Each region's kernel is drawn (peak-normalised, magnified by nearest neighbour)
        at the centre of the region's core, at about 60 % of the cell, with alpha following
        the kernel's intensity and dimmed by the region's confidence; thin lines mark
        the cells. Default size: the photo's size scaled to 512 px on the long side.
        """
        h, w = self.image_size
        if width is None and height is None:
            s = 512 / max(h, w)
            width, height = max(1, round(w * s)), max(1, round(h * s))
        elif height is None:
            height = max(1, round(h * width / w))
        elif width is None:
            width = max(1, round(w * height / h))
        img = np.zeros((height, width, 4), dtype=np.uint8)
        sy, sx = height / h, width / w
        gy, gx = self.grid
        cell_h, cell_w = height / gy, width / gx
        side = max(3, int(0.6 * min(cell_h, cell_w)))
        for i in range(gy):
            for j in range(gx):
                y0, x0, y1, x1 = self.boxes[i, j]
                cy, cx = 0.5 * (y0 + y1) * sy, 0.5 * (x0 + x1) * sx
                k = self.kernels[i, j]
                k = k / max(float(k.max()), 1e-12)
                idx = (np.arange(side) * k.shape[0] / side).astype(int)
                big = k[np.ix_(idx, idx)]
                top, left = int(round(cy - side / 2)), int(round(cx - side / 2))
                ty0, tx0 = max(0, top), max(0, left)
                ty1, tx1 = min(height, top + side), min(width, left + side)
                if ty1 <= ty0 or tx1 <= tx0:
                    continue
                patch = big[ty0 - top:ty1 - top, tx0 - left:tx1 - left]
                conf = float(np.clip(self.confidences[i, j], 0.25, 1.0))
                a = np.clip(patch ** 0.5 * 255 * conf, 0, 255).astype(np.uint8)
                reg = img[ty0:ty1, tx0:tx1]
                reg[..., :3] = np.where(a[..., None] > reg[..., 3:4], colour, reg[..., :3])
                reg[..., 3] = np.maximum(reg[..., 3], a)
                # Cell frame: a faint square around the drawn kernel.
                frame = (80, 80, 80, 96)
                img[ty0, tx0:tx1] = frame
                img[ty1 - 1, tx0:tx1] = frame
                img[ty0:ty1, tx0] = frame
                img[ty0:ty1, tx1 - 1] = frame
        return img

    def kernel_at(self, y: float, x: float) -> np.ndarray:
        """Bilinear interpolation of the grid kernels at pixel (y, x) (EFF's model)."""
        gy, gx = self.grid
        cy = 0.5 * (self.boxes[:, 0, 0] + self.boxes[:, 0, 2])
        cx = 0.5 * (self.boxes[0, :, 1] + self.boxes[0, :, 3])
        fy = float(np.interp(y, cy, np.arange(gy)))
        fx = float(np.interp(x, cx, np.arange(gx)))
        i0, j0 = int(math.floor(fy)), int(math.floor(fx))
        i1, j1 = min(i0 + 1, gy - 1), min(j0 + 1, gx - 1)
        ay, ax = fy - i0, fx - j0
        k = ((1 - ay) * (1 - ax) * self.kernels[i0, j0] + (1 - ay) * ax * self.kernels[i0, j1]
             + ay * (1 - ax) * self.kernels[i1, j0] + ay * ax * self.kernels[i1, j1])
        return (k / k.sum()).astype(np.float32)


# ----------------------------------------------------------------------------- grid


def field_grid(height: int, width: int, kernel_size: int,
               config: FieldConfig | None = None) -> np.ndarray:
    """Boxes (gy x gx x 4) of overlapping regions covering the photo.

    Region side: at least ``region_min`` and ``region_per_kernel`` kernel widths, and
    large enough that the grid has at most ``max_cells`` per side. Regions overlap by
    ``overlap`` of their side, starts spread evenly so the last ends at the border.
    """
    config = config or FieldConfig()
    side = max(config.region_min, int(math.ceil(config.region_per_kernel * kernel_size)))
    step_frac = 1.0 - config.overlap

    def axis(n: int) -> list[tuple[int, int]]:
        r = min(n, max(side, int(math.ceil(n / (1 + (config.max_cells - 1) * step_frac)))))
        if r >= n:
            return [(0, n)]
        cells = int(math.ceil((n - r) / (r * step_frac))) + 1
        cells = min(cells, config.max_cells)
        starts = np.linspace(0, n - r, cells).round().astype(int)
        return [(int(s), int(s) + r) for s in starts]

    ys, xs = axis(height), axis(width)
    boxes = np.zeros((len(ys), len(xs), 4), dtype=np.int64)
    for i, (y0, y1) in enumerate(ys):
        for j, (x0, x1) in enumerate(xs):
            boxes[i, j] = (y0, x0, y1, x1)
    return boxes


# ----------------------------------------------------------------------------- kernels


def _pad_to(k: np.ndarray, size: int) -> np.ndarray:
    """Centre-pad (or centre-crop) a kernel to size x size, keeping its centre pixel."""
    out = np.zeros((size, size), dtype=np.float64)
    kh, kw = k.shape
    cy, cx = (kh - 1) // 2, (kw - 1) // 2
    c = (size - 1) // 2
    ys0, xs0 = max(0, cy - c), max(0, cx - c)
    yd0, xd0 = max(0, c - cy), max(0, c - cx)
    hh = min(kh - ys0, size - yd0)
    ww = min(kw - xs0, size - xd0)
    out[yd0:yd0 + hh, xd0:xd0 + ww] = k[ys0:ys0 + hh, xs0:xs0 + ww]
    s = out.sum()
    return out / s if s > 0 else out


def _align(k: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Shift ``k`` by the integer offset that best correlates it with ``ref`` (same size)."""
    n = k.shape[0]
    fa = np.fft.rfft2(ref, s=(2 * n, 2 * n))
    fb = np.fft.rfft2(k, s=(2 * n, 2 * n))
    xc = np.fft.irfft2(fa * np.conj(fb), s=(2 * n, 2 * n))
    dy, dx = np.unravel_index(int(np.argmax(xc)), xc.shape)
    dy = dy - 2 * n if dy > n else dy
    dx = dx - 2 * n if dx > n else dx
    out = np.zeros_like(k)
    ys, yd = (slice(0, n - dy), slice(dy, n)) if dy >= 0 else (slice(-dy, n), slice(0, n + dy))
    xs, xd = (slice(0, n - dx), slice(dx, n)) if dx >= 0 else (slice(-dx, n), slice(0, n + dx))
    out[yd, xd] = k[ys, xs]
    s = out.sum()
    return out / s if s > 0 else k


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation after alignment (1: same shape up to a shift)."""
    b2 = _align(b, a)
    na, nb = np.linalg.norm(a), np.linalg.norm(b2)
    return float((a * b2).sum() / max(na * nb, 1e-12))


def _window(image: np.ndarray, box: Box, side: int) -> Box:
    """The most textured ``side``-px square of ``box`` (the box itself when it is no
    larger): a region of a big photo is estimated where the whole photo would be, on at
    most the estimator's own window (``KernelConfig.region_max``), so the field's cost
    follows the number of regions, not the photo's size."""
    y0, x0, y1, x1 = box
    if y1 - y0 <= side and x1 - x0 <= side:
        return box
    from ._image import display_grey, to_tensor
    from .estimate import choose_region

    crop = to_tensor(np.asarray(image[y0:y1, x0:x1]), torch.device("cpu"))
    wy0, wx0, wy1, wx1 = choose_region(display_grey(crop), side)
    return y0 + wy0, x0 + wx0, y0 + wy1, x0 + wx1


def _own_or_global(image: np.ndarray, kernels: np.ndarray, conf: np.ndarray,
                   global_kernel: np.ndarray, global_conf: float, boxes: np.ndarray,
                   config: FieldConfig, cancel: Callable[[], bool] | None,
                   checked: Callable[[int], None] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each region's kernel, or the global one where its own does not explain the region
    better (re-blur residual by ``config.own_margin``); a region given the global kernel
    takes the global confidence. ``checked(n)`` after the n-th region. Returns (kernels,
    confidences, residuals gy x gx x 2: own, global)."""
    from ._polish import region_residual
    from .noise import estimate_noise

    gy, gx = conf.shape
    kernels, conf = kernels.copy(), conf.copy()
    res = np.zeros((gy, gx, 2))
    for i in range(gy):
        for j in range(gx):
            if cancel is not None and cancel():
                raise DeconvCancelled("kernel field estimation cancelled")
            y0, x0, y1, x1 = (int(v) for v in boxes[i, j])
            region = _split_alpha(image[y0:y1, x0:x1])[0]
            sigma = float(estimate_noise(region))
            res[i, j] = (region_residual(region, kernels[i, j], sigma),
                         region_residual(region, global_kernel, sigma))
            if not res[i, j, 0] < (1.0 - float(config.own_margin)) * res[i, j, 1]:
                # unshifted: every region given the global kernel deconvolves alike
                kernels[i, j], conf[i, j] = global_kernel, global_conf
            if checked is not None:
                checked(i * gx + j + 1)
    return kernels, conf, res


def regularise_field(kernels: np.ndarray, conf: np.ndarray, global_kernel: np.ndarray,
                     global_conf: float, config: FieldConfig
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Pull low-confidence regions towards their neighbours and the global kernel.

    Returns (kernels, weights) where weight = the share of the region's own estimate.
    """
    gy, gx = conf.shape
    out = np.empty_like(kernels)
    own = np.clip(conf / max(config.trust_confidence, 1e-6), 0.0, 1.0)
    for i in range(gy):
        for j in range(gx):
            k = kernels[i, j]
            ref = k if own[i, j] > 0.5 else global_kernel
            acc = config.global_weight * max(global_conf, 1e-3) * _align(global_kernel, ref)
            tot = config.global_weight * max(global_conf, 1e-3)
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                a, b = i + di, j + dj
                if 0 <= a < gy and 0 <= b < gx and conf[a, b] > 0:
                    acc = acc + conf[a, b] * _align(kernels[a, b], ref)
                    tot += conf[a, b]
            target = acc / tot
            if own[i, j] >= 0.5:  # mostly its own: bring the target onto its position
                target = _align(target, k)
            blended = own[i, j] * k + (1 - own[i, j]) * target
            out[i, j] = blended / blended.sum()
    return out.astype(np.float32), own


Estimator = Callable[..., object]


def estimate_kernel_field(image: np.ndarray, config: FieldConfig | None = None, *,
                          kernel_config: KernelConfig | None = None,
                          kernel_size: int | None = None,
                          estimator: Estimator | None = None,
                          progress: Callable[[float, str], None] | None = None,
                          cancel: Callable[[], bool] | None = None,
                          accept_config: AcceptConfig | None = None) -> KernelField:
    """Estimate a kernel per overlapping region of ``image`` (H x W x C sRGB in [0, 1]).

    First a global estimate (which also fixes the kernel size), then one estimate per
    region with that size, then confidence-weighted regularisation. ``estimator``
    defaults to :func:`glow_core.kernel.estimate.estimate_kernel`; any callable with its
    signature (``image, config, kernel_size=, region=``) returning an object with
    ``kernel`` and ``confidence`` works (tests pass the true kernels).

    The acceptance test's first half runs here (``accept_config``, default
    :class:`AcceptConfig`; ``AcceptConfig(enabled=False)`` skips it): the kernel is
    re-estimated on the two halves of the photo and compared with the field there;
    ``field.acceptance`` holds the result and ``backs_off`` / ``strength`` follow it.
    """
    config = config or FieldConfig()
    acfg = accept_config or AcceptConfig()
    if estimator is None:
        from .estimate import estimate_kernel as estimator
    kcfg = kernel_config or KernelConfig()
    # The regions are estimated at the global kernel's size and pulled towards it; the
    # polish (two more region deconvolutions each, ~2 s) and the second start (a whole
    # estimate and a region deconvolution) are the global estimate's only.
    region_cfg = replace(kcfg, polish_rounds=0, extra_starts=())
    h, w = image.shape[:2]

    def call(region: Box | None, size: int | None):
        kwargs = {"kernel_size": size, "region": region}
        if cancel is not None:
            kwargs["cancel"] = cancel
        return estimator(image, kcfg if region is None else region_cfg, **kwargs)

    g = call(None, kernel_size)
    gk = np.asarray(g.kernel, dtype=np.float64)
    agreement = start_agreement(g)  # how far the global estimate's starts confirm it
    size = gk.shape[0]
    gconf = float(g.confidence)
    boxes = field_grid(h, w, size, config)
    gy, gx = boxes.shape[:2]
    # the bar's steps: the global estimate, one per region, and one per region's test
    steps = 1 + gy * gx * (1 if config.own_margin is None else 2)
    if progress:
        progress(1.0 / steps, "global kernel")
    if gy * gx == 1 or gconf < config.min_confidence:
        f = KernelField.single(gk.astype(np.float32), (h, w), gconf)
        f.boxes = boxes[:1, :1] if gy * gx == 1 else np.array([[[0, 0, h, w]]])
        f.min_confidence = config.min_confidence
        # one region: the global estimate alone, judged as the one-kernel path judges it
        # (its starts' agreement included); a field of regions is judged by its regions
        if agreement is not None:
            f.info["agreement"] = agreement
        return _with_acceptance(f, image, acfg, kcfg, estimator, cancel)
    kernels = np.zeros((gy, gx, size, size), dtype=np.float64)
    conf = np.zeros((gy, gx), dtype=np.float64)
    windows = boxes.copy()  # where each region's kernel is estimated and judged
    for i in range(gy):
        for j in range(gx):
            if cancel is not None and cancel():
                raise DeconvCancelled("kernel field estimation cancelled")
            box = _window(image, tuple(int(v) for v in boxes[i, j]), kcfg.region_max)
            windows[i, j] = box
            est = call(box, size)
            kernels[i, j] = _pad_to(np.asarray(est.kernel, dtype=np.float64), size)
            conf[i, j] = float(est.confidence)
            if progress:
                progress((i * gx + j + 2) / steps, f"region {i * gx + j + 1}")
    info: dict = {}
    if config.own_margin is not None:
        checked = None if progress is None else (
            lambda n: progress((1 + gy * gx + n) / steps, f"checking region {n}"))
        kernels, conf, info["residuals"] = _own_or_global(image, kernels, conf, gk, gconf,
                                                          windows, config, cancel, checked)
    reg, own = regularise_field(kernels, conf, gk, gconf, config)
    sims = np.array([[_similarity(gk, reg[i, j]) for j in range(gx)] for i in range(gy)])
    trusted = conf >= config.min_confidence
    uniform = bool(np.all(sims[trusted] >= config.agree_similarity)) if trusted.any() else True
    if agreement is not None:
        info["global_agreement"] = agreement
        if uniform:
            # A uniform field is deconvolved with the global kernel alone: judged as the
            # one-kernel path judges it. A field of differing regions is not: its regions'
            # own kernels and residual shares carry it (real GoPro frame 386, whole, its
            # starts at 0.0: the field gained +0.33 dB where one kernel is refused).
            info["agreement"] = agreement
    f = KernelField(kernels=reg, confidences=own, boxes=boxes,
                    global_kernel=gk.astype(np.float32), global_confidence=gconf,
                    image_size=(h, w), uniform=uniform, min_confidence=config.min_confidence,
                    raw_confidences=conf,
                    info={"similarity_to_global": sims, **info,
                          "differing": int((sims < config.agree_similarity).sum())})
    return _with_acceptance(f, image, acfg, kcfg, estimator, cancel)


def attach_acceptance(f: KernelField, image: np.ndarray, *,
                      kernel_config: KernelConfig | None = None,
                      accept_config: AcceptConfig | None = None,
                      cancel: Callable[[], bool] | None = None) -> KernelField:
    """Give a blind field built elsewhere (e.g. one kernel from :func:`estimate_kernel`
    wrapped by :meth:`KernelField.single`) the acceptance test, so
    :func:`deconvolve_field` blends or refuses it as it does its own fields."""
    return _with_acceptance(f, image, accept_config or AcceptConfig(),
                            kernel_config or KernelConfig(), None, cancel)


def _with_acceptance(f: KernelField, image: np.ndarray, acfg: AcceptConfig,
                     kcfg: KernelConfig, estimator: Estimator | None,
                     cancel: Callable[[], bool] | None) -> KernelField:
    """Attach the pre-deconvolution acceptance (confidence x consistency) to ``f``."""
    if not acfg.enabled or f.global_confidence < f.min_confidence:
        return f
    f.accept_config = acfg
    cons = field_consistency(image, f, kcfg, estimator=estimator, cancel=cancel) \
        if acfg.use_consistency else None
    f.acceptance = accept_field(f, cons, acfg)
    return f


# ----------------------------------------------------------------------------- deconvolution


def _blend_weights(boxes: np.ndarray, i: int, j: int) -> np.ndarray:
    """Raised-cosine weights of region (i, j) over its box, ramps over the overlaps."""
    gy, gx = boxes.shape[:2]
    y0, x0, y1, x1 = boxes[i, j]
    up = boxes[i - 1, j, 2] - y0 if i > 0 else 0
    down = y1 - boxes[i + 1, j, 0] if i < gy - 1 else 0
    left = boxes[i, j - 1, 3] - x0 if j > 0 else 0
    right = x1 - boxes[i, j + 1, 1] if j < gx - 1 else 0
    wy = raised_cosine(int(y1 - y0), int(max(up, 0)), int(max(down, 0)))
    wx = raised_cosine(int(x1 - x0), int(max(left, 0)), int(max(right, 0)))
    return np.outer(wy, wx)


def blind_noise(image: np.ndarray, config: DeconvConfig
                ) -> tuple[DeconvConfig, float | None, float, float]:
    """``(config, noise_sigma, read, codec)`` for a blind kernel's deconvolution of an sRGB
    photo: the noise it reads and its codec error (the acceptance test wants both: read
    once, ~1.3 s and ~0.2 s at 12 MP), and the sigma to weigh the data by, at least
    ``config.blind_noise_floor`` (the kernel's misfit counts as noise). The floor's
    excess over the photo's own noise (beyond the estimate's error,
    ``config.misfit_noise_tolerance``) is that misfit, the same in every channel: the
    returned config carries its share of the variance (``common_noise_share``)."""
    rgb = _split_alpha(image)[0]
    read, codec = float(estimate_noise(rgb)), float(estimate_codec_noise(rgb))
    own = photo_noise(rgb, config, None, False, read=read, codec=codec)
    if own is None:  # the data weight is the caller's (config.weight)
        return config, None, read, codec
    total = max(own, config.blind_noise_floor)
    # A photo that reads within the noise estimate's error of the floor is noise at it.
    at = (1.0 - config.misfit_noise_tolerance) * total
    share = max(0.0, 1.0 - (own / at) ** 2) if at > 0 else 0.0
    return replace(config, common_noise_share=share), total, read, codec


def deconvolve_field(image: np.ndarray, kfield: KernelField,
                     config: DeconvConfig | None = None, *, noise_sigma: float | None = None,
                     linear: bool = False, progress: Callable[[float], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Deconvolve each region with its kernel and blend them without seams.

    A uniform field goes to :func:`deconvolve` with the global kernel. Otherwise each
    region is deconvolved as a window with context (so its own border effects stay
    outside) and the results are summed with raised-cosine weights normalised to a
    partition of unity. Data weight and clipping mask are computed once for the photo.

    A blind field (``kfield.acceptance`` set by :func:`estimate_kernel_field`) gets the
    acceptance test's second half: ringing / residual checks on the result, then the
    output is ``strength * deconvolved + (1 - strength) * image`` (``kfield.acceptance``
    is updated; strength 0 returns ``image`` itself). A field that backs off returns
    ``image`` without deconvolving. Its data term assumes at least
    ``config.blind_noise_floor`` of noise (a blind kernel's misfit), unless the caller
    gives ``noise_sigma``.
    """
    config = config or DeconvConfig()
    if kfield.acceptance is not None and kfield.backs_off:
        return image
    read, codec = noise_sigma, None
    if kfield.acceptance is not None and noise_sigma is None and not linear:
        config, noise_sigma, read, codec = blind_noise(image, config)
    out = _deconvolve_field(image, kfield, config, noise_sigma=noise_sigma, linear=linear,
                            progress=progress, cancel=cancel)
    if kfield.acceptance is None:
        return out
    return accept_and_blend(image, out, kfield, read=read, codec=codec, linear=linear,
                            misfit_share=config.common_noise_share)


def accept_and_blend(image: np.ndarray, out: np.ndarray, kfield: KernelField, *,
                     read: float | None, codec: float | None, linear: bool = False,
                     misfit_share: float = 0.0) -> np.ndarray:
    """The acceptance test's second half on a blind field's full deconvolution ``out`` of
    ``image`` (``read`` / ``codec``: the photo's noise and codec error, ``misfit_share``:
    the share of the assumed noise that was misfit, as :func:`blind_noise` gave them):
    the blend the user gets, ``kfield.acceptance`` updated. Apart from
    :func:`deconvolve_field` so the rules can be replayed on a saved deconvolution
    (``benchmarks/accept_replay.py``)."""
    b_s, o_s = (linear_to_srgb(image), linear_to_srgb(out)) if linear else (image, out)
    acfg = widened_residual(kfield.accept_config or AcceptConfig(), misfit_share,
                            int(np.asarray(kfield.global_kernel).shape[0]))
    acc = accept_field(kfield, None, acfg, blurry=b_s, deconvolved=o_s,
                       noise_sigma=None if linear else read, previous=kfield.acceptance,
                       codec_error=codec)
    kfield.acceptance = acc
    if misfit_share > 0.0:  # what widened the residual ramp (widened_residual)
        acc.features["misfit_share"] = round(float(misfit_share), 4)
    if acc.strength <= 0.0:
        return image
    per = region_strengths(acc, acfg)
    if per is not None and not bool(np.all(per >= 1.0)):
        return _blend_regions(image, out, kfield, acc, per)
    cells = cell_strengths(acc, acfg)
    if cells is not None and not bool(np.all(cells >= 1.0)):
        return _blend_cells(image, out, acc, cells)
    return blend(image, out, acc.strength)


def widened_residual(config: AcceptConfig, misfit_share: float,
                     kernel_size: int | None = None) -> AcceptConfig:
    """``config`` with its residual ramp widened for a deconvolution whose assumed noise
    was ``misfit_share`` misfit (``AcceptConfig.misfit_residual_widening``; for a kernel
    of ``large_kernel_px`` or more, ``large_kernel_widening``: a long trail's misfit
    leaves more residual)."""
    f = min(max(float(misfit_share), 0.0), 1.0)
    large = kernel_size is not None and kernel_size >= config.large_kernel_px
    factor = config.large_kernel_widening if large else config.misfit_residual_widening
    scale = 1.0 + (factor - 1.0) * f
    if scale == 1.0:
        return config
    return replace(config, ok_residual=config.ok_residual * scale,
                   max_residual=config.max_residual * scale)


def _blend_cells(image: np.ndarray, out: np.ndarray, acc: Acceptance,
                 cells: np.ndarray) -> np.ndarray:
    """``blend`` of ``image`` and ``out`` by ``strength x s(x)``, ``s`` each cell's share
    (:func:`accept.cell_strengths`) interpolated bilinearly between the cells' centres, so
    a part one kernel does not explain keeps the photo with no seam at its edge."""
    h, w = image.shape[:2]
    grid = torch.from_numpy(np.ascontiguousarray(cells, dtype=np.float32))[None, None]
    smap = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    acc.features["cell_strengths"] = cells.round(3).tolist()
    weak = int((cells < 1.0).sum())
    acc.reasons.append(f"{weak} of {cells.size} parts of the photo attenuated (their "
                       "re-blur residual: the kernel does not explain them)")
    return blend(image, out, float(acc.strength) * smap.numpy())


def _blend_regions(image: np.ndarray, out: np.ndarray, kfield: KernelField,
                   acc: Acceptance, per: np.ndarray) -> np.ndarray:
    """``blend`` of ``image`` and ``out`` by ``strength x s(x)``, ``s`` each region's share
    (:func:`accept.region_strengths`) spread by the regions' raised-cosine weights, so a
    region the field cannot explain keeps the photo and no seam shows at its edge."""
    gy, gx = kfield.grid
    h, w = image.shape[:2]
    smap = np.zeros((h, w), dtype=np.float64)
    wsum = np.zeros((h, w), dtype=np.float64)
    for i in range(gy):
        for j in range(gx):
            y0, x0, y1, x1 = (int(v) for v in kfield.boxes[i, j])
            cw = _blend_weights(kfield.boxes, i, j)
            smap[y0:y1, x0:x1] += cw * per[i, j]
            wsum[y0:y1, x0:x1] += cw
    smap = (float(acc.strength) * smap / np.maximum(wsum, 1e-12)).astype(np.float32)
    refused, weakened = int((per <= 0.0).sum()), int(((per > 0.0) & (per < 1.0)).sum())
    acc.features["region_strengths"] = per.round(3).tolist()
    if refused == per.size:
        acc.strength = 0.0
        acc.reasons.append("every region's re-blur residual too large: back off")
        return image
    acc.reasons.append(f"{refused} of {per.size} regions left as they were, {weakened} "
                       "attenuated (their re-blur residual)")
    return blend(image, out, smap)


def _deconvolve_field(image: np.ndarray, kfield: KernelField, config: DeconvConfig, *,
                      noise_sigma: float | None, linear: bool,
                      progress: Callable[[float], None] | None,
                      cancel: Callable[[], bool] | None) -> np.ndarray:
    if kfield.uniform or kfield.grid == (1, 1):
        k = kfield.global_kernel if kfield.uniform else kfield.kernels[0, 0]
        return deconvolve(image, k, config, noise_sigma=noise_sigma, linear=linear,
                          progress=progress, cancel=cancel)
    rgb, alpha, squeeze = _split_alpha(image)
    lin = rgb if linear else srgb_to_linear(rgb)
    config = chroma_choice(lin, config)
    srgb = linear_to_srgb(rgb) if linear else np.clip(rgb, 0.0, 1.0)
    lam, tone_ref = photo_weights(rgb, lin, config, noise_sigma, linear)
    sat = _saturation_mask(srgb, config)
    h, w = lin.shape[:2]
    acc = np.zeros_like(lin, dtype=np.float64)
    wsum = np.zeros((h, w, 1), dtype=np.float64)
    # Residual-aware blending: in the overlaps, the region whose kernel explains the
    # blurry data better (smaller local re-blur residual, in units of the noise
    # variance) gets more weight, so a region straddling two blurs does not smear its
    # compromise kernel over its neighbours' ground. Streaming log-sum-exp: ``rmin`` is
    # the smallest residual seen so far per pixel; weights are relative to it.
    var = max(config.noise_gain / lam, 1e-10)
    temp = max(config.field_residual_temperature, 1e-6) * var
    rmin = np.full((h, w, 1), np.inf)
    lin_t = torch.from_numpy(np.ascontiguousarray(lin))
    gy, gx = kfield.grid
    ksz = kfield.kernels.shape[-1]
    for i in range(gy):
        for j in range(gx):
            if cancel is not None and cancel():
                raise DeconvCancelled("deconvolution cancelled")
            box = tuple(int(v) for v in kfield.boxes[i, j])
            y0, x0, y1, x1 = box
            part, res = deconvolve_window(lin_t, kfield.kernels[i, j], box, lam=lam, sat=sat,
                                          config=config, residual=True, tone_ref=tone_ref)
            r = box_mean(torch.from_numpy(res)[None], max(3, ksz // 2))[0].numpy()
            r = r.astype(np.float64)[:, :, None]
            cos_w = _blend_weights(kfield.boxes, i, j)[:, :, None]
            old = rmin[y0:y1, x0:x1]
            new = np.minimum(old, r)
            scale = np.where(np.isfinite(old), np.exp(-(old - new) / temp), 0.0)
            acc[y0:y1, x0:x1] *= scale
            wsum[y0:y1, x0:x1] *= scale
            wgt = cos_w * np.exp(-(r - new) / temp) + 1e-12 * cos_w
            acc[y0:y1, x0:x1] += wgt * part
            wsum[y0:y1, x0:x1] += wgt
            rmin[y0:y1, x0:x1] = new
            if progress is not None:
                progress((i * gx + j + 1) / (gy * gx))
    out = (acc / np.maximum(wsum, 1e-12)).astype(np.float32)
    res = out if linear else np.clip(linear_to_srgb(out), 0.0, 1.0)
    return _join_alpha(res.astype(np.float32), alpha, squeeze)
