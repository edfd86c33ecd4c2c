"""The half-resolution chroma's upsampling along the luminance's edges."""

from __future__ import annotations

import torch

from glow_core.kernel._guided import guided_upsample
from glow_core.kernel._resample import double, halve


def _two_colours(h: int = 40, w: int = 40, edge: int = 17) -> tuple[torch.Tensor, torch.Tensor]:
    """Luminance and one chroma channel of two flat colours meeting at an odd column:
    an edge the 2 x 2 means straddle, so a plain upsampling smears it over 2-3 pixels."""
    lum = torch.full((h, w), 0.2)
    lum[:, edge:] = 0.6
    chroma = torch.full((1, h, w), -0.1)
    chroma[:, :, edge:] = 0.15
    return lum, chroma


def test_a_colour_edge_on_a_luminance_edge_comes_back_sharp() -> None:
    lum, chroma = _two_colours()
    low = halve(chroma)
    plain = guided_upsample(low, lum, radius=0, eps=1e-5)
    torch.testing.assert_close(plain, double(low, *lum.shape))
    guided = guided_upsample(low, lum, radius=1, eps=1e-5)
    err_plain = float((plain - chroma).abs().max())
    err_guided = float((guided - chroma).abs().max())
    assert err_plain > 0.25 / 4  # a third of the 0.25 step smeared across the edge
    assert err_guided < 0.1 * err_plain  # measured 0.07
    assert guided.shape == chroma.shape


def test_colour_that_the_luminance_does_not_explain_keeps_the_plain_upsampling() -> None:
    """An isoluminant colour edge (and flat luminance noise): no slope to borrow, so the
    result is the plain bicubic one, not a colour edge made up from the noise."""
    gen = torch.Generator().manual_seed(0)
    _, chroma = _two_colours()
    lum = 0.4 + 1e-4 * torch.randn(chroma.shape[1:], generator=gen)
    low = halve(chroma)
    guided = guided_upsample(low, lum, radius=1, eps=1e-5)
    plain = double(low, *lum.shape)
    assert float((guided - plain).abs().max()) < 1e-3


def test_odd_sizes_and_several_channels() -> None:
    lum, chroma = _two_colours(33, 27, edge=11)
    chroma = torch.cat([chroma, -chroma])
    out = guided_upsample(halve(chroma), lum, radius=1, eps=1e-5)
    assert out.shape == (2, 33, 27)
    assert float((out - chroma).abs().mean()) < 0.2 * float(
        (double(halve(chroma), 33, 27) - chroma).abs().mean())
