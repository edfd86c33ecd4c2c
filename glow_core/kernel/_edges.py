"""Salient edge selection (Cho & Lee 2009) with Xu & Jia's (2010) r-map.

Only strong step edges wider than the kernel carry reliable information about the blur:
thin ridges and fine texture are smeared beyond recognition and bias the kernel to a
delta. Edges are ranked per orientation bin so every direction constrains the kernel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def box_filter(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a ``size x size`` window, zero outside (same size output).

    Summed-area table: cost independent of the window (kernels reach 75 px, where a
    pooling window would dominate the run time).
    """
    size = max(int(size) | 1, 1)
    r = size // 2
    h, w = x.shape
    acc = torch.float32 if x.device.type == "mps" else torch.float64  # MPS has no float64
    p = F.pad(x.to(acc), (r + 1, r, r + 1, r))
    s = p.cumsum(0).cumsum(1)
    out = s[size:, size:] - s[:-size, size:] - s[size:, :-size] + s[:-size, :-size]
    return (out[:h, :w] / (size * size)).to(x.dtype)


def r_map(bx: torch.Tensor, by: torch.Tensor, window: int, eps: float = 2e-3) -> torch.Tensor:
    """Xu & Jia's usefulness map: |sum of gradients| / (sum of |gradients| + eps).

    Near 1 on a step edge (all gradients in the window agree), near 0 on ridges and
    texture where blurred gradients cancel. ``eps`` is their 0.5 on a [0, 255] scale.
    """
    sx = box_filter(bx, window)
    sy = box_filter(by, window)
    mag = box_filter(torch.sqrt(bx * bx + by * by), window)
    return torch.sqrt(sx * sx + sy * sy) / (mag + eps / (window * window))


def orientation_bins(gx: torch.Tensor, gy: torch.Tensor, bins: int) -> torch.Tensor:
    """Index of the orientation bin (of ``bins`` over 180 degrees) of each gradient."""
    angle = torch.atan2(gy, gx) % math.pi
    return torch.clamp((angle / (math.pi / bins)).long(), 0, bins - 1)


def edge_threshold(
    gx: torch.Tensor, gy: torch.Tensor, score: torch.Tensor, bins: int, per_bin: int
) -> float:
    """Magnitude threshold at which the *weakest* orientation bin still keeps ``per_bin`` edges.

    One threshold for all bins (Pan et al.'s variant of Cho & Lee): strong directions keep
    more edges, and no direction is left without any.
    """
    bin_idx = orientation_bins(gx, gy, bins)
    thr = float("inf")
    for b in range(bins):
        vals = torch.where(bin_idx == b, score, torch.zeros_like(score)).flatten()
        nz = int((vals > 0).sum())
        if nz == 0:
            return 0.0
        n = min(per_bin, nz)
        thr = min(thr, float(torch.topk(vals, n, sorted=False).values.min()))
    return thr


def select_edges(
    gx: torch.Tensor,
    gy: torch.Tensor,
    valid: torch.Tensor,
    usefulness: torch.Tensor | None,
    rmap_threshold: float,
    bins: int,
    per_bin: int,
    threshold: float | None,
) -> tuple[torch.Tensor, torch.Tensor, float, list[int]]:
    """Keep gradients of the latent above a magnitude threshold; zero the rest.

    ``valid`` masks pixels allowed to carry edges (the image interior, away from the
    periodic extension); ``usefulness`` is the r-map, below ``rmap_threshold`` dropped.
    With ``threshold`` None it is chosen by :func:`edge_threshold` (first iteration of a
    level); the caller lowers it between iterations so more edges join as the kernel
    improves. Returns the masked ``(gx, gy)``, the threshold and the count kept per bin.
    """
    mag = torch.sqrt(gx * gx + gy * gy)
    score = mag * valid
    if usefulness is not None:
        score = score * (usefulness > rmap_threshold)
    if threshold is None:
        threshold = edge_threshold(gx, gy, score, bins, per_bin)
    mask = (score >= threshold) & (score > 0)
    counts = torch.bincount(orientation_bins(gx, gy, bins)[mask], minlength=bins)
    return gx * mask, gy * mask, threshold, counts.tolist()
