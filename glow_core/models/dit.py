"""Linear DiT: the diffusion backbone on the latent grid.

ReLU linear self-attention (cost linear in tokens, so big photos stay affordable),
cross-attention to caption tokens (semantic guidance), Mix-FFN (whose depthwise conv gives
the position cue, so no positional embedding: any grid size works), and adaLN-single
timestep modulation (one shared projection plus a small learned table per block, as in
PixArt-α / Sana).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from glow_core.config import DiTConfig
from glow_core.models.blocks import CrossAttention, LinearAttention, MixFFN


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: per-sample ``x * (1 + scale) + shift`` over the token axis."""
    return x * (1 + scale[:, None]) + shift[:, None]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of t in [0, 1] (scaled by 1000, as diffusion backbones expect)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class DiTBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = LinearAttention(width, heads)
        self.norm_cross = nn.LayerNorm(width, eps=1e-6)
        self.cross = CrossAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.ffn = MixFFN(width, mlp_ratio)
        self.table = nn.Parameter(torch.randn(6, width) / width**0.5)

    def forward(self, x: torch.Tensor, t_mod: torch.Tensor, ctx: torch.Tensor,
                mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
        mod = t_mod.view(x.shape[0], 6, -1) + self.table[None].to(t_mod.dtype)
        shift1, scale1, gate1, shift2, scale2, gate2 = mod.unbind(1)
        h = modulate(self.norm1(x), shift1, scale1)
        x = x + gate1[:, None] * self.attn(h)
        x = x + self.cross(self.norm_cross(x), ctx, mask)
        h = modulate(self.norm2(x), shift2, scale2)
        return x + gate2[:, None] * self.ffn(h, height, width)


class LinearDiT(nn.Module):
    """Predicts the rectified-flow velocity of the latent, conditioned on image and caption."""

    def __init__(self, config: DiTConfig, latent_channels: int, cond_channels: int) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.latent_channels = latent_channels
        self.embed = nn.Conv2d(latent_channels + cond_channels, w, 1)
        self.cond_embed = nn.Conv2d(cond_channels, w, 3, padding=1)
        self.time_mlp = nn.Sequential(
            nn.Linear(config.time_freq_dim, w), nn.SiLU(), nn.Linear(w, w)
        )
        self.t_block = nn.Sequential(nn.SiLU(), nn.Linear(w, 6 * w))
        self.text_proj = nn.Sequential(nn.Linear(config.text_dim, w), nn.GELU(approximate="tanh"),
                                       nn.Linear(w, w))
        self.blocks = nn.ModuleList(
            [DiTBlock(w, config.heads, config.mlp_ratio) for _ in range(config.depth)]
        )
        self.final_norm = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.final_table = nn.Parameter(torch.randn(2, w) / w**0.5)
        self.final = nn.Linear(w, latent_channels)
        nn.init.zeros_(self.final.weight)
        nn.init.zeros_(self.final.bias)
        for block in self.blocks:
            nn.init.zeros_(block.attn.out.weight)
            nn.init.zeros_(block.cross.out.weight)
            nn.init.zeros_(block.ffn.proj.weight)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        b, _, h, w = z_t.shape
        x = self.embed(torch.cat([z_t, cond], dim=1)) + self.cond_embed(cond)
        x = x.flatten(2).transpose(1, 2)
        temb = self.time_mlp(timestep_embedding(t, self.config.time_freq_dim).to(x.dtype))
        t_mod = self.t_block(temb)
        ctx = self.text_proj(text.to(x.dtype))
        for block in self.blocks:
            x = block(x, t_mod, ctx, text_mask, h, w)
        shift, scale = (self.final_table[None].to(x.dtype) + temb[:, None]).unbind(1)
        x = modulate(self.final_norm(x), shift, scale)
        return self.final(x).transpose(1, 2).reshape(b, self.latent_channels, h, w)
