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
    """Mean over a ``size x size`` window with zero padding (same size output)."""
    size = max(int(size) | 1, 1)
    pad = size // 2
    y = F.avg_pool2d(x[None, None], size, stride=1, padding=pad, count_include_pad=True)
    return y[0, 0]


def r_map(bx: torch.Tensor, by: torch.Tensor, window: int, eps: float = 2e-3) -> torch.Tensor:
    """Xu & Jia's usefulness map: |sum of gradients| / (sum of |gradients| + eps).

    Near 1 on a step edge (all gradients in the window agree), near 0 on ridges and
    texture where blurred gradients cancel. ``eps`` is their 0.5 on a [0, 255] scale.
    """
    sx = box_filter(bx, window)
    sy = box_filter(by, window)
    mag = box_filter(torch.sqrt(bx * bx + by * by), window)
    return torch.sqrt(sx * sx + sy * sy) / (mag + eps / (window * window))


def select_edges(
    gx: torch.Tensor,
    gy: torch.Tensor,
    valid: torch.Tensor,
    usefulness: torch.Tensor | None,
    rmap_threshold: float,
    bins: int,
    keep: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the ``keep`` strongest gradients per orientation bin; zero the rest.

    ``valid`` masks pixels allowed to carry edges (the image interior, away from the
    periodic extension); ``usefulness`` is the r-map, below ``rmap_threshold`` dropped.
    Returns the masked ``(gx, gy)`` and the per-bin counts kept.
    """
    mag = torch.sqrt(gx * gx + gy * gy)
    score = mag * valid
    if usefulness is not None:
        score = score * (usefulness > rmap_threshold)
    angle = torch.atan2(gy, gx) % math.pi
    bin_idx = torch.clamp((angle / (math.pi / bins) + 0.5).long() % bins, 0, bins - 1)
    mask = torch.zeros_like(score, dtype=torch.bool)
    counts = torch.zeros(bins, dtype=torch.long)
    for b in range(bins):
        vals = torch.where(bin_idx == b, score, torch.zeros_like(score)).flatten()
        nz = int((vals > 0).sum())
        n = min(keep, nz)
        if n == 0:
            continue
        thr = torch.topk(vals, n, sorted=False).values.min()
        mask |= (bin_idx == b) & (score >= thr) & (score > 0)
        counts[b] = n
    return gx * mask, gy * mask, counts
