"""Shapes, gradients and invariants of every model part on the tiny preset."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from glow_core.config import PRESETS, GlowConfig
from glow_core.models import PARTS, GlowDeblur
from glow_core.models.autoencoder import DeepCompressionAutoencoder
from glow_core.models.blocks import LayerNorm2d, LinearAttention, box_mean
from glow_core.models.motion import decode_motion
from glow_core.sampling import sample, timesteps

TINY = PRESETS["tiny"]


@pytest.fixture(scope="module")
def model() -> GlowDeblur:
    torch.manual_seed(0)
    return GlowDeblur(TINY)


def test_every_part_has_parameters_and_preset_sizes(model: GlowDeblur) -> None:
    for part in PARTS:
        assert sum(p.numel() for p in getattr(model, part).parameters()) > 0
    assert TINY.latent_factor == 8
    assert PRESETS["small"].latent_factor == 32  # f32 as in the paper
    assert PRESETS["small"].autoencoder.latent_channels == 32


def test_config_json_round_trip() -> None:
    for cfg in PRESETS.values():
        assert GlowConfig.from_json(cfg.to_json()) == cfg


def test_fast_path_shapes_and_gradients(model: GlowDeblur) -> None:
    x = torch.rand(2, 3, 32, 48, requires_grad=True)
    out = model.fast(x)
    assert out.rgb.shape == (2, 3, 32, 48)
    assert out.aligned.shape == (2, TINY.prerecon.align_channels, 4, 6)
    assert out.motion.shape == (2, 3, 4, 6)
    (out.rgb.mean() + out.aligned.mean() + out.motion.mean()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    grads = [p.grad for p in model.prerecon.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.zero_grad()


def test_prerecon_rejects_unaligned_input(model: GlowDeblur) -> None:
    with pytest.raises(ValueError, match="multiples"):
        model.prerecon(torch.rand(1, 3, 30, 32))


def test_autoencoder_shapes_and_gradients() -> None:
    ae = DeepCompressionAutoencoder(TINY.autoencoder)
    x = torch.rand(1, 3, 32, 32)
    z = ae.encode(x)
    assert z.shape == (1, TINY.autoencoder.latent_channels, 4, 4)
    y = ae.decode(z)
    assert y.shape == x.shape
    (y - x).abs().mean().backward()
    assert all(p.grad is not None for p in ae.parameters())


def test_dit_shapes_gradients_and_caption_sensitivity(model: GlowDeblur) -> None:
    torch.manual_seed(1)
    dit = model.dit
    with torch.no_grad():
        dit.final.weight.normal_(0, 0.1)
        for block in dit.blocks:
            block.cross.out.weight.normal_(0, 0.1)
    z = torch.randn(2, 8, 4, 6)
    cond = torch.randn(2, TINY.prerecon.align_channels + 3, 4, 6)
    text = torch.randn(2, 16, 32)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, :4] = True
    t = torch.tensor([0.3, 0.9])
    v = dit(z, t, cond, text, mask)
    assert v.shape == z.shape
    v.square().mean().backward()
    assert dit.text_proj[0].weight.grad is not None
    with torch.no_grad():
        other = dit(z, t, cond, torch.randn(2, 16, 32), mask)
        empty = dit(z, t, cond, text, torch.zeros_like(mask))
    assert not torch.allclose(v, other)  # words change the prediction
    assert torch.isfinite(empty).all()  # an empty caption is well defined
    with torch.no_grad():  # masked tokens are ignored
        masked_other = text.clone()
        masked_other[:, 4:] = torch.randn(2, 12, 32)
        assert torch.allclose(dit(z, t, cond, masked_other, mask), v, atol=1e-5)
    model.zero_grad()


def test_dit_handles_any_grid_size(model: GlowDeblur) -> None:
    cond = torch.randn(1, TINY.prerecon.align_channels + 3, 3, 7)
    text = torch.zeros(1, 16, 32)
    mask = torch.zeros(1, 16, dtype=torch.bool)
    v = model.dit(torch.randn(1, 8, 3, 7), torch.tensor([0.5]), cond, text, mask)
    assert v.shape == (1, 8, 3, 7)


def test_linear_attention_is_permutation_equivariant() -> None:
    torch.manual_seed(0)
    attn = LinearAttention(16, 2)
    x = torch.randn(1, 10, 16)
    perm = torch.randperm(10)
    assert torch.allclose(attn(x)[:, perm], attn(x[:, perm]), atol=1e-5)


def test_box_mean_matches_direct_average() -> None:
    x = torch.rand(1, 2, 9, 11)
    got = box_mean(x, 5)
    y, xx = 4, 0
    expect = x[:, :, y - 2:y + 3, 0:3].mean(dim=(2, 3))
    assert torch.allclose(got[:, :, y, xx], expect, atol=1e-6)
    assert torch.allclose(box_mean(x, 99), x.mean(dim=(2, 3), keepdim=True).expand_as(x),
                          atol=1e-6)


@pytest.mark.parametrize("window", [3, 9, 40])
def test_box_mean_is_the_same_in_every_memory_layout(window: int) -> None:
    """The engine runs channels-last on the CPU, where box_mean takes its own running
    sums: it must give the direct average (avg_pool2d without the outside) there too."""
    torch.manual_seed(1)
    x = torch.rand(2, 5, 23, 31)
    r = window // 2
    expect = F.avg_pool2d(F.pad(x, (r,) * 4), 2 * r + 1, stride=1) / \
        F.avg_pool2d(F.pad(torch.ones_like(x), (r,) * 4), 2 * r + 1, stride=1)
    for t in (x, x.contiguous(memory_format=torch.channels_last)):
        got = box_mean(t, window)
        assert got.shape == x.shape
        assert torch.allclose(got, expect, atol=1e-5)


def test_layer_norm_normalises_each_pixel_over_its_channels() -> None:
    torch.manual_seed(2)
    norm = LayerNorm2d(6)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2.0)
        norm.bias.normal_()
    x = torch.randn(2, 6, 7, 9) * 3 + 1
    mean = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    expect = (x - mean) / torch.sqrt(var + norm.eps) * norm.weight.view(1, -1, 1, 1) \
        + norm.bias.view(1, -1, 1, 1)
    for t in (x, x.contiguous(memory_format=torch.channels_last)):
        assert torch.allclose(norm(t), expect, atol=1e-5)
    assert norm(x.half()).dtype == torch.float16  # statistics in float32, result as given


def test_flow_loss_and_fusion_start_equal_to_fast_path(model: GlowDeblur) -> None:
    x = torch.rand(2, 3, 32, 32)
    losses = model.flow_loss(x, x, torch.zeros(2, 16, 32), torch.zeros(2, 16, dtype=torch.bool))
    assert set(losses) == {"flow", "fusion", "loss"}
    losses["loss"].backward()
    assert model.dit.final.weight.grad is not None
    assert model.fusion.out.weight.grad is not None
    model.zero_grad()
    with torch.no_grad():  # zero-initialised fusion: full path == fast path before training
        fresh = GlowDeblur(TINY)
        fast = fresh.fast(x)
        full = fresh(x, torch.zeros(2, 16, 32), torch.zeros(2, 16, dtype=torch.bool), steps=2)
        assert torch.allclose(full, fast.rgb, atol=1e-6)


def test_samplers_solve_a_known_flow() -> None:
    target = torch.full((1, 4, 2, 2), 0.7)

    def velocity(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # exact rectified-flow velocity when every sample flows to `target`
        tt = t.view(-1, 1, 1, 1)
        noise = (z - (1 - tt) * target) / tt.clamp(min=1e-6)
        return noise - target

    noise = torch.randn(1, 4, 2, 2)
    for sampler in ("euler", "heun"):
        for steps in (1, 3, 8):
            out = sample(velocity, noise, steps, sampler=sampler)
            assert torch.allclose(out, target, atol=1e-4), (sampler, steps)
    calls = []
    sample(velocity, noise, 3, callback=lambda s, n: calls.append((s, n)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    ts = timesteps(4, shift=3.0)
    assert ts[0] == 1 and ts[-1] == 0 and bool((ts[1:] < ts[:-1]).all())


def test_decode_motion_axis_has_no_sign() -> None:
    ext, theta = 10.0, math.radians(30)
    field = torch.tensor([ext * math.cos(2 * theta), ext * math.sin(2 * theta), 0.0]) / 16
    dec = decode_motion(field.view(1, 3, 1, 1))
    assert dec["extent"].item() == pytest.approx(ext, rel=1e-5)
    assert dec["angle"].item() == pytest.approx(theta, rel=1e-5)
