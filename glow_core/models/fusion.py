"""Full-resolution fusion of the pre-reconstruction with the diffusion output.

A deep-compression decoder cannot reproduce fine detail exactly (the paper's f32 AE caps
near 29 dB), so the decoded image is not the answer on its own: the fusion network sees
the full-resolution pre-reconstruction and the decoded diffusion sample and predicts a
residual over the pre-reconstruction. Its last layer starts at zero, so an untrained
fusion reproduces the fast path exactly, and training can only add what the fast path
lacks (texture the diffusion prior hallucinates plausibly where blur destroyed it).
"""

from __future__ import annotations

import torch
from torch import nn

from glow_core.config import FusionConfig
from glow_core.models.blocks import NAFBlock


class Fusion(nn.Module):
    def __init__(self, config: FusionConfig, stat_window: int) -> None:
        super().__init__()
        w = config.width
        self.intro = nn.Conv2d(6, w, 3, padding=1)
        self.body = nn.Sequential(*[NAFBlock(w, stat_window) for _ in range(config.blocks)])
        self.out = nn.Conv2d(w, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, prerecon: torch.Tensor, decoded: torch.Tensor) -> torch.Tensor:
        residual = self.out(self.body(self.intro(torch.cat([prerecon, decoded - prerecon], 1))))
        return prerecon + residual
