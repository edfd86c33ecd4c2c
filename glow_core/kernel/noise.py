"""Noise level of a photo, robust to edges, texture and clipping.

Why: the deconvolution's regularisation weight must follow the noise (1 % noise needs a
prior about ten times stronger than 0.3 %), and the user cannot be asked for it. The
estimator is Immerkær's (1996) fast noise variance: the 3x3 filter

    N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]

is the difference of two Laplacians, so it annihilates constant, linear and (separable)
quadratic intensity, and on white noise of standard deviation sigma its response has
standard deviation ``6 sigma`` (the filter's L2 norm). Instead of Immerkær's mean absolute
response, which edges and texture inflate, we take the *median* absolute response (MAD,
as Donoho's wavelet estimator does) and only over "flat" pixels: those whose Sobel
gradient lies in the lowest fraction of the image. For pure noise the Sobel and N
responses are uncorrelated (one is odd, the other even), so this selection does not bias
the estimate, while on a photo it drops the edges that would. Pixels at or near clipping
(black or white) carry no noise and are dropped too.
"""

from __future__ import annotations

import numpy as np

from .config import NoiseConfig

__all__ = ["NoiseConfig", "block_excess", "channel_mean", "channel_min", "estimate_codec_noise",
           "estimate_noise", "photo_grey"]


def channel_mean(a: np.ndarray, channels: int = 3) -> np.ndarray:
    """Mean of the first ``channels`` channels of an H x W x C float32 array, one channel
    slice at a time: numpy's reductions over a short last axis are slow (``mean(axis=2)``
    of a 12 MP photo 0.23 s against 0.04 s this way), and the values are the same (the
    same additions in the same order)."""
    n = min(channels, a.shape[-1])
    out = a[..., 0].copy()
    for i in range(1, n):
        out += a[..., i]
    return out / np.float32(n) if n > 1 else out


