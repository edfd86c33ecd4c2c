"""Random camera-shake trajectories (Boracchi & Foi 2012; DeblurGAN's generator).

A particle with inertia moves at constant speed; each step its velocity gets a Gaussian
kick, a pull back toward the start (centripetal term: hands return), and, rarely, a
sudden reversal ("big shake"). The path is scaled to the requested size, only a random
part of it is exposed (the shutter is open for a fraction of the shake), and it is
rendered into a kernel by bilinear splatting around its centroid, so the kernel is
centred with sub-pixel accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import delta_kernel, splat_points

__all__ = ["ShakeParams", "camera_shake_kernel", "random_trajectory", "render_trajectory"]


@dataclass
class ShakeParams:
    """Shape of the random walk; ``None`` fields are drawn per trajectory as in DeblurGAN."""

    steps: int = 256
    anxiety: float | None = None  # overall kick strength, U(0, 0.1)
    centripetal: float | None = None  # pull toward the start, U(0, 0.7)
    kick: float | None = None  # Gaussian kick scale, U(0, 10)
    big_shake: float | None = None  # reversal probability factor, U(0, 0.2)


def random_trajectory(rng: np.random.Generator, params: ShakeParams | None = None) -> np.ndarray:
    """A ``steps x 2`` path ``(x, y)`` of unit-ish length (constant speed, arbitrary origin)."""
    p = params or ShakeParams()
    n = max(int(p.steps), 2)
    anxiety = rng.uniform(0, 0.1) if p.anxiety is None else p.anxiety
    centripetal = rng.uniform(0, 0.7) if p.centripetal is None else p.centripetal
    kick = rng.uniform(0, 10) if p.kick is None else p.kick
    big = rng.uniform(0, 0.2) if p.big_shake is None else p.big_shake
    step = 1.0 / (n - 1)
    u = rng.random(n)
    turn = rng.random(n)
    noise = rng.standard_normal((n, 2))
    v = complex(np.exp(1j * rng.uniform(0, 2 * np.pi))) * step
    x = np.zeros(n, complex)
    pos = 0j
    for t in range(n - 1):
        jump = 0j
        if u[t] < big * anxiety:  # sudden reversal, roughly back along the path
            jump = 2 * v * complex(np.exp(1j * (np.pi + turn[t] - 0.5)))
        v += jump + anxiety * (kick * complex(noise[t, 0], noise[t, 1]) - centripetal * pos) * step
        v = v / abs(v) * step if abs(v) > 0 else step + 0j
        pos = pos + v
        x[t + 1] = pos
    return np.stack([x.real, x.imag], axis=1)


def render_trajectory(
    path: np.ndarray, weights: np.ndarray | None = None, subsample: int = 4
) -> np.ndarray:
    """Render a path (``N x 2`` in px) into a centred kernel.

    The path is densified linearly (``subsample`` points per segment, time-uniform: the
    exposure is proportional to dwell time) and moved so its weighted mean is the origin.
    """
    path = np.asarray(path, np.float64)
    if len(path) < 2:
        return delta_kernel()
    s = max(int(subsample), 1)
    t = np.linspace(0, len(path) - 1, (len(path) - 1) * s + 1)
    i0 = np.minimum(np.floor(t).astype(int), len(path) - 2)
    f = (t - i0)[:, None]
    dense = path[i0] * (1 - f) + path[i0 + 1] * f
    w = None
    if weights is not None:
        wt = np.asarray(weights, np.float64)
        w = wt[i0] * (1 - f[:, 0]) + wt[i0 + 1] * f[:, 0]
        w = w / w.sum()
    mean = dense.mean(0) if w is None else (dense * w[:, None]).sum(0)
    return splat_points(dense - mean, w)


def camera_shake_kernel(
    rng: np.random.Generator,
    size: float,
    exposure: tuple[float, float] = (0.5, 1.0),
    params: ShakeParams | None = None,
    max_size: int | None = None,
) -> np.ndarray:
    """A random camera-shake kernel whose full path spans ``size`` px (bounding box side).

    Only a random contiguous fraction (drawn from ``exposure``) of the path is exposed, so
    the kernel may be shorter than ``size``; it never exceeds it. Centring on the centroid
    can make the kernel array up to about twice ``size`` wide; ``max_size`` caps the
    array side by shrinking the path when needed.
    """
    path = random_trajectory(rng, params)
    span = float(np.max(path.max(0) - path.min(0)))
    path = path * (size / max(span, 1e-9))
    frac = float(rng.uniform(*exposure))
    n = len(path)
    m = max(2, int(round(frac * n)))
    start = int(rng.integers(0, n - m + 1))
    part = path[start : start + m]
    if max_size is not None:
        radius = float(np.abs(part - part.mean(0)).max())  # the dense path's mean differs
        limit = (max_size - 3) / 2 - 0.5  # little from the samples' mean; keep a margin
        if radius > limit:
            part = part * (max(limit, 0.0) / radius)
    return render_trajectory(part)
