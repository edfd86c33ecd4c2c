"""Physics-first kernel stage: blind blur-kernel estimation and FFT helpers.

Public API (torch inside, numpy or torch in, same code on CPU / CUDA / MPS):

* :func:`estimate_kernel` -> :class:`KernelEstimate` (kernel, confidence, ...),
  :class:`KernelCancelled`, :class:`KernelConfig`;
* FFT helpers in :mod:`glow_core.kernel.fft` (``psf2otf``, ``fft_convolve``,
  ``conv2_same``, ``extend_periodic``, ``gradients``, ``otf_of_gradients``);
* the sRGB curve in :mod:`glow_core.kernel.linear`;
* non-blind :func:`deconvolve` (hyper-Laplacian, saturation- and noise-aware) and
  :func:`wiener`; :func:`estimate_noise`;
* the spatially varying :class:`KernelField` (:func:`estimate_kernel_field`,
  :func:`deconvolve_field`, the blur-trace overlay); defocus :func:`disk_kernel` and
  :func:`estimate_defocus`; kernel files :func:`load_kernel` / :func:`save_kernel`;
* the acceptance test :func:`accept` -> :class:`Acceptance` (score, strength, reasons)
  and :func:`blend` (built into :func:`estimate_kernel_field` / :func:`deconvolve_field`).

Kernel orientation everywhere: ``blurred = scipy.signal.convolve(sharp, k, mode="same")``.
This package imports only torch, numpy and the standard library.
"""

from .accept import Acceptance, accept, blend
from .config import (
    AcceptConfig,
    DeconvConfig,
    DefocusConfig,
    FieldConfig,
    KernelConfig,
    NoiseConfig,
)
from .deconvolve import DeconvCancelled, deconvolve, deconvolve_window, wiener
from .defocus import DefocusEstimate, disk_kernel, estimate_defocus
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
from .field import KernelField, deconvolve_field, estimate_kernel_field, field_grid
from .kernel_io import KernelFileError, load_kernel, save_kernel
from .linear import linear_to_srgb, srgb_to_linear
from .noise import estimate_noise

__all__ = [
    "AcceptConfig",
    "Acceptance",
    "accept",
    "blend",
    "DeconvCancelled",
    "DeconvConfig",
    "DefocusConfig",
    "DefocusEstimate",
    "FieldConfig",
    "KernelField",
    "KernelFileError",
    "NoiseConfig",
    "deconvolve",
    "deconvolve_field",
    "deconvolve_window",
    "disk_kernel",
    "estimate_defocus",
    "estimate_kernel_field",
    "estimate_noise",
    "field_grid",
    "load_kernel",
    "save_kernel",
    "wiener",
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
