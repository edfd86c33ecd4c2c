"""Half-resolution chroma brought back to full resolution along the luminance's edges.

Why: the deconvolution solves the two opponent chroma channels on 2 x 2 means (a third
of the work at 12 MP, :func:`glow_core.kernel.deconvolve._solve_half`), and a plain
bicubic upsampling of that solve leaves every colour edge half a pixel soft and a little
misplaced against the luminance's sharp one: the colour bleeds across the edge. In a
photo, colour edges are luminance edges too (an object's border changes both), so each
small neighbourhood's chroma is nearly a linear function of its luminance, ``c = a L +
b`` (He, Sun & Tang's guided filter, 2013; the fast version fits ``a``, ``b`` at the low
resolution and upsamples them, He & Sun 2015; AV1's chroma-from-luma prediction rests on
the same observation). Fitted on the half-resolution solve against the luminance solve's
own 2 x 2 means, then applied to the full-resolution luminance, it puts the colour edge
where the luminance's is.

Where the local fit is poor (colour that varies without the luminance: isoluminant
edges, three colours meeting, texture in colour only) the linear model would invent
edges; there the result keeps the plain upsampling, weighted by how much of the chroma's
local variance the fit explains (its ``R^2``).

Measured (true kernel, 1 % noise, 384 px centres, ``runs``-style probes recorded in
``DeconvConfig.chroma_guide_radius``): see the config.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._resample import box_mean, double, halve

__all__ = ["guided_upsample"]


def guided_upsample(low: torch.Tensor, guide: torch.Tensor, radius: int,
                    eps: float) -> torch.Tensor:
    """``low`` (C, ceil(H/2), ceil(W/2)), solved on 2 x 2 means, to (C, H, W) along the
    edges of ``guide`` (H, W), the same scene's full-resolution luminance.

    ``radius``: the fit's box at the low resolution (1: 3 x 3, 6 x 6 full pixels);
    ``eps``: the ridge on the luminance's variance (linear light), so a flat neighbourhood
    gets a slope near 0 instead of one fitted to its noise. ``radius`` 0 is the plain
    bicubic upsampling.
    """
    h, w = guide.shape
    plain = double(low, h, w)
    if radius <= 0:
        return plain
    c = low.shape[0]
    g = halve(guide[None])
    # The five local moments in one pass of the box filter (one stacked tensor).
    m = box_mean(torch.cat([g, low, g * g, low * g, low * low]), radius)
    mg, mc, mgg, mcg, mcc = m[:1], m[1:1 + c], m[1 + c:2 + c], m[2 + c:2 + 2 * c], m[2 + 2 * c:]
    var_g = mgg - mg * mg
    cov = mcg - mc * mg
    a = cov / (var_g + eps)
    b = mc - a * mg
    explained = (a * cov / ((mcc - mc * mc).clamp_min_(0.0) + eps)).clamp_(0.0, 1.0)
    # The fit's R^2 (ridge-damped) says how much of it to keep. The coefficient maps are
    # smooth (box means of box means): bilinear is enough to bring them up, and cheaper.
    coef = F.interpolate(box_mean(torch.cat([a, b, explained]), radius)[None],
                         scale_factor=2.0, mode="bilinear", align_corners=False)[0, :, :h, :w]
    # At full resolution in place, a few window-sized planes at a time.
    fitted = coef[:c].mul_(guide).add_(coef[c:2 * c]).sub_(plain)
    return plain.add_(fitted.mul_(coef[2 * c:].clamp_(0.0, 1.0)))
