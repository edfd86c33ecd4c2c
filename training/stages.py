"""The training stages: which parts learn, from what loss, and what each stage produces.

Each stage is an ``nn.Module`` whose ``forward(batch)`` returns its losses, so one
DistributedDataParallel wrapper serves every stage. Parts a stage does not train are
frozen (``requires_grad=False``) and kept in eval mode.

- autoencoder : DC-AE reconstruction of sharp images (pixel + frequency loss).
- prerecon    : pre-reconstruction (pixel + frequency) and motion estimator (supervised
                by the simulator's ground-truth field).
- dit         : Linear DiT by rectified flow in the frozen AE's latent space, with caption
                dropout, plus the fusion head and the aligned-feature head.
- joint       : stage II, everything but the AE on real pairs mixed with simulated data.
- refine      : physics first: the pre-reconstruction on (deconvolved, blurry) -> sharp
                (``training.deconv_data``), a residual over the deconvolution.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from glow_core.models import GlowDeblur
from glow_core.models.motion import MOTION_SCALE
from glow_core.text.base import is_blank_caption
from training.config import STAGE_PARTS, LossConfig


def frequency_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |FFT(output) - FFT(target)|: penalises the missing high frequencies of blur."""
    diff = torch.fft.rfft2(output.float(), norm="ortho") - torch.fft.rfft2(
        target.float(), norm="ortho"
    )
    return diff.abs().mean()


def motion_target(motion: torch.Tensor, factor: int) -> torch.Tensor:
    """Ground-truth field (B x 3 x H x W, px) averaged onto the latent grid, network units."""
    return F.avg_pool2d(motion, factor) / MOTION_SCALE


