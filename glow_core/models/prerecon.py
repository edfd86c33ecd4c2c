"""Pre-reconstruction & domain-alignment U-Net.

Restores the photo directly (the product's "fast" mode: an RGB residual over the input)
and hands the diffusion backbone an aligned feature on the latent grid, so the DiT starts
from a representation in which real and simulated blur already look alike.

With ``deconv_input`` (physics first) the input is ``cat(deconvolved, blurry)`` and the
RGB output is a residual over the deconvolved image: the network cleans up what the
non-blind deconvolution leaves (ringing, noise, kernel errors, residual blur).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from glow_core.config import PreReconConfig
from glow_core.models.blocks import NAFBlock, level_window, resample


class PreReconstruction(nn.Module):
    def __init__(self, config: PreReconConfig, latent_factor: int) -> None:
        super().__init__()
        if len(config.enc_blocks) != len(config.dec_blocks):
            raise ValueError("enc_blocks and dec_blocks must have the same number of levels")
        self.config = config
        self.latent_factor = latent_factor
        w = config.width
        self.stem = config.stem
        shift = config.stem.bit_length() - 1  # levels already skipped by the stem
        if 2**shift != config.stem:
            raise ValueError("prerecon stem must be a power of two")
        self.in_channels = 6 if config.deconv_input else 3
        self.intro = nn.Conv2d(self.in_channels * self.stem**2, w, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        ch = w
        for level, n in enumerate(config.enc_blocks):
            win = level_window(config.stat_window, level + shift)
            self.encoders.append(nn.Sequential(*[NAFBlock(ch, win) for _ in range(n)]))
            self.downs.append(nn.Conv2d(ch, ch * 2, 2, stride=2))
            ch *= 2
        depth = len(config.enc_blocks)
        mid_win = level_window(config.stat_window, depth + shift)
        self.middle = nn.Sequential(*[NAFBlock(ch, mid_win) for _ in range(config.middle_blocks)])
        self.mid_channels = ch
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(depth)):
            up = nn.Sequential(nn.Conv2d(ch, ch * 2, 1, bias=False), nn.PixelShuffle(2))
            self.ups.append(up)
            ch //= 2
            win = level_window(config.stat_window, level + shift)
            n = config.dec_blocks[level]
            self.decoders.append(nn.Sequential(*[NAFBlock(ch, win) for _ in range(n)]))
        self.ending = nn.Sequential(nn.Conv2d(w, 3 * self.stem**2, 3, padding=1),
                                    nn.PixelShuffle(self.stem))
        # Start as the identity (output = input): training begins at the input's quality
        # instead of first unlearning a random residual.
        nn.init.zeros_(self.ending[0].weight)
        nn.init.zeros_(self.ending[0].bias)
        # Aligned feature: bottleneck semantics + full-resolution detail, pooled to the latent grid.
        self.align_in = nn.Conv2d(self.mid_channels + w, config.align_channels, 1)
        self.align_block = NAFBlock(config.align_channels, 3)

    @property
    def multiple(self) -> int:
        return 2 ** len(self.config.enc_blocks) * self.stem

    def forward(self, x: torch.Tensor, deconvolved: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (RGB restoration at full resolution, aligned feature on the latent grid).

        ``x`` is the blurry photo; ``deconvolved`` (same shape) is required when the config
        has ``deconv_input`` and ignored otherwise.
        """
        _, _, h, w = x.shape
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input sides must be multiples of {self.multiple}, got {h}x{w}")
        base = x
        inp = x
        if self.config.deconv_input:
            if deconvolved is None:
                raise ValueError("this pre-reconstruction takes the deconvolved photo too "
                                 "(deconv_input=True): pass deconvolved=")
            if deconvolved.shape != x.shape:
                raise ValueError(f"deconvolved must match the blurry input's shape "
                                 f"{tuple(x.shape)}, got {tuple(deconvolved.shape)}")
            base = deconvolved
            inp = torch.cat([deconvolved, x], dim=1)
        feat = self.intro(F.pixel_unshuffle(inp, self.stem) if self.stem > 1 else inp)
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            feat = enc(feat)
            skips.append(feat)
            feat = down(feat)
        mid = self.middle(feat)
        feat = mid
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            feat = dec(up(feat) + skip)
        rgb = base + self.ending(feat)
        grid = (h // self.latent_factor, w // self.latent_factor)
        aligned = torch.cat([resample(mid, grid), resample(feat, grid)], dim=1)
        aligned = self.align_block(self.align_in(aligned))
        return rgb, aligned
