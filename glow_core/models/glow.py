"""GLOWDeblur: the whole model, its training losses and its sampler entry point.

fast path  : blurry [+ deconvolved] -> PreReconstruction -> RGB (and the aligned feature)
full path  : noise -> LinearDiT(z_t | aligned, motion, caption) x steps -> z_0
             -> AE decoder -> Fusion(prerecon, decoded) -> RGB
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from glow_core.config import GlowConfig
from glow_core.models.autoencoder import DeepCompressionAutoencoder
from glow_core.models.dit import LinearDiT
from glow_core.models.fusion import Fusion
from glow_core.models.motion import MotionEstimator
from glow_core.models.prerecon import PreReconstruction
from glow_core.sampling import Sampler, sample

PARTS: tuple[str, ...] = ("prerecon", "motion", "autoencoder", "dit", "fusion")


@dataclass
class FastOutput:
    rgb: torch.Tensor  # B x 3 x H x W
    aligned: torch.Tensor  # B x A x h x w (latent grid)
    motion: torch.Tensor  # B x 3 x h x w (latent grid)


class GlowDeblur(nn.Module):
    def __init__(self, config: GlowConfig) -> None:
        super().__init__()
        self.config = config
        f = config.latent_factor
        self.prerecon = PreReconstruction(config.prerecon, f)
        self.motion = MotionEstimator(config.motion, f)
        self.autoencoder = DeepCompressionAutoencoder(config.autoencoder)
        cond_channels = config.prerecon.align_channels + config.motion.out_channels
        self.dit = LinearDiT(config.dit, config.autoencoder.latent_channels, cond_channels)
        self.fusion = Fusion(config.fusion, config.prerecon.stat_window)

    # ----------------------------------------------------------------- inference pieces
    @property
    def deconv_input(self) -> bool:
        """True when the pre-reconstruction needs the deconvolved photo (physics first)."""
        return bool(self.config.prerecon.deconv_input)

    def fast(self, blurry: torch.Tensor, deconvolved: torch.Tensor | None = None,
             motion: torch.Tensor | None = None) -> FastOutput:
        """Pre-reconstruction and motion guidance.

        ``deconvolved``: the non-blind deconvolution of ``blurry`` (same shape); required
        when ``config.prerecon.deconv_input``, ignored otherwise. ``motion``: an external
        motion map (B x 3 x h x w on the latent grid, the estimator's units, e.g.
        :func:`glow_core.models.motion.kernel_motion_map` of the kernel field) that replaces
        the learned estimate as the DiT's motion guidance.
        """
        rgb, aligned = self.prerecon(blurry, deconvolved if self.deconv_input else None)
        if motion is None:
            motion = self.motion(blurry)
        else:
            want = (aligned.shape[0], self.config.motion.out_channels, *aligned.shape[-2:])
            if motion.shape[0] == 1 and want[0] > 1:
                motion = motion.expand(want[0], -1, -1, -1)
            if tuple(motion.shape) != want:
                raise ValueError(f"motion map must be {want} (latent grid), got "
                                 f"{tuple(motion.shape)}")
            motion = motion.to(device=aligned.device, dtype=aligned.dtype)
        return FastOutput(rgb=rgb, aligned=aligned, motion=motion)

    @staticmethod
    def condition(fast: FastOutput) -> torch.Tensor:
        return torch.cat([fast.aligned, fast.motion], dim=1)

    def latent_shape(self, height: int, width: int, batch: int = 1) -> tuple[int, int, int, int]:
        f = self.config.latent_factor
        return (batch, self.config.autoencoder.latent_channels, height // f, width // f)

    def sample_latent(self, cond: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor,
                      noise: torch.Tensor, steps: int, sampler: Sampler = "euler",
                      callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
        def velocity(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.dit(z, t, cond, text, text_mask)

        return sample(velocity, noise, steps, sampler=sampler, callback=callback)

    def finish(self, latent: torch.Tensor, prerecon_rgb: torch.Tensor) -> torch.Tensor:
        """Decode the latent and fuse it with the full-resolution pre-reconstruction."""
        decoded = self.autoencoder.decode(latent)
        return self.fusion(prerecon_rgb, decoded)

    def forward(self, blurry: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor,
                noise: torch.Tensor | None = None, steps: int = 4,
                sampler: Sampler = "euler", deconvolved: torch.Tensor | None = None,
                motion: torch.Tensor | None = None) -> torch.Tensor:
        """The full path on a whole (padded) image; the engine runs the same pieces tiled."""
        fast = self.fast(blurry, deconvolved, motion)
        if noise is None:
            noise = torch.randn(self.latent_shape(*blurry.shape[-2:], blurry.shape[0]),
                                device=blurry.device, dtype=blurry.dtype)
        latent = self.sample_latent(self.condition(fast), text, text_mask, noise, steps, sampler)
        return self.finish(latent, fast.rgb)

    # ----------------------------------------------------------------------- training
    def flow_loss(self, blurry: torch.Tensor, sharp: torch.Tensor, text: torch.Tensor,
                  text_mask: torch.Tensor, fast: FastOutput | None = None,
                  generator: torch.Generator | None = None,
                  deconvolved: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Rectified-flow loss of the DiT plus the fusion's pixel loss.

        t follows a logit-normal law (SD3): most training where the velocity is hardest to
        predict. The fusion learns from the one-step estimate of z_0 at that t, decoded by
        the frozen autoencoder, so it sees the kind of imperfect samples met at run time.
        """
        if fast is None:
            fast = self.fast(blurry, deconvolved)
        with torch.no_grad():
            z0 = self.autoencoder.encode(sharp)
        b = z0.shape[0]
        noise = torch.randn(z0.shape, generator=generator, device=z0.device, dtype=z0.dtype)
        u = torch.randn(b, generator=generator, device=z0.device, dtype=z0.dtype)
        t = torch.sigmoid(u)
        tt = t.view(b, 1, 1, 1)
        z_t = (1 - tt) * z0 + tt * noise
        v = self.dit(z_t, t, self.condition(fast), text, text_mask)
        flow = F.mse_loss(v.float(), (noise - z0).float())
        z0_hat = (z_t - tt * v).detach()
        with torch.no_grad():
            decoded = self.autoencoder.decode(z0_hat)
        fused = self.fusion(fast.rgb.detach(), decoded)
        fusion = F.l1_loss(fused, sharp)
        return {"flow": flow, "fusion": fusion, "loss": flow + fusion}


#: The name the engine contract uses for the composed model.
GlowModel = GlowDeblur


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
