"""Motion estimator: the blur's axis, extent and defocus per region, on the latent grid.

Blur has no sign (a streak from left to right looks like one from right to left), so the
direction is encoded as a doubled angle: (extent*cos 2θ, extent*sin 2θ), plus an isotropic
(defocus) size. Values are in pixels divided by :data:`MOTION_SCALE` so the targets are
near unit range; :func:`decode_motion` turns them back into pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from glow_core.config import MotionConfig
from glow_core.models.blocks import NAFBlock, level_window, resample

MOTION_SCALE = 16.0


class MotionEstimator(nn.Module):
    def __init__(self, config: MotionConfig, latent_factor: int) -> None:
        super().__init__()
        self.config = config
        self.latent_factor = latent_factor
        w = config.width
        self.intro = nn.Conv2d(3, w, 3, padding=1, stride=2)
        stages = []
        ch = w
        for level in range(config.depth):
            win = level_window(config.stat_window, level + 1)
            blocks = [NAFBlock(ch, win) for _ in range(config.blocks)]
            stages.append(nn.Sequential(*blocks, nn.Conv2d(ch, ch * 2, 2, stride=2)))
            ch *= 2
        self.stages = nn.Sequential(*stages)
        win = level_window(config.stat_window, config.depth + 1)
        self.head = nn.Sequential(NAFBlock(ch, win), nn.Conv2d(ch, config.out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        feat = self.head(self.stages(self.intro(x)))
        return resample(feat, (h // self.latent_factor, w // self.latent_factor))


def decode_motion(field: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split a B x 3 x h x w field into extent (px), axis angle (radians in [0, π)) and defocus."""
    c2, s2, iso = field[:, 0] * MOTION_SCALE, field[:, 1] * MOTION_SCALE, field[:, 2]
    extent = torch.sqrt(c2 * c2 + s2 * s2)
    angle = torch.remainder(0.5 * torch.atan2(s2, c2), torch.pi)
    return {"extent": extent, "angle": angle, "defocus": iso * MOTION_SCALE}