class TextCache:
    """Encodes captions with the frozen caption encoder once each (they repeat a lot)."""

    def __init__(self, encoder_name: str, max_tokens: int, dim: int) -> None:
        self.encoder_name = encoder_name
        self.max_tokens = max_tokens
        self.dim = dim
        self._encoder: Any = None
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(
        self, captions: list[str], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        missing = [c for c in dict.fromkeys(captions) if c not in self._cache]
        if missing:
            words = [c for c in missing if not is_blank_caption(c)]
            if words:
                if self._encoder is None:
                    from glow_core.text import get_encoder

                    self._encoder = get_encoder(self.encoder_name)
                tokens, mask = self._encoder.encode(words, self.max_tokens)
                for i, c in enumerate(words):
                    self._cache[c] = (tokens[i].float(), mask[i])
            for c in missing:
                if is_blank_caption(c):
                    self._cache[c] = (
                        torch.zeros(self.max_tokens, self.dim),
                        torch.zeros(self.max_tokens, dtype=torch.bool),
                    )
        tokens = torch.stack([self._cache[c][0] for c in captions]).to(device)
        mask = torch.stack([self._cache[c][1] for c in captions]).to(device)
        return tokens, mask


class Stage(nn.Module):
    name = "stage"

    def __init__(self, model: GlowDeblur, loss: LossConfig) -> None:
        super().__init__()
        self.model = model
        self.loss_cfg = loss
        for p in model.parameters():
            p.requires_grad_(False)
        for module in self.trainable_modules():
            for p in module.parameters():
                p.requires_grad_(True)

    def trainable_modules(self) -> list[nn.Module]:
        return [getattr(self.model, part) for part in STAGE_PARTS[self.name]]

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def train(self, mode: bool = True) -> Stage:
        super().train(False)
        for module in self.trainable_modules():
            module.train(mode)
        return self

    def restoration(self, batch: dict[str, Any]) -> torch.Tensor:
        """The stage's output image for previews and validation."""
        return self.model.fast(batch["blurry"]).rgb


class AutoencoderStage(Stage):
    name = "autoencoder"

    def __init__(self, model: GlowDeblur, loss: LossConfig) -> None:
        super().__init__(model, loss)
        # Running second moment of the raw latents, for the exported latent_scale.
        self.register_buffer("latent_moment", torch.ones(()))
        model.autoencoder.latent_scale.fill_(1.0)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        ae = self.model.autoencoder
        sharp = batch["sharp"]
        z = ae.encode(sharp)
        recon = ae.decode(z)
        with torch.no_grad():
            self.latent_moment.mul_(0.99).add_(0.01 * z.float().pow(2).mean())
        pixel = F.l1_loss(recon, sharp)
        freq = frequency_loss(recon, sharp)
        # keep latents near unit scale so the DiT's noise level matches them
        reg = 1e-4 * z.float().pow(2).mean()
        loss = self.loss_cfg.pixel * pixel + self.loss_cfg.frequency * freq + reg
        return {"loss": loss, "pixel": pixel, "freq": freq}

    def restoration(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.model.autoencoder(batch["sharp"])

    def finalize(self, model: GlowDeblur) -> None:
        model.autoencoder.latent_scale.fill_(float(self.latent_moment.clamp(min=1e-8) ** -0.5))


class PreReconStage(Stage):
    name = "prerecon"

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return prerecon_losses(self.model, batch, self.loss_cfg)


def prerecon_losses(
    model: GlowDeblur, batch: dict[str, Any], cfg: LossConfig, fast: Any = None
) -> dict[str, torch.Tensor]:
    fast = fast if fast is not None else model.fast(batch["blurry"])
    sharp = batch["sharp"]
    pixel = F.l1_loss(fast.rgb, sharp)
    freq = frequency_loss(fast.rgb, sharp)
    out = {"pixel": pixel, "freq": freq}
    loss = cfg.pixel * pixel + cfg.frequency * freq
    motion = batch.get("motion")
    if motion is not None and cfg.motion > 0:
        target = motion_target(motion, model.config.latent_factor)
        has = batch.get("has_motion")
        err = (fast.motion - target).abs().mean(dim=(1, 2, 3))
        if has is not None:
            err = err * has
            m_loss = err.sum() / has.sum().clamp(min=1)
        else:
            m_loss = err.mean()
        out["motion"] = m_loss
        loss = loss + cfg.motion * m_loss
    out["loss"] = loss
    return out


class DiTStage(Stage):
    name = "dit"

    def __init__(self, model: GlowDeblur, loss: LossConfig, text: TextCache) -> None:
        super().__init__(model, loss)
        self.text = text

    def trainable_modules(self) -> list[nn.Module]:
        # The aligned-feature head exists for the DiT: it learns with it.
        return [
            self.model.dit,
            self.model.fusion,
            self.model.prerecon.align_in,
            self.model.prerecon.align_block,
        ]

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        tokens, mask = self.text(batch["caption"], batch["blurry"].device)
        losses = self.model.flow_loss(batch["blurry"], batch["sharp"], tokens, mask)
        losses["loss"] = (
            self.loss_cfg.flow * losses["flow"] + self.loss_cfg.fusion * losses["fusion"]
        )
        return losses

    @torch.no_grad()
    def restoration(self, batch: dict[str, Any], steps: int = 4) -> torch.Tensor:
        tokens, mask = self.text(batch["caption"], batch["blurry"].device)
        generator = torch.Generator().manual_seed(0)
        shape = self.model.latent_shape(*batch["blurry"].shape[-2:], batch["blurry"].shape[0])
        noise = torch.randn(shape, generator=generator).to(batch["blurry"].device)
        return self.model(batch["blurry"], tokens, mask, noise=noise, steps=steps)


class JointStage(DiTStage):
    name = "joint"

    def trainable_modules(self) -> list[nn.Module]:
        return Stage.trainable_modules(self)  # the whole of STAGE_PARTS["joint"]

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        fast = self.model.fast(batch["blurry"])
        pre = prerecon_losses(self.model, batch, self.loss_cfg, fast=fast)
        tokens, mask = self.text(batch["caption"], batch["blurry"].device)
        flow = self.model.flow_loss(batch["blurry"], batch["sharp"], tokens, mask, fast=fast)
        loss = (
            pre["loss"] + self.loss_cfg.flow * flow["flow"] + self.loss_cfg.fusion * flow["fusion"]
        )
        return {
            **{k: v for k, v in pre.items() if k != "loss"},
            "flow": flow["flow"],
            "fusion": flow["fusion"],
            "loss": loss,
        }


class RefineStage(Stage):
    """The pre-reconstruction learns what deconvolution leaves: (deconvolved, blurry) -> sharp."""

    name = "refine"

    def __init__(self, model: GlowDeblur, loss: LossConfig) -> None:
        if not model.config.prerecon.deconv_input:
            raise ValueError("stage 'refine' needs a model with prerecon.deconv_input "
                             "(see widen_for_deconv)")
        super().__init__(model, loss)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        rgb, _ = self.model.prerecon(batch["blurry"], batch["deconvolved"])
        sharp = batch["sharp"]
        pixel = F.l1_loss(rgb, sharp)
        freq = frequency_loss(rgb, sharp)
        loss = self.loss_cfg.pixel * pixel + self.loss_cfg.frequency * freq
        return {"loss": loss, "pixel": pixel, "freq": freq}

    def restoration(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.model.fast(batch["blurry"], deconvolved=batch["deconvolved"]).rgb


def widen_for_deconv(model: GlowDeblur, keep_output: bool = False) -> GlowDeblur:
    """A copy of a blurry-only model whose pre-reconstruction also takes the deconvolution.

    The stem's trained weights move to the deconvolved slot (the image the residual is now
    over), the new blurry slot starts at zero, every other weight is kept. With
    ``keep_output=False`` the output layer is zeroed, so the new model starts as the
    identity on the deconvolved image: never worse than the deconvolution alone.
    """
    cfg = model.config
    if cfg.prerecon.deconv_input:
        return model
    new_cfg = dataclasses.replace(
        cfg, prerecon=dataclasses.replace(cfg.prerecon, deconv_input=True))
    wide = GlowDeblur(new_cfg)
    state = dict(model.state_dict())
    old = state["prerecon.intro.weight"]
    w = torch.zeros_like(wide.prerecon.intro.weight)
    w[:, : old.shape[1]] = old  # pixel_unshuffle(cat(d, b)): d's channels come first
    state["prerecon.intro.weight"] = w
    if not keep_output:
        state["prerecon.ending.0.weight"] = torch.zeros_like(state["prerecon.ending.0.weight"])
        state["prerecon.ending.0.bias"] = torch.zeros_like(state["prerecon.ending.0.bias"])
    wide.load_state_dict(state)
    return wide.train(model.training)


def build_stage(name: str, model: GlowDeblur, loss: LossConfig) -> Stage:
    classes = {cls.name: cls for cls in (AutoencoderStage, PreReconStage, DiTStage, JointStage,
                                         RefineStage)}
    if name not in classes or name not in STAGE_PARTS:
        raise ValueError(f"unknown stage {name!r}")
    if not issubclass(classes[name], DiTStage):
        return classes[name](model, loss)
    text = TextCache(
        model.config.text_encoder, model.config.max_caption_tokens, model.config.dit.text_dim
    )
    return classes[name](model, loss, text)
