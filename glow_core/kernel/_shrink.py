"""Generalised soft thresholding by a lookup table (the w step of the deconvolution).

Why a table: ``argmin_w 1/2 (w - v)^2 + tau |w|^alpha`` has no closed form for
alpha = 0.8, and the fixed-point iteration (Zuo et al. 2013) costs three ``pow`` passes
plus a dozen elementwise passes over the image per call, twice per solver iteration.
On a CPU those passes are memory-bound, so their *number* is what costs (profiled:
the shrinkage was ~40 % of the deconvolution). Krishnan & Fergus 2009 tabulate it; here
the table is exact to float32 and needs no per-tau rebuild thanks to the scaling law

    w(v; tau) = c * g(v / c),   c = tau^(1 / (2 - alpha)),

(substitute w = c w', v = c v': the problem becomes the tau = 1 one), so one table of
the *shrinkage amount* ``d(u) = u - g(u)`` per alpha serves every beta. Looking it up
is 9 passes: min / max (all within the threshold at low beta: zeros at once), |v|,
scale, clamp, index, gather, x c, sign, subtract. The fast path (:func:`shrink`, for
values within the table's range: always for images) looks up the shrunk value ``g``
itself in a signed table, scaled by ``c`` per call: 4 passes (min / max, scale-and-offset,
index, gather); measured on the Kodak ceiling: the same PSNR to 0.01 dB.

* ``d`` is tabulated at bin centres with step ``1 / STEPS_PER_UNIT`` up to ``U_MAX``;
  truncating the index then picks the nearest centre. The error of the value is at most
  half a bin times the slope of ``d`` (below 1 except right at the threshold), i.e.
  ``c / (2 * STEPS_PER_UNIT)`` in image units: 3e-6 at beta = 2048, 4e-4 at beta = 8
  (measured against 80 float64 Newton steps, see tests).
* Beyond ``U_MAX`` the shrinkage ``alpha u^(alpha-1)`` is under 0.2 c and varies by
  under 1 % per doubling; the last entry is used (an error below 2e-3 c on values over
  1000 c, i.e. on edges far above the noise).
"""

from __future__ import annotations

import functools

import torch

#: Table resolution: 256 bins per unit of u = |v| / c (error c / 512, see above).
STEPS_PER_UNIT = 256
#: Resolution of the signed table of shrunk values (:func:`shrink`'s fast path): twice
#: the above, since the shrunk value varies with slope ~1 where the shrinkage amount
#: varies slowly; 4 MB, still served from cache for images, whose gradients are coherent.
SIGNED_STEPS = 512
#: Table range in u: at beta = 2048 (c = 1.7e-3) it covers gradients up to 1.8 (all of
#: linear light); the table is 1 MB, read from cache.
U_MAX = 1024.0

__all__ = ["all_shrunk", "peak", "shrink", "shrink_exact", "shrink_table"]


def _threshold(tau: float, alpha: float) -> float:
    """|v| at or below which the minimiser is 0 (Zuo et al. 2013)."""
    t0 = (2.0 * tau * (1.0 - alpha)) ** (1.0 / (2.0 - alpha))
    return t0 + alpha * tau * t0 ** (alpha - 1.0)


@functools.lru_cache(maxsize=8)
def _table_cpu(alpha: float, steps: int = STEPS_PER_UNIT) -> torch.Tensor:
    n = int(U_MAX * steps) + 1
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / steps
    # until converged where there is a root (a one-off per process)
    s = _branch(u, alpha, iters=60, tol=1e-13)
    zeroed = u <= _threshold(1.0, alpha)
    d = u - s
    d[zeroed] = u[zeroed]  # zeroed: d = u
    return d.float()


def _branch(u: torch.Tensor, alpha: float, iters: int, tol: float = 0.0) -> torch.Tensor:
    """The non-zero stationary branch ``s + alpha s^(alpha-1) = u`` (float64 ``u``, the
    tau = 1 problem) by Newton, started above it and kept on it (``s >= s_min``, where
    the branch turns); stops once no entry above the threshold moves by ``tol`` or more
    (``tol = 0``: all ``iters`` steps)."""
    s_min = (alpha * (1.0 - alpha)) ** (1.0 / (2.0 - alpha))
    s = u.clamp_min(1.0)
    zeroed = u <= _threshold(1.0, alpha)
    for _ in range(iters):
        f = s + alpha * s ** (alpha - 1.0) - u
        fp = 1.0 + alpha * (alpha - 1.0) * s ** (alpha - 2.0)
        s_new = (s - f / fp).clamp_min(s_min)
        done = tol > 0 and float((s_new - s).abs().masked_fill_(zeroed, 0.0).max()) < tol
        s = s_new
        if done:
            break
    return s


