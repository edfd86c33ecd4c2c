"""Typed configuration for the physics-first kernel stage, with the reason for each default."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class KernelConfig:
    """Parameters of blind single-kernel estimation (:func:`glow_core.kernel.estimate_kernel`)."""

    # --- where and how to compute ---------------------------------------------------------
    device: str | None = None  # None: the input tensor's device, else CPU; same code on CUDA/MPS
    threads: int | None = None  # torch CPU threads; None leaves torch's setting (the app decides)

    # --- region of interest ------------------------------------------------------------------
    region_min: int = 256  # below ~256 px too few edges per orientation for a 25 px kernel
    region_per_kernel: float = 8.0  # the crop spans ~8 kernel widths: each edge seen blurred
    region_max: int = 512  # cost grows with area; 512 px has edges enough and keeps 1 MP < 5 s

    # --- kernel size -------------------------------------------------------------------------
    auto_kernel_max: int = 75  # the largest real shakes we hold are ~64-70 px wide (Lai / Levin)
    auto_kernel_min: int = 15  # smaller windows lose the tails of moderate shakes
    auto_margin: float = 1.4  # next level's window = support x margin: room to grow, less noise
    coarsest_kernel: int = 5  # 3-5 px at the coarsest level: a blob that cannot be wrong yet
    level_scale: float = math.sqrt(2.0)  # sqrt(2) per level (Cho & Lee, Pan): stable hand-over

    # --- latent image: L0 gradient prior by half-quadratic splitting (Xu 2013, Pan 2014) ------
    latent_lambda: float = 4e-3  # Pan et al.'s lambda for [0,1] images: keeps only salient steps
    latent_lambda_min: float = 1e-3  # lower would let textures/noise back into the latent
    latent_lambda_decay: float = 0.8  # per iteration: admit finer edges once the kernel is fair
    hqs_beta_max: float = 1e5  # splitting weight at which the L0 step is effectively exact
    hqs_kappa: float = 2.0  # doubling beta: ~15 FFT solves per latent update, standard

    # --- salient edges (Cho & Lee 2009, Xu & Jia 2010) ---------------------------------------
    edge_bins: int = 4  # orientation bins of 45 degrees: every direction constrains the kernel
    edge_keep: float = 2.0  # keep r*sqrt(pixels*kernel pixels) per bin (Cho & Lee's r = 2)
    edge_keep_growth: float = 1.1  # per iteration: more edges once the kernel is reliable
    rmap_threshold: float = 0.1  # Xu & Jia r-map: drop edges narrower than the kernel (ridges)

    # --- kernel solve in the gradient domain ------------------------------------------------
    kernel_tikhonov: float = 1e-2  # x mean autocorrelation: damps a noisy solve, keeps shape
    kernel_smooth: float = 0.0  # optional gradient penalty on the kernel
    cg_iters: int = 25  # CG on the k x k support converges in ~20 iterations here
    kernel_threshold: float = 0.05  # values below 5 % of the peak are noise (Cho & Lee, Pan)
    speck_mass: float = 0.1  # components under 10 % of the mass are specks (Pan et al.'s rule)
    iters_per_level: int = 5  # alternations per scale; more gives little (measured)
    iters_finest: int = 6  # a bit more at the finest scale where details are decided

    # --- noise ---------------------------------------------------------------------------------
    noise_prefilter: float = 1.0  # Gaussian sigma (px) per 0.01 of estimated sRGB noise
    noise_floor: float = 0.3  # noise under 0.3 % (8-bit quantisation, mild sensor noise): none
    noise_lambda_gain: float = 1.0  # lambda x (1 + gain * noise/0.01): fewer false edges in noise

    # --- confidence -------------------------------------------------------------------------
    delta_radius: float = 1.0  # kernels whose spread is under ~1 px are "no blur": skip deconv
