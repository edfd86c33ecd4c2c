"""Training configuration: one dataclass per run, loaded from JSON, overridable by --set.

A config file under ``training/configs/`` names the stage and every number the run uses;
``--set key=value`` (dotted keys reach into nested sections, values parse as JSON when
they can) changes one without editing the file, and the resolved config is written next
to the run's checkpoints so every run can be reproduced.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glow_core.models.glow import PARTS
from training.datasets import SimulatedConfig
from training.deconv_data import RefineDataConfig

#: Training stages and the model parts (:data:`glow_core.models.PARTS`) each one trains;
#: the one list of stage names (``training.stages`` builds its stage classes from it).
STAGE_PARTS: dict[str, tuple[str, ...]] = {
    "autoencoder": ("autoencoder",),
    "prerecon": ("prerecon", "motion"),
    "dit": ("dit", "fusion"),
    "joint": tuple(p for p in PARTS if p != "autoencoder"),  # all but the frozen autoencoder
    # Physics first: the pre-reconstruction on (deconvolved, blurry) -> sharp.
    "refine": ("prerecon",),
}
STAGES: tuple[str, ...] = tuple(STAGE_PARTS)


@dataclass
class OptimConfig:
    lr: float = 1e-3
    min_lr_ratio: float = 0.05
    warmup: int = 100
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 0.5
    ema: float = 0.999


@dataclass
class LossConfig:
    pixel: float = 1.0
    frequency: float = 0.05  # L1 between FFT amplitudes/phases (sharpness where blur hides it)
    motion: float = 0.1
    flow: float = 1.0
    fusion: float = 1.0


@dataclass
class RealDataConfig:
    """Stage II: real captured pairs mixed with simulated data."""

    roots: list[str] = field(default_factory=list)  # empty: pairs/gopro_frameavg (train split)
    weight: float = 0.5


@dataclass
class TrainConfig:
    stage: str = "prerecon"
    preset: str = "small"
    init: str | None = None  # checkpoint to start from (e.g. the shipped weights)
    out_dir: str = "runs/prerecon"
    steps: int = 2000
    batch: int = 8
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # mixed precision on CUDA
    workers: int = 1
    threads: int = 0  # torch CPU threads; 0 = leave as is
    log_every: int = 10
    ckpt_every: int = 100
    sample_every: int = 250
    val_every: int = 500
    val_images: int = 8
    max_minutes: float = 0.0  # stop (with a checkpoint) after this long; 0 = no limit
    export: str | None = None  # write the final EMA model as a glow checkpoint here
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: SimulatedConfig = field(default_factory=SimulatedConfig)
    real: RealDataConfig = field(default_factory=RealDataConfig)
    refine: RefineDataConfig = field(default_factory=RefineDataConfig)
    # Stage "refine" from a blurry-only checkpoint (init): the widened input's extra
    # (blurry) channels start at zero; the output layer is kept (True) or zeroed (False:
    # the start is exactly the deconvolution).
    init_keep_output: bool = False

    def validate(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, not {self.stage!r}")
        if self.steps < 1 or self.batch < 1:
            raise ValueError("steps and batch must be positive")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS: dict[str, type] = {"optim": OptimConfig, "loss": LossConfig,
                              "data": SimulatedConfig, "real": RealDataConfig,
                              "refine": RefineDataConfig}


def _build(kind: type, values: dict[str, Any]) -> Any:
    """Instantiate `kind` from JSON values: nested sections recurse, lists become tuples
    where the field's default is a tuple, unknown keys are an error."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise KeyError(f"unknown config key {key!r} for {kind.__name__}")
        if kind is TrainConfig and key in _SECTIONS:
            value = _build(_SECTIONS[key], value)
        elif isinstance(fields[key].default, tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return kind(**kwargs)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _parse_value(value)
    return data


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    data: dict[str, Any] = {}
    if path is not None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    data = apply_overrides(data, overrides or [])
    config = _build(TrainConfig, data)
    config.validate()
    return config