def photo_grey(img: np.ndarray) -> np.ndarray:
    """A photo's grey as float32 H x W: the mean of its colour channels (alpha ignored),
    its only channel, or the image itself when it is grey already."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3:
        a = channel_mean(a) if a.shape[2] >= 3 else a[..., 0]
    return a


def channel_min(a: np.ndarray) -> np.ndarray:
    """Minimum over the channels of an H x W x C array (``a.min(-1)``, ~10 x faster: the
    12 MP photo's 0.55 s took 0.05 s)."""
    out = a[..., 0].copy()
    for i in range(1, a.shape[-1]):
        np.minimum(out, a[..., i], out=out)
    return out


# Median of |N(0, 1)|: turns a median absolute deviation into a standard deviation.
_MAD_TO_SIGMA = 0.6744897501960817


def _filter3(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid-mode 3x3 correlation of a 2-D array (output is 2 px smaller on each axis)."""
    h, w = x.shape
    out = np.zeros((h - 2, w - 2), dtype=np.float64)
    for i in range(3):
        for j in range(3):
            if k[i, j] != 0:
                out += k[i, j] * x[i:i + h - 2, j:j + w - 2]
    return out


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def _channel_sigma(x: np.ndarray, config: NoiseConfig) -> float | None:
    if x.shape[0] < 8 or x.shape[1] < 8:
        return None
    r = _filter3(x, _IMMERKAER)
    gx = _filter3(x, _SOBEL_X)
    gy = _filter3(x, _SOBEL_X.T)
    grad = np.hypot(gx, gy)
    # A 3x3 window touching clipping is unreliable: use the window's min and max.
    lo = np.minimum.reduce([x[i:i + x.shape[0] - 2, j:j + x.shape[1] - 2]
                            for i in range(3) for j in range(3)])
    hi = np.maximum.reduce([x[i:i + x.shape[0] - 2, j:j + x.shape[1] - 2]
                            for i in range(3) for j in range(3)])
    valid = (lo > config.clip_margin) & (hi < 1.0 - config.clip_margin)
    if valid.sum() < 64:
        return None
    g = grad[valid]
    cut = np.quantile(g, config.flat_fraction)
    sel = np.abs(r[valid][g <= cut])
    if sel.size < 32:
        return None
    return float(np.median(sel) / (_MAD_TO_SIGMA * 6.0))


def estimate_noise(image: np.ndarray, config: NoiseConfig | None = None, *,
                   per_channel: bool = False) -> float | np.ndarray:
    """Standard deviation of additive white noise in ``image`` (same units as its values).

    ``image`` is H x W or H x W x C (C = 1, 3 or 4; an alpha channel is ignored). Returns
    one float (the median over colour channels, since sensor noise is similar across them
    after demosaicing and a single weight keeps the channels' deconvolution consistent),
    or one value per colour channel with ``per_channel=True``. A channel that is all
    clipped or too small gives 0.
    """
    config = config or NoiseConfig()
    a = np.asarray(image)  # in float64 after the subsampling: a 12 MP copy cost ~0.5 s
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"image must be H x W or H x W x C, got shape {a.shape}")
    if a.shape[2] in (2, 4):
        a = a[:, :, :-1]
    h, w = a.shape[:2]
    if h * w > config.max_pixels:
        # Subsample by whole blocks (not by stride: striding would alias the noise filter).
        step = int(np.ceil(np.sqrt(h * w / config.max_pixels)))
        block = 64
        rows = [a[i:i + block] for i in range(0, h, block * step)]
        a = np.concatenate(rows, axis=0)
        cols = [a[:, j:j + block] for j in range(0, w, block * step)]
        a = np.concatenate(cols, axis=1)
    a = a.astype(np.float64, copy=False)
    sig = []
    for c in range(a.shape[2]):
        s = _channel_sigma(a[:, :, c], config)
        sig.append(0.0 if s is None else s)
    out = np.asarray(sig, dtype=np.float64)
    if per_channel:
        return out
    return float(np.median(out))


def block_excess(image: np.ndarray, period: int = 8, max_samples: int = 4_000_000) -> dict:
    """Blocking of a photo on a ``period``-pixel grid, blind (any grid phase).

    Across every column (row) boundary the 4-tap step ``[0.5, -1.5, 1.5, -0.5]`` (the jump
    minus the mean slope on either side) annihilates constant and linear intensity, so
    smooth content gives little, while a block codec's independent per-block errors add
    a step at its block boundaries only. Per axis the mean squared step is taken at each
    of the ``period`` phases (the grid's phase is unknown: a crop or a turn moves it).
    The excess of the largest phase over the median of the phases at least two away
    (a boundary step leaks a quarter of its square into its two neighbours), less three
    robust standard deviations of those or 5 % of it, whichever is larger (so content
    alone, whose phases scatter by a few per cent, reads 0), is the codec's step
    variance.

    Returns ``{"h": .., "v": .., "ratio": .., "phase": (py, px)}``: the excess variances
    (grey units squared, of the clipped steps) and the largest phase over that median.
    Rows (columns) are subsampled to ``max_samples`` steps per axis, which does not alias
    the steps across them.
    """
    a = np.asarray(image, dtype=np.float32)
    g = channel_mean(a) if a.ndim == 3 else a
    out: dict = {"h": 0.0, "v": 0.0, "ratio": 1.0}
    phases = [0, 0]
    for axis, name in ((1, "h"), (0, "v")):
        x = g if axis == 1 else g.T
        if x.shape[1] < 4 * period or x.shape[0] < 2:
            continue
        x = x[:: max(1, int(np.ceil(x.size / max_samples)))].astype(np.float64)
        s2 = (1.5 * (x[:, 2:-1] - x[:, 1:-2]) - 0.5 * (x[:, 3:] - x[:, :-3])) ** 2
        # Content edges are sparse and heavy-tailed, codec steps are everywhere: squares
        # clipped at their 90th percentile (never-compressed Kodak crops then read 0
        # instead of up to 0.46 %, small hard-edged scenes 0-0.5 % instead of 0-0.9 %).
        s2 = np.minimum(s2, np.quantile(s2.ravel()[:: max(1, s2.size // 200_000)], 0.9))
        # s2[:, j] is the step between columns j + 1 and j + 2: boundary phase (j + 1).
        per = np.array([np.mean(s2[:, (p - 1) % period::period]) for p in range(period)])
        best = int(np.argmax(per))
        far = np.array([per[(best + i) % period] for i in range(2, period - 1)])
        med = float(np.median(far))
        spread = 1.4826 * float(np.median(np.abs(far - med)))
        out[name] = float(max(0.0, per[best] - med - max(3.0 * spread, 0.05 * med)))
        out["ratio"] = max(out["ratio"], float(per[best] / max(med, 1e-20)))
        phases[axis] = best
    out["phase"] = tuple(phases)
    return out


def estimate_codec_noise(image: np.ndarray) -> float:
    """Size of the error a block codec (JPEG) left in the grey photo, blind: the root of
    the mean :func:`block_excess` over both axes (0 for a photo without 8 x 8 blocking).

    Why: the acceptance test judges the re-blur residual in noise sigmas, but a JPEG's
    quantisation removes the noise from flat areas, where the noise estimate looks (0.3 %
    noise read as 0.1-0.2 % after q95-q75), while the residual of a correct kernel stays
    where it was: correct kernels were refused on JPEGs only. Measured on 500 px Kodak
    crops x usrnet12_k10 + 0.3 % noise (the codec's true rms grey error in brackets):
    0 never compressed; JPEG q95 0.39-0.55 % (0.3-0.45 %), q85 0.45-0.92 %, q75
    0.48-0.96 % (0.5-0.9 %): it saturates at low qualities, where clipping keeps the
    larger steps out. 0.13-0.28 % on the held-out GoPro frame averages (decoded video,
    then averaged); 0-0.47 % on 160 px never-compressed dead-leaves scenes (few hard
    edges), 0.66-1.3 % after q95-q85.
    """
    b = block_excess(image)
    return float(np.sqrt(0.5 * (b["h"] + b["v"])))
