"""Kernel solve in the gradient domain and the clean-up of the result.

``min_k sum_d ||P_d * k - dB_d||^2 + gamma ||k||^2`` over a ``k x k`` support. The
normal matrix is the autocorrelation of the selected edge maps (Toeplitz), computed once
with an FFT of the canvas; conjugate gradient then runs on tiny ``(2k-1)``-sized FFTs,
so the support constraint costs almost nothing (Cho & Lee 2009, Pan et al. 2014).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from .fft import fast_size, kernel_centre


def _centre_crop_shifts(full: torch.Tensor, half_y: int, half_x: int) -> torch.Tensor:
    """Shifts ``-half..+half`` of a circular correlation stored with zero shift at (0, 0)."""
    rolled = torch.roll(full, shifts=(half_y, half_x), dims=(-2, -1))
    return rolled[..., : 2 * half_y + 1, : 2 * half_x + 1]


def normal_equations(px: torch.Tensor, py: torch.Tensor, bx: torch.Tensor,
                     by: torch.Tensor, ksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(r, rhs)`` of the least-squares kernel from edge maps ``P`` and blurry gradients:
    ``r`` the edge maps' autocorrelation over shifts ``-(ksize-1)..ksize-1`` ((2k-1)^2, zero
    shift at the centre: the normal matrix is Toeplitz in it), ``rhs`` their correlation
    with the blurry gradients over the kernel's support.

    Edge maps must be zero within ``ksize`` of the canvas border so the circular
    correlations equal linear ones.
    """
    shape = px.shape[-2:]
    fpx, fpy = torch.fft.rfft2(px), torch.fft.rfft2(py)
    fbx, fby = torch.fft.rfft2(bx), torch.fft.rfft2(by)
    auto = torch.fft.irfft2(fpx.conj() * fpx + fpy.conj() * fpy, s=shape)
    cross = torch.fft.irfft2(fpx.conj() * fbx + fpy.conj() * fby, s=shape)
    c = kernel_centre(ksize, ksize)[0]
    # rhs(u) = sum_y P(y) dB(y + u) for shifts u = -c .. ksize-1-c
    rhs = torch.roll(cross, shifts=(c, c), dims=(-2, -1))[:ksize, :ksize]
    return _centre_crop_shifts(auto, ksize - 1, ksize - 1), rhs


def ridge_weight(r: torch.Tensor, tikhonov: float) -> float:
    """The Tikhonov weight, ``tikhonov`` relative to the edge maps' energy (``r``'s centre)."""
    ksize = (r.shape[-1] + 1) // 2
    return tikhonov * max(float(r[ksize - 1, ksize - 1]), 1e-12)


def solve_normal(r: torch.Tensor, rhs: torch.Tensor, k0: torch.Tensor, gamma: float,
                 iters: int) -> tuple[torch.Tensor, float]:
    """Conjugate gradient on :func:`normal_equations` plus ``gamma`` x identity, from
    ``k0``, on tiny ``(3k-2)``-sized FFTs. Returns the kernel and the relative residual."""
    ksize = rhs.shape[-1]
    n = fast_size(3 * ksize - 2)
    fr = torch.fft.rfft2(r, s=(n, n))

    def apply(k: torch.Tensor) -> torch.Tensor:
        full = torch.fft.irfft2(fr * torch.fft.rfft2(k, s=(n, n)), s=(n, n))
        return full[ksize - 1 : 2 * ksize - 1, ksize - 1 : 2 * ksize - 1] + gamma * k

    x = k0.clone()
    res = rhs - apply(x)
    p = res.clone()
    rs = torch.sum(res * res)
    b_norm = torch.sum(rhs * rhs).clamp_min(1e-30)
    for _ in range(iters):
        ap = apply(p)
        alpha = rs / torch.sum(p * ap).clamp_min(1e-30)
        x = x + alpha * p
        res = res - alpha * ap
        rs_new = torch.sum(res * res)
        if float(rs_new / b_norm) < 1e-10:
            break
        p = res + (rs_new / rs) * p
        rs = rs_new
    return x, float(torch.sqrt(rs / b_norm))


def solve_kernel(
    px: torch.Tensor,
    py: torch.Tensor,
    bx: torch.Tensor,
    by: torch.Tensor,
    ksize: int,
    k0: torch.Tensor,
    tikhonov: float,
    iters: int,
) -> tuple[torch.Tensor, float]:
    """Least-squares kernel (scipy orientation, centred) from edge maps ``P`` and blurry gradients.

    Edge maps must be zero within ``ksize`` of the canvas border so the circular
    correlations equal linear ones. Returns the raw kernel and the relative residual.
    """
    r, rhs = normal_equations(px, py, bx, by, ksize)
    return solve_normal(r, rhs, k0, ridge_weight(r, tikhonov), iters)


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected components of a small boolean array, by flood fill (k x k is tiny)."""
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    comps: list[np.ndarray] = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        queue = deque([(y0, x0)])
        pix = []
        while queue:
            y, x = queue.popleft()
            pix.append((y, x))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                        seen[yy, xx] = True
                        queue.append((yy, xx))
        comps.append(np.array(pix))
    return comps


def clean_kernel(
    k: torch.Tensor, threshold: float, min_mass: float, recentre: bool = True
) -> torch.Tensor:
    """Non-negativity, relative threshold, speck pruning, renormalisation, re-centring.

    Components whose mass is below ``min_mass`` of the total are removed (Pan et al.'s
    0.1): isolated specks are noise of the solve, a real trail is one connected path.
    The kernel is moved (integer shift) so its centre of mass sits at the centre; the
    shift is a free ambiguity of blind deconvolution and centring keeps levels aligned.
    """
    arr = k.detach().to("cpu", torch.float64).numpy().copy()
    arr[~np.isfinite(arr) | (arr < 0)] = 0  # a diverged solve must not poison the kernel
    peak = arr.max()
    if peak <= 0:
        out = np.zeros_like(arr)
        c = kernel_centre(*arr.shape)
        out[c] = 1
        return torch.as_tensor(out, dtype=k.dtype, device=k.device)
    arr[arr < threshold * peak] = 0
    total = arr.sum()
    kept = arr.copy()
    for comp in _components(arr > 0):
        if arr[comp[:, 0], comp[:, 1]].sum() < min_mass * total:
            kept[comp[:, 0], comp[:, 1]] = 0
    # Many equal specks (all under min_mass): keep them rather than an empty kernel.
    arr = kept if kept.sum() > 0 else arr
    arr /= arr.sum()
    if recentre:
        arr = recentre_kernel(arr)
    return torch.as_tensor(arr, dtype=k.dtype, device=k.device)


def recentre_kernel(arr: np.ndarray) -> np.ndarray:
    """Integer-shift a kernel so its centre of mass is at the centre (zero fill)."""
    h, w = arr.shape
    yy, xx = np.mgrid[:h, :w]
    s = arr.sum()
    if s <= 0:
        return arr
    cy, cx = (arr * yy).sum() / s, (arr * xx).sum() / s
    ty, tx = kernel_centre(h, w)
    dy, dx = int(round(ty - cy)), int(round(tx - cx))
    out = np.zeros_like(arr)
    ys0, ys1 = max(0, -dy), min(h, h - dy)
    xs0, xs1 = max(0, -dx), min(w, w - dx)
    out[ys0 + dy : ys1 + dy, xs0 + dx : xs1 + dx] = arr[ys0:ys1, xs0:xs1]
    if out.sum() > 0:
        out /= out.sum()
    return out
