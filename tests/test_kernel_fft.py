"""FFT helpers and the sRGB curve of glow_core.kernel, checked against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from glow_core.kernel.fft import (
    conv2_same,
    crop_back,
    extend_periodic,
    fft_convolve,
    gradients,
    gradients_t,
    otf_of_gradients,
    psf2otf,
)
from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear


@pytest.mark.parametrize("ksize", [(5, 5), (6, 4), (25, 25), (70, 70)])
def test_conv2_same_matches_scipy(ksize: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    img = rng.random((90, 101))
    k = rng.random(ksize)
    ref = scipy.signal.convolve(img, k, mode="same")
    out = conv2_same(torch.from_numpy(img), torch.from_numpy(k)).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-9)


@pytest.mark.parametrize("ksize", [(5, 5), (6, 4), (9, 7)])
def test_fft_convolve_is_circular_scipy_convolution(ksize: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    img = rng.random((40, 36))
    k = rng.random(ksize)
    pad = 12
    big = np.pad(img, pad, mode="wrap")
    ref = scipy.signal.convolve(big, k, mode="same")[pad:-pad, pad:-pad]
    out = fft_convolve(torch.from_numpy(img), torch.from_numpy(k)).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-9)
    otf = psf2otf(torch.from_numpy(k), img.shape)
    assert otf.shape == (40, 36 // 2 + 1)  # rfft2 half spectrum, as documented


def test_gradient_otfs_and_adjoint() -> None:
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.random((20, 22)))
    dx, dy = gradients(x)
    ox, oy = otf_of_gradients((20, 22), dtype=torch.float64)
    fx = torch.fft.irfft2(torch.fft.rfft2(x) * ox, s=(20, 22))
    fy = torch.fft.irfft2(torch.fft.rfft2(x) * oy, s=(20, 22))
    torch.testing.assert_close(fx, dx)
    torch.testing.assert_close(fy, dy)
    u, v = torch.from_numpy(rng.random((20, 22))), torch.from_numpy(rng.random((20, 22)))
    lhs = (dx * u).sum() + (dy * v).sum()
    rhs = (x * gradients_t(u, v)).sum()
    assert abs(float(lhs - rhs)) < 1e-9


def test_extend_periodic_has_no_wrap_discontinuity() -> None:
    yy, xx = np.mgrid[:120, :150].astype(np.float32)
    img = torch.from_numpy(0.2 + 0.6 * (xx / 150) * (yy / 120))  # ramps: worst case for wrap
    padded, crop = extend_periodic(img, 20)
    assert padded.shape[0] >= 160 and padded.shape[1] >= 190
    torch.testing.assert_close(crop_back(padded, crop), img)
    step_y = (padded[0] - padded[-1]).abs().max()
    step_x = (padded[:, 0] - padded[:, -1]).abs().max()
    inner = max(
        (padded[1:] - padded[:-1]).abs().max(), (padded[:, 1:] - padded[:, :-1]).abs().max()
    )
    # the seam is no larger a step than ordinary neighbours inside the canvas
    assert float(step_y) <= float(inner) and float(step_x) <= float(inner)
    raw_wrap = float((img[0] - img[-1]).abs().max())
    assert float(step_y) < 0.05 * raw_wrap


def test_srgb_round_trip_numpy_and_torch() -> None:
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    lin = srgb_to_linear(x)
    assert abs(float(srgb_to_linear(np.float32(0.5))) - 0.21404) < 1e-4
    np.testing.assert_allclose(linear_to_srgb(lin), x, atol=2e-6)
    t = torch.from_numpy(x)
    torch.testing.assert_close(srgb_to_linear(t), torch.from_numpy(lin), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(t)), t, atol=2e-6, rtol=1e-5)


def test_srgb_curves_leave_their_input_alone_and_differentiate() -> None:
    """The curves write into tensors they made (the clipped copy, the curve), never into
    the caller's; a tensor that needs gradients takes the plain form, same values."""
    x = torch.linspace(-0.1, 1.1, 2001)
    before = x.clone()
    for curve in (srgb_to_linear, linear_to_srgb):
        out = curve(x)
        assert torch.equal(x, before)
        leaf = x.clone().requires_grad_()
        graded = curve(leaf)
        assert torch.equal(graded.detach(), out)
        graded.sum().backward()
        assert torch.isfinite(leaf.grad).all() and float(leaf.grad.min()) >= 0.0
