"""Blur simulator: many blur patterns around a camera pipeline (Blur Pattern Pretraining).

GLOWDeblur's finding is that *diversity* of blur patterns decides how well a deblurrer
generalises, so each family lives in its own small module and :func:`simulate` mixes them:

- :mod:`.kernels`: linear motion, defocus disks, Gaussians, measured kernels, centring;
- :mod:`.trajectory`: random camera-shake trajectories rendered to kernels;
- :mod:`.spatial`: spatially varying, rotational, object-motion and frame-averaging blur;
- :mod:`.camera`: linear light, highlights, clipping, noise, tone curve, JPEG;
- :mod:`.motion`: the ground-truth blur-motion field from kernel second moments;
- :mod:`.gpu`: batched FFT blur in torch for on-device simulation.
"""

from .kernels import (
    MeasuredKernels,
    blur_image,
    center_kernel,
    defocus_kernel,
    gaussian_kernel,
    linear_kernel,
)
from .motion import motion_from_covariance, motion_from_kernel
from .simulate import BlurConfig, BlurPattern, BlurSample, simulate
from .trajectory import camera_shake_kernel, random_trajectory, render_trajectory

__all__ = [
    "BlurConfig",
    "BlurPattern",
    "BlurSample",
    "MeasuredKernels",
    "blur_image",
    "camera_shake_kernel",
    "center_kernel",
    "defocus_kernel",
    "gaussian_kernel",
    "linear_kernel",
    "motion_from_covariance",
    "motion_from_kernel",
    "random_trajectory",
    "render_trajectory",
    "simulate",
]
