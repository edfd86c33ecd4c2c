"""Deep-compression autoencoder (DC-AE style) for the diffusion latent space.

Every resolution change carries a parameter-free shortcut (space-to-channel with channel
averaging going down, channel duplication with channel-to-space going up), which is what
lets DC-AE reach high compression (f32) without the optimisation troubles of plain deep
autoencoders: the convolutions only learn a residual over a sensible resampling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from glow_core.config import AutoencoderConfig
from glow_core.models.blocks import LayerNorm2d, ResBlock


def _space_to_channel_shortcut(x: torch.Tensor, out_channels: int) -> torch.Tensor:
    y = F.pixel_unshuffle(x, 2)
    b, c, h, w = y.shape
    return y.view(b, out_channels, c // out_channels, h, w).mean(2)


def _channel_to_space_shortcut(x: torch.Tensor, out_channels: int) -> torch.Tensor:
    repeats = out_channels * 4 // x.shape[1]
    return F.pixel_shuffle(x.repeat_interleave(repeats, dim=1), 2)


class DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        if (cin * 4) % cout:
            raise ValueError(f"DC-AE shortcut needs 4*{cin} divisible by {cout}")
        self.cout = cout
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + _space_to_channel_shortcut(x, self.cout)


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        if (cout * 4) % cin:
            raise ValueError(f"DC-AE shortcut needs 4*{cout} divisible by {cin}")
        self.cout = cout
        self.conv = nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + _channel_to_space_shortcut(x, self.cout)


class Encoder(nn.Module):
    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        widths, blocks = config.widths, config.blocks
        self.stem = nn.Conv2d(3, widths[0], 3, padding=1)
        layers: list[nn.Module] = []
        for i, (width, n) in enumerate(zip(widths, blocks)):
            layers += [ResBlock(width) for _ in range(n)]
            if i + 1 < len(widths):
                layers.append(DownBlock(width, widths[i + 1]))
        self.body = nn.Sequential(*layers)
        self.latent_channels = config.latent_channels
        if widths[-1] % config.latent_channels:
            raise ValueError("last autoencoder width must be a multiple of latent_channels")
        self.out = nn.Conv2d(widths[-1], config.latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(self.stem(x))
        b, c, hh, ww = h.shape
        shortcut = h.view(b, self.latent_channels, c // self.latent_channels, hh, ww).mean(2)
        return self.out(h) + shortcut


class Decoder(nn.Module):
    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        widths = list(reversed(config.widths))
        blocks = list(reversed(config.blocks))
        self.top = widths[0]
        self.stem = nn.Conv2d(config.latent_channels, widths[0], 3, padding=1)
        layers: list[nn.Module] = []
        for i, (width, n) in enumerate(zip(widths, blocks)):
            layers += [ResBlock(width) for _ in range(n)]
            if i + 1 < len(widths):
                layers.append(UpBlock(width, widths[i + 1]))
        self.body = nn.Sequential(*layers)
        self.out = nn.Sequential(LayerNorm2d(widths[-1]), nn.SiLU(),
                                 nn.Conv2d(widths[-1], 3, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.stem(z) + z.repeat_interleave(self.top // z.shape[1], dim=1)
        return self.out(self.body(h))


class DeepCompressionAutoencoder(nn.Module):
    """Images in [0, 1] <-> latents scaled to roughly unit variance (``latent_scale``)."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        # Set after autoencoder training from the latents' std so the DiT sees unit variance.
        self.register_buffer("latent_scale", torch.ones(()))

    @property
    def factor(self) -> int:
        return self.config.factor

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image * 2 - 1) * self.latent_scale

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return (self.decoder(latent / self.latent_scale) + 1) / 2

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(image))