def shrink_table(alpha: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """The shrinkage table ``d(u)`` of ``alpha`` on ``device`` (cached on the CPU)."""
    tab = _table_cpu(float(alpha))
    return tab if torch.device(device).type == "cpu" else tab.to(device)


@functools.lru_cache(maxsize=8)
def _signed_cpu(alpha: float) -> torch.Tensor:
    d = _table_cpu(alpha, SIGNED_STEPS).double()
    g = ((torch.arange(d.numel(), dtype=torch.float64) + 0.5) / SIGNED_STEPS - d).float()
    return torch.cat([-g.flip(0), g])


@functools.lru_cache(maxsize=8)
def _signed_table(alpha: float, device: str) -> torch.Tensor:
    """The shrunk value ``g(t) = sign(t) (|t| - d(|t|))`` at the signed bin centres
    ``(j + 0.5) / SIGNED_STEPS``, ``j`` from ``-N`` to ``N - 1``, at index ``N + j``."""
    tab = _signed_cpu(alpha)
    return tab if torch.device(device).type == "cpu" else tab.to(device)


def peak(v: torch.Tensor) -> float:
    """``max |v|`` in one read pass (min and max together)."""
    lo, hi = torch.aminmax(v)
    return max(-float(lo), float(hi))


def all_shrunk(vmax: float, tau: float, alpha: float) -> bool:
    """True when values up to ``vmax`` in magnitude all shrink to 0 (low beta)."""
    return vmax <= (tau if alpha >= 1.0 else _threshold(tau, alpha))


def shrink(v: torch.Tensor, tau: float, alpha: float,
           table: torch.Tensor | None = None, *, vmax: float | None = None) -> torch.Tensor:
    """Generalised soft thresholding of ``v`` (float32, any device) by the table.

    ``alpha >= 1`` is plain soft thresholding (TV). ``table``: :func:`shrink_table`
    on ``v``'s device, to skip the cache lookup and transfer in a loop. ``vmax``:
    :func:`peak` of ``v`` when the caller has it.

    When every ``|v| / c`` lies within the table (always, but for gradients far beyond
    linear light at the highest beta), the *shrunk value* is looked up in a signed
    table (:func:`_signed_table`): scale-and-offset, int32, gather, 3 passes instead of
    8 (|v|, scale, clamp, int, gather, x c, sign, subtract). The error is
    half a bin of ``SIGNED_STEPS`` times the slope of the shrunk value (up to ~1.6 next
    to the threshold), within the unsigned table's half bin of ``STEPS_PER_UNIT``; the
    offset is added in float32, where a value within 1/64 bin of a bin edge may round
    to the next bin. Scaled by ``c`` once per call (4 MB, not a pass over the image).
    The index is int32 and looked up by ``index_select``: int64 (which ``take`` needs)
    writes twice the bytes.
    """
    if alpha >= 1.0:
        return torch.sign(v) * torch.clamp(v.abs() - tau, min=0.0)
    if vmax is None:
        vmax = peak(v)
    if all_shrunk(vmax, tau, alpha):  # low beta: everything is shrunk to 0
        return torch.zeros_like(v)
    c = tau ** (1.0 / (2.0 - alpha))
    n = int(U_MAX * SIGNED_STEPS) + 1  # entries of each half of the signed table
    if vmax * SIGNED_STEPS / c < n - 2:
        signed = _signed_table(float(alpha), str(v.device)) * c
        # In range by the check above (|v| < vmax): no clamp pass.
        pos = torch.add(v.new_tensor(float(n)), v, alpha=SIGNED_STEPS / c)
        return signed.index_select(0, pos.to(torch.int32).view(-1)).view_as(v)
    scale = STEPS_PER_UNIT / c
    if table is None:
        table = shrink_table(alpha, v.device)
    idx = v.abs().mul_(scale).clamp_(max=table.numel() - 1)
    d = table.index_select(0, idx.to(torch.int32).view(-1)).view_as(v)
    return v - d.mul_(c).copysign_(v)


def shrink_exact(v: torch.Tensor, tau: float, alpha: float, iters: int = 60) -> torch.Tensor:
    """Reference: the same map by Newton steps on the stationary branch (float64 inside)."""
    if alpha >= 1.0:
        return torch.sign(v) * torch.clamp(v.abs() - tau, min=0.0)
    a = v.abs().double()
    c = tau ** (1.0 / (2.0 - alpha))
    u = a / c
    s = _branch(u, alpha, iters)
    out = torch.where(u > _threshold(1.0, alpha), s * c, torch.zeros_like(s))
    return torch.copysign(out, v.double()).to(v.dtype)
