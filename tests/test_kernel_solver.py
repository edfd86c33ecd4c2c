"""The fast deconvolution solver computes what the reference (as first written) computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glow_core.kernel._deconv_reference import gst_iterative, solve_reference
from glow_core.kernel._shrink import STEPS_PER_UNIT, shrink, shrink_exact
from glow_core.kernel._solver import diff_t, diffs, gradient_power, solve
from glow_core.kernel.config import DeconvConfig
from glow_core.kernel.fft import fast_size, gradients, gradients_t, otf_of_gradients
from glow_core.kernel.linear import srgb_to_linear
from tests.test_kernel_deconvolve import blur_linear, dead_leaves, motion_kernel

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.mark.parametrize("beta", [1.0, 8.0, 64.0, 512.0, 2048.0])
def test_table_shrinkage_matches_exact(beta: float) -> None:
    torch.manual_seed(0)
    v = torch.randn(200_000) * 0.05
    tau, alpha = 1.0 / beta, 0.8
    c = tau ** (1.0 / (2.0 - alpha))
    fast, exact = shrink(v, tau, alpha), shrink_exact(v, tau, alpha)
    err = (fast - exact).abs()
    # Half a bin of the table in image units, except the few values within a bin of the
    # threshold, where the map jumps from 0 to its smallest non-zero value.
    near_jump = (exact == 0) != (fast.abs() < 0.6 * c / STEPS_PER_UNIT)
    assert float(err[~near_jump].max()) <= 0.6 * c / STEPS_PER_UNIT + 1e-7
    assert int(near_jump.sum()) <= 0.001 * v.numel()
    # No worse on average than the three fixed-point steps it replaces.
    assert float(err.mean()) <= float((gst_iterative(v, tau, alpha) - exact).abs().mean()) + 1e-6


def test_table_shrinkage_tv_and_huge_values() -> None:
    v = torch.tensor([-3.0, -0.5, 0.0, 0.2, 5000.0])
    assert torch.allclose(shrink(v, 0.5, 1.0), torch.tensor([-2.5, 0.0, 0.0, 0.0, 4999.5]))
    out = shrink(v, 1.0 / 2048, 0.8)  # beyond the table's range: shrinks a little, keeps sign
    assert 4999.0 < float(out[-1]) < 5000.0 and float(out[0]) < -2.9


@pytest.mark.parametrize("beta", [8.0, 512.0])
def test_signed_table_agrees_with_the_shrinkage_table(beta: float) -> None:
    # The fast path (a table of shrunk values) and the fallback for values beyond its
    # range (shrinkage amounts, as first written) give the same map to within a bin.
    torch.manual_seed(1)
    v = torch.randn(100_000) * 0.2
    tau, alpha = 1.0 / beta, 0.8
    c = tau ** (1.0 / (2.0 - alpha))
    fast = shrink(v, tau, alpha)
    fallback = shrink(v, tau, alpha, vmax=1e9)  # claims values beyond the table
    exact = shrink_exact(v, tau, alpha)
    # Off the jump at the threshold (where either may pick 0 or the smallest value; the
    # fallback's zeros are within half a bin of 0):
    def zero(x: torch.Tensor) -> torch.Tensor:
        return x.abs() < 0.6 * c / STEPS_PER_UNIT

    jump = (zero(fast) != zero(exact)) | (zero(fallback) != zero(exact))
    assert int(jump.sum()) <= 0.001 * v.numel()
    assert float((fast - fallback)[~jump].abs().max()) <= 1.2 * c / STEPS_PER_UNIT
    # Half a bin of 512 per unit times the slope of the shrunk value (~1): on average a
    # tenth of a bin of the shrinkage table, i.e. far below a grey level at any beta.
    assert float((fast - exact)[~jump].abs().mean()) <= 0.2 * c / STEPS_PER_UNIT


def test_slice_differences_match_roll_gradients() -> None:
    x = torch.randn(3, 17, 23)
    dx, dy = diffs(x)
    rx, ry = gradients(x)
    assert torch.equal(dx, rx) and torch.equal(dy, ry)
    assert torch.allclose(diff_t(dx, dy), gradients_t(dx, dy), atol=1e-6)
    ox, oy = otf_of_gradients((17, 23))
    assert torch.allclose(gradient_power((17, 23), torch.device("cpu")),
                          ox.abs() ** 2 + oy.abs() ** 2, atol=1e-5)


def test_even_fast_sizes() -> None:
    assert fast_size(1090) == 1125 and fast_size(1090, even=True) == 1152
    for n in range(1, 300):
        m = fast_size(n, even=True)
        assert m >= n and m % 2 == 0 and m == fast_size(m)


def _case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    sharp = dead_leaves(96, seed=3)
    k = motion_kernel(11)
    lin = torch.from_numpy(srgb_to_linear(blur_linear(sharp, k))).permute(2, 0, 1).contiguous()
    truth = torch.from_numpy(srgb_to_linear(sharp)).permute(2, 0, 1)
    return lin, torch.from_numpy(k), truth, 0.03 / 0.004 ** 2


def _psnr(x: torch.Tensor, truth: torch.Tensor, b: int = 12) -> float:
    return float(-10 * torch.log10(((x - truth)[:, b:-b, b:-b] ** 2).mean()))


@pytest.mark.parametrize("variant", ["free", "periodic", "clipped", "text"])
def test_fast_solver_equals_reference(variant: str) -> None:
    lin, k, truth, lam = _case()
    config, sat, tones = DeconvConfig(beta_max=512.0), None, None
    if variant == "periodic":
        config = DeconvConfig(beta_max=512.0, free_boundary=False)
    if variant == "clipped":
        sat = lin > float(lin.flatten().quantile(0.9))
    if variant == "text":
        config = DeconvConfig(beta_max=512.0, intensity_l0=0.5)
        tones = torch.tensor([[0.05] * 3, [0.9] * 3]).reshape(2, 3, 1, 1)
    fast = solve(lin, sat, k, lam, config, 19, tones=tones)
    ref = solve_reference(lin, sat, k, lam, config, 19, tones=tones)
    assert fast.shape == ref.shape == lin.shape
    # The table shrinkage differs from 3 fixed-point steps by ~1e-4 per call: the two
    # solutions agree to a small fraction of a grey level inside (the periodic case rings
    # a little at the frame, more so for one than the other) and score the same.
    assert float((fast - ref)[:, 12:-12, 12:-12].abs().mean()) < 1e-3
    assert abs(_psnr(fast, truth) - _psnr(ref, truth)) < 0.05
    assert np.isfinite(fast.numpy()).all()


def test_over_relaxation_gets_closer_to_the_converged_solve() -> None:
    # The same number of split iterations, over-relaxed (the default) against plain:
    # nearer to what many iterations converge to, on both the clipped and the plain case.
    from dataclasses import replace

    lin, k, _, lam = _case()
    for sat in (None, lin > float(lin.flatten().quantile(0.9))):
        base = DeconvConfig(beta_max=512.0)
        done = solve(lin, sat, k, lam, replace(base, inner_iters=60, relaxation=1.0), 19)
        plain = solve(lin, sat, k, lam, replace(base, relaxation=1.0), 19)
        relaxed = solve(lin, sat, k, lam, base, 19)
        assert base.relaxation > 1.5
        gap_plain = float((plain - done).abs().mean())
        gap_relaxed = float((relaxed - done).abs().mean())
        # ~11 % nearer on this small noise-free scene (measured); on Kodak with 1 %
        # noise 3 over-relaxed iterations beat 4 plain ones (DeconvConfig.relaxation).
        assert gap_relaxed < 0.95 * gap_plain, (gap_relaxed, gap_plain)
