"""Edge steepness: a kernel wider than the photo's sharpest edges allow is refused."""

from __future__ import annotations

import numpy as np
import pytest

from glow_core.kernel import AcceptConfig, KernelField, deconvolve_field
from glow_core.kernel.field import attach_acceptance
from glow_core.kernel.steepness import edge_steepness, kernel_max_slope
from tests.test_kernel_deconvolve import blur_linear, dead_leaves, motion_kernel
from tests.test_kernel_field import line_kernel

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def disk(radius: int) -> np.ndarray:
    """A blur that spreads every edge, as the blobby kernels noise gets read as do."""
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    k = ((yy ** 2 + xx ** 2) <= radius ** 2).astype(np.float32)
    return k / k.sum()


def noisy(sharp: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """A photo with no blur, Gaussian noise in sRGB, 8-bit."""
    out = sharp + np.random.default_rng(seed).normal(0, sigma, sharp.shape)
    return (np.round(np.clip(out, 0, 1) * 255) / 255).astype(np.float32)


def test_a_wider_blur_allows_only_gentler_slopes() -> None:
    delta = np.ones((1, 1), np.float32)
    slopes = [kernel_max_slope(delta)] + [kernel_max_slope(disk(r)) for r in (2, 5, 10)]
    assert slopes == sorted(slopes, reverse=True)
    assert slopes[0] == pytest.approx(0.4, abs=0.02)  # 3 x 3 smoothing, central differences
    assert slopes[-1] < 0.25 * slopes[0]
    # a thin straight trail leaves the edges along it as steep as no blur at all
    assert kernel_max_slope(line_kernel(21, 0.4)) > 0.8 * slopes[0]


def test_blurred_edges_fit_their_kernel_and_sharp_ones_do_not() -> None:
    sharp = dead_leaves(192, seed=5, n=900)
    k = disk(6)
    blurry = blur_linear(sharp, k, noise=0.01, seed=3)
    assert edge_steepness(blurry.mean(2), k, 0.01) < 1.5
    # the same kernel "found" on the photo with no blur, at 1 % and 4 % noise
    for sigma in (0.01, 0.04):
        assert edge_steepness(noisy(sharp, sigma).mean(2), k, sigma) > 3.0
    assert np.isnan(edge_steepness(np.full((64, 64), 0.5, np.float32), k, 0.01))  # no edges


def test_a_thin_shake_leaves_edges_along_it_sharp_so_it_is_not_refused() -> None:
    """The ratio uses the kernel's steepest slope over all directions, and a thin motion
    trail leaves edges along it sharp: on a sharp photo such a kernel reads 1.4-1.7, under
    the 1.8 at which the check starts (it is conservative: only kernels that spread every
    edge are refused on this ground)."""
    sharp = dead_leaves(192, seed=5, n=900)
    for seed in (2, 5):
        k = motion_kernel(15, seed=seed)
        assert edge_steepness(blur_linear(sharp, k, noise=0.01, seed=3).mean(2), k, 0.01) < 1.1
        assert edge_steepness(noisy(sharp, 0.02).mean(2), k, 0.02) < \
            AcceptConfig().ok_steepness


def test_the_stage_refuses_a_kernel_on_a_photo_with_no_blur() -> None:
    """As the kernel stage runs a blind kernel (a 1 x 1 field with the acceptance test):
    on the shaken photo the right kernel is kept; on the sharp noisy one the same kernel
    is refused because of the steepness alone, and the photo comes back as it was."""
    sharp = dead_leaves(192, seed=5, n=900)
    k = disk(6)
    for photo, kept in ((blur_linear(sharp, k, noise=0.01, seed=3), True),
                        (noisy(sharp, 0.03), False)):
        kf = KernelField.single(k, photo.shape[:2], confidence=0.8)
        attach_acceptance(kf, photo)
        out = deconvolve_field(photo, kf)
        steep = kf.acceptance.features["parts"].get("steepness", 1.0)
        if kept:
            assert kf.acceptance.strength > 0.5 and steep == 1.0
        else:
            assert kf.acceptance.strength == 0.0 and steep == 0.0
            np.testing.assert_array_equal(out, photo)
        # without the check, the sharp photo's kernel would have passed
        if not kept:
            off = KernelField.single(k, photo.shape[:2], confidence=0.8)
            attach_acceptance(off, photo, accept_config=AcceptConfig(steepness_check=False))
            deconvolve_field(photo, off)
            assert off.acceptance.strength > 0.0
