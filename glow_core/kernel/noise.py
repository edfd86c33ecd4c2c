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

__all__ = ["NoiseConfig", "estimate_noise"]

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
    a = np.asarray(image, dtype=np.float64)
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
    sig = []
    for c in range(a.shape[2]):
        s = _channel_sigma(a[:, :, c], config)
        sig.append(0.0 if s is None else s)
    out = np.asarray(sig, dtype=np.float64)
    if per_channel:
        return out
    return float(np.median(out))
