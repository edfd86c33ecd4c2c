"""The simulated Blur Pattern Pretraining dataset.

Every item is a pure function of (seed, index): the same index always gives the same
photo crop, blur, camera and caption, so a validation set is fixed and a resumed run sees
the data it would have seen. Training draws indices from a growing counter, so it never
repeats a sample and never runs out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from training.blur.simulate import BlurConfig, simulate
from training.caption_data import CaptionBank
from training.sources import DeadLeavesSource, PhotoFolderSource, training_source


@dataclass
class SimulatedConfig:
    crop: int = 128
    length: int = 1_000_000
    seed: int = 0
    photo_weight: float = 0.85  # the rest: procedural dead-leaves images
    caption_dropout: float = 0.15
    data_root: str | None = None
    # Pattern weights override (None: the simulator's defaults).
    patterns: dict[str, float] | None = None
    # Scale on blur sizes: crops smaller than full photos need proportionally smaller blur.
    blur_scale: float = 1.0
    blur: dict[str, Any] = field(default_factory=dict)

    def blur_config(self) -> BlurConfig:
        cfg = BlurConfig(**self.blur)
        if self.patterns:
            cfg.weights = dict(self.patterns)
        if self.blur_scale != 1.0:
            s = self.blur_scale
            for name in (
                "shake_size",
                "linear_length",
                "defocus_radius",
                "gaussian_sigma",
                "frame_shift",
            ):
                lo, hi = getattr(cfg, name)
                setattr(cfg, name, (lo, max(lo, hi * s)))
        return cfg


class SimulatedBlurDataset(Dataset):
    """(blurry, sharp, motion field, pattern, caption) from sharp photos and the simulator."""

    def __init__(
        self,
        config: SimulatedConfig,
        photos: PhotoFolderSource | None = None,
        captions: CaptionBank | None = None,
    ) -> None:
        self.config = config
        self.blur = config.blur_config()
        self._photos = photos
        self._captions = captions
        self.dead_leaves = DeadLeavesSource()

    @property
    def photos(self) -> PhotoFolderSource | None:
        if self._photos is None and self.config.photo_weight > 0:
            try:
                self._photos = training_source(self.config.data_root)
            except FileNotFoundError:
                self.config.photo_weight = 0.0
        return self._photos

    @property
    def captions(self) -> CaptionBank:
        if self._captions is None:
            kwargs = {"data_root": self.config.data_root} if self.config.data_root else {}
            self._captions = CaptionBank.load(**kwargs)
        return self._captions

    def __len__(self) -> int:
        return self.config.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, int(index)])
        photos = self.photos
        if photos is not None and rng.random() < cfg.photo_weight:
            sharp, path = photos.sample_item(rng, cfg.crop)
            caption = self.captions.caption_for(path, rng)
        else:
            sharp = self.dead_leaves.sample(rng, cfg.crop)
            caption = self.captions.procedural(rng)
        caption = self.captions.with_dropout(caption, rng, cfg.caption_dropout)
        sample = simulate(sharp, rng, self.blur)
        return {
            "blurry": _chw(sample.blurry),
            "sharp": _chw(sample.sharp),
            "motion": _chw(sample.motion),
            "has_motion": torch.tensor(1.0),
            "pattern": sample.pattern,
            "caption": caption,
            "index": int(index),
        }


def _chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, list the rest; keys missing from some items (mixed sources) are dropped."""
    out: dict[str, Any] = {}
    common = set(items[0]).intersection(*items[1:])
    for key in (k for k in items[0] if k in common):
        values = [item[key] for item in items]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return out
