"""Rectified-flow samplers (Euler and Heun) over any number of steps.

Convention (as in SD3 / Sana): z_t = (1 - t) * z_0 + t * noise, velocity v = noise - z_0,
integrated from t = 1 (pure noise) to t = 0. A `callback(step, total)` runs after every
step; raising from it (e.g. on cancel) stops sampling at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Sampler = Literal["euler", "heun"]
SAMPLERS: tuple[str, ...] = ("euler", "heun")


def timesteps(steps: int, shift: float = 1.0, device: torch.device | None = None) -> torch.Tensor:
    """steps+1 times from 1 to 0; shift > 1 spends more steps at high noise (SD3's time shift)."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    t = torch.linspace(1.0, 0.0, steps + 1, device=device)
    return shift * t / (1 + (shift - 1) * t)


def sample(velocity: VelocityFn, noise: torch.Tensor, steps: int, sampler: Sampler = "euler",
           shift: float = 1.0, callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Integrate the flow from `noise` (t=1) to a clean latent (t=0)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")
    ts = timesteps(steps, shift, device=noise.device)
    z = noise
    batch = noise.shape[0]
    for i in range(steps):
        t, t_next = ts[i], ts[i + 1]
        dt = t_next - t
        v = velocity(z, t.expand(batch))
        if sampler == "heun" and i + 1 < steps:
            z_pred = z + dt * v
            v_next = velocity(z_pred, t_next.expand(batch))
            z = z + dt * 0.5 * (v + v_next)
        else:
            z = z + dt * v
        if callback is not None:
            callback(i + 1, steps)
    return z
