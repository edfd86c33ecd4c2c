"""Physics-first kernel stage: blind blur-kernel estimation and FFT helpers.

Public API (torch inside, numpy or torch in, same code on CPU / CUDA / MPS):

* :func:`estimate_kernel` -> :class:`KernelEstimate` (kernel, confidence, ...),
  :class:`KernelCancelled`, :class:`KernelConfig`;
* FFT helpers in :mod:`glow_core.kernel.fft` (``psf2otf``, ``fft_convolve``,
  ``conv2_same``, ``extend_periodic``, ``gradients``, ``otf_of_gradients``);
* the sRGB curve in :mod:`glow_core.kernel.linear`.

Kernel orientation everywhere: ``blurred = scipy.signal.convolve(sharp, k, mode="same")``.
This package imports only torch, numpy and the standard library.
"""

from .config import KernelConfig
from .estimate import (
    KernelCancelled,
    KernelEstimate,
    choose_region,
    estimate_kernel,
    kernel_similarity,
    kernel_spread,
)
from .fft import (
    conv2_same,
    crop_back,
    extend_periodic,
    fft_convolve,
    gradients,
    gradients_t,
    otf_of_gradients,
    psf2otf,
)
from .linear import linear_to_srgb, srgb_to_linear

__all__ = [
    "KernelCancelled",
    "KernelConfig",
    "KernelEstimate",
    "choose_region",
    "conv2_same",
    "crop_back",
    "estimate_kernel",
    "extend_periodic",
    "fft_convolve",
    "gradients",
    "gradients_t",
    "kernel_similarity",
    "kernel_spread",
    "linear_to_srgb",
    "otf_of_gradients",
    "psf2otf",
    "srgb_to_linear",
]
