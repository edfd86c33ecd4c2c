"""Luminance and two opponent chroma channels: the colour space the deconvolution solves in.

Why: blur is the same linear operator on every channel, so any fixed linear mix of R, G,
B is blurred by the same kernel, and the deconvolution may solve in whichever mix suits
its prior. Solving R, G and B separately gives each channel the noise of one channel and
lets each ring and amplify noise on its own: the result carries coloured noise and
colour fringes. In luminance (the mean of the three) the noise is sqrt(3) times lower,
so its data term may be trusted more (sharper detail); the two chroma channels carry
little high-frequency signal in natural photos, so the sparse-gradient prior keeps them
clean, and their noise no longer speckles the colours. Measured with the true kernel on
Kodak x the protocol's real kernels + 1 % noise (``benchmarks/kernels.py``'s cases):
see ``DeconvConfig.opponent_colour``.

The mix is a fixed, invertible 3 x 3 matrix on linear RGB (not YCbCr's luma weights:
the photo's noise is about the same in every channel, and equal weights give luminance
the least of it).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["FROM_RGB", "TO_RGB", "channel_noise_scale", "from_rgb", "to_rgb"]

#: Rows: luminance (R + G + B) / 3, red-blue (R - B) / 2, green-magenta (2G - R - B) / 4.
FROM_RGB = np.array([[1 / 3, 1 / 3, 1 / 3],
                     [1 / 2, 0.0, -1 / 2],
                     [-1 / 4, 1 / 2, -1 / 4]], dtype=np.float64)
TO_RGB = np.linalg.inv(FROM_RGB)


def channel_noise_scale() -> np.ndarray:
    """Each channel's noise sigma relative to one RGB channel's (i.i.d. channel noise)."""
    return np.sqrt((FROM_RGB ** 2).sum(axis=1))


def _mix(matrix: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    m = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("oc,c...->o...", m, x)


def from_rgb(x: torch.Tensor) -> torch.Tensor:
    """(3, ...) linear RGB -> (3, ...) luminance, red-blue, green-magenta."""
    return _mix(FROM_RGB, x)


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`from_rgb`."""
    return _mix(TO_RGB, x)
