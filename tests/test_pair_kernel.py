"""The kernel fitted to a (blurry, sharp) pair: the real-blur ceiling's kernel."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import kernels as bench
from benchmarks.pair_kernel import fit_kernel, fit_psnr
from tests.test_kernel_deconvolve import dead_leaves, motion_kernel


def _centred(k: np.ndarray, side: int) -> np.ndarray:
    c, h = k.shape[0] // 2, side // 2
    return k[c - h:c + h + 1, c - h:c + h + 1]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("seed", [1, 2])
def test_fitted_kernel_is_the_true_one(seed: int) -> None:
    """With the sharp photo known the kernel is found where it is, without a haze: all of
    its mass within the true support, shaped like it, and it re-blurs the sharp photo
    about as closely as the true kernel (the blur was noisy, so neither is exact)."""
    sharp = dead_leaves(256, seed=seed)
    k = motion_kernel(15, seed=seed + 1)
    blurry = bench.blur_photo(sharp, k, noise=0.005, seed=0)
    fitted = fit_kernel(blurry, sharp)
    assert fitted.shape == (61, 61) and fitted.min() >= 0
    assert fitted.sum() == pytest.approx(1.0, abs=1e-5)
    inner = _centred(fitted, 15)
    assert inner.sum() > 0.98  # not moved, nothing spread over the support
    assert np.corrcoef(inner.ravel(), k.ravel())[0, 1] > 0.97
    true_fit = fit_psnr(blurry, sharp, k)
    assert fit_psnr(blurry, sharp, fitted) > true_fit - 1.5
    # a wrong kernel (the true one turned a quarter) explains far less
    assert fit_psnr(blurry, sharp, np.rot90(k).copy()) < true_fit - 10


@pytest.mark.usefixtures("one_torch_thread")
def test_fit_at_the_best_shift_forgives_a_moved_kernel() -> None:
    """A blind kernel is free to move the photo: ``shift=True`` scores it where it fits."""
    sharp = dead_leaves(200, seed=4)
    k = motion_kernel(11, seed=5)
    blurry = bench.blur_photo(sharp, k, noise=0.0, seed=0)
    moved = np.zeros((17, 17), np.float32)
    moved[1:12, 5:16] = k  # 2 px up and 2 px right of the centre
    assert fit_psnr(blurry, sharp, moved, shift=True) > fit_psnr(blurry, sharp, moved) + 5
    assert fit_psnr(blurry, sharp, moved, shift=True) > fit_psnr(blurry, sharp, k) - 0.5
