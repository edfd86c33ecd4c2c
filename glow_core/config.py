"""Model presets: the one source of truth for every size in the GLOWDeblur network.

A config travels with its weights (serialised into the safetensors metadata), so a
checkpoint always rebuilds the exact network it was trained as. Presets are frozen
dataclasses; derive variants with :func:`dataclasses.replace` or :func:`preset` overrides.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PreReconConfig:
    """Pre-reconstruction & domain-alignment U-Net (NAFNet-style)."""

    width: int = 16
    enc_blocks: tuple[int, ...] = (1, 1, 2, 2)
    middle_blocks: int = 2
    dec_blocks: tuple[int, ...] = (1, 1, 1, 1)
    # Side of the local window (pixels at full resolution) over which Simplified Channel
    # Attention pools its statistics. Local instead of global pooling keeps tiles of a large
    # photo in agreement (NAFNet's TLC idea, used in training too, so nothing shifts).
    stat_window: int = 64
    # Channels of the aligned feature handed to the diffusion backbone on the latent grid.
    align_channels: int = 32
    # Space-to-depth factor of the stem: the U-Net's top level runs at 1/stem resolution
    # (4x fewer operations at 2), and a pixel-shuffle head returns to full resolution.
    # Blur removes high frequencies, it does not need full-resolution reasoning to undo.
    stem: int = 1
    # Physics first: the U-Net also sees the non-blind deconvolution of the photo
    # (glow_core.kernel), takes cat(deconvolved, blurry) (6 channels) and predicts a residual
    # over the deconvolved image, so it only learns what deconvolution leaves behind
    # (ringing, noise, kernel errors). False keeps the blurry-only network of v1 weights.
    deconv_input: bool = False


@dataclass(frozen=True)
class MotionConfig:
    """Light motion estimator: per-region blur axis x extent, plus a defocus term."""

    width: int = 8
    depth: int = 3
    blocks: int = 1
    stat_window: int = 64
    # Output channels: extent*cos(2θ), extent*sin(2θ), defocus radius (all in pixels / 16).
    out_channels: int = 3


@dataclass(frozen=True)
class AutoencoderConfig:
    """DC-AE-style deep-compression autoencoder; ``factor`` = 2 ** (len(widths) - 1)."""

    widths: tuple[int, ...] = (16, 32, 64, 64, 128, 128)
    blocks: tuple[int, ...] = (1, 1, 1, 1, 1, 1)
    latent_channels: int = 32

    @property
    def factor(self) -> int:
        return 2 ** (len(self.widths) - 1)


@dataclass(frozen=True)
class DiTConfig:
    """Linear DiT: ReLU linear self-attention, caption cross-attention, Mix-FFN, adaLN-single."""

    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.5
    text_dim: int = 384
    time_freq_dim: int = 128


@dataclass(frozen=True)
class FusionConfig:
    """Full-resolution fusion: pre-reconstruction + what the diffusion output adds to it.

    The decoder of a deep-compression autoencoder caps fidelity (about 29 dB in the paper),
    so the final image is ``prerecon + fusion(prerecon, decoded)`` with the fusion's last
    layer zero-initialised: at worst the full path equals the fast path.
    """

    width: int = 16
    blocks: int = 2


@dataclass(frozen=True)
class GlowConfig:
    name: str = "custom"
    prerecon: PreReconConfig = field(default_factory=PreReconConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    dit: DiTConfig = field(default_factory=DiTConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    # Registry name of the frozen caption encoder the DiT was trained with.
    text_encoder: str = "minilm-l6"
    max_caption_tokens: int = 64

    @property
    def latent_factor(self) -> int:
        return self.autoencoder.factor

    @property
    def pixel_multiple(self) -> int:
        """Input sides must be multiples of this (the engine pads to it)."""
        unet = 2 ** len(self.prerecon.enc_blocks) * self.prerecon.stem
        motion = 2 ** self.motion.depth
        return max(self.latent_factor, unet, motion)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GlowConfig:
        """Build from :meth:`to_dict` output; missing keys take defaults, unknown keys fail.

        A misspelt key in a checkpoint's config would otherwise silently build a different
        network, so every key that is not a field raises ``ValueError`` naming it.
        """
        parts = {"prerecon": PreReconConfig, "motion": MotionConfig,
                 "autoencoder": AutoencoderConfig, "dit": DiTConfig, "fusion": FusionConfig}
        top = {f.name for f in dataclasses.fields(cls)}

        def check(where: str, keys: Any, known: set[str]) -> None:
            unknown = sorted(set(keys) - known)
            if unknown:
                raise ValueError(f"unknown GLOW config key(s) in {where}: "
                                 f"{', '.join(unknown)} (known: {', '.join(sorted(known))})")

        def build(name: str) -> Any:
            kind = parts[name]
            values = data.get(name, {})
            check(name, values, {f.name for f in dataclasses.fields(kind)})
            return kind(**{k: tuple(v) if isinstance(v, list) else v
                           for k, v in values.items()})

        check("the top level", data, top)
        return cls(
            name=data.get("name", "custom"),
            **{name: build(name) for name in parts},
            text_encoder=data.get("text_encoder", "minilm-l6"),
            max_caption_tokens=int(data.get("max_caption_tokens", 64)),
        )

    @classmethod
    def from_json(cls, text: str) -> GlowConfig:
        return cls.from_dict(json.loads(text))


PRESETS: dict[str, GlowConfig] = {
    # For tests: every part present, everything tiny, f8 latent so 32 px images work.
    "tiny": GlowConfig(
        name="tiny",
        prerecon=PreReconConfig(
            width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1), stat_window=16,
            align_channels=8, stem=2,
        ),
        motion=MotionConfig(width=4, depth=2, blocks=1, stat_window=16),
        autoencoder=AutoencoderConfig(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1),
                                      latent_channels=8),
        dit=DiTConfig(width=32, depth=2, heads=2, mlp_ratio=2.0, text_dim=32,
                      time_freq_dim=32),
        fusion=FusionConfig(width=8, blocks=1),
        text_encoder="hash-tiny",
        max_caption_tokens=16,
    ),
    # The shipped preset: f32c32 latent as in the paper, small enough to train on our budget.
    "small": GlowConfig(
        name="small",
        prerecon=PreReconConfig(
            width=24, enc_blocks=(1, 2, 2), middle_blocks=3, dec_blocks=(1, 1, 1),
            stat_window=96, align_channels=32, stem=2,
        ),
        motion=MotionConfig(width=12, depth=3, blocks=1, stat_window=96),
        autoencoder=AutoencoderConfig(widths=(16, 32, 64, 64, 128, 128),
                                      blocks=(1, 1, 1, 1, 1, 1), latent_channels=32),
        dit=DiTConfig(width=128, depth=4, heads=4, mlp_ratio=2.5, text_dim=384),
        fusion=FusionConfig(width=16, blocks=2),
        text_encoder="minilm-l6",
    ),
    # Larger variant for GPU training.
    "base": GlowConfig(
        name="base",
        prerecon=PreReconConfig(
            width=32, enc_blocks=(1, 2, 4), middle_blocks=8, dec_blocks=(1, 1, 1),
            stat_window=128, align_channels=64, stem=2,
        ),
        motion=MotionConfig(width=16, depth=3, blocks=2, stat_window=128),
        autoencoder=AutoencoderConfig(widths=(32, 64, 128, 256, 256, 256),
                                      blocks=(1, 1, 2, 2, 3, 3), latent_channels=32),
        dit=DiTConfig(width=384, depth=12, heads=8, mlp_ratio=2.5, text_dim=384),
        fusion=FusionConfig(width=24, blocks=3),
        text_encoder="minilm-l6",
    ),
}

SHIPPED_PRESET = "small"


def preset(name: str, **overrides: Any) -> GlowConfig:
    """Return a named preset, optionally with top-level fields replaced."""
    try:
        config = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
    return dataclasses.replace(config, **overrides) if overrides else config
