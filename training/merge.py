"""Combine trained parts from several checkpoints into one (stages trained in parallel).

``python -m training merge OUT A.safetensors B.safetensors ...``: each part (prerecon,
motion, autoencoder, dit, fusion) is taken from the last listed checkpoint that trained
it; parts nobody trained come from the first file. All inputs must share one config.
"""

from __future__ import annotations

from pathlib import Path

import torch

from glow_core.checkpoint import load_checkpoint, save_checkpoint
from glow_core.models import PARTS, GlowDeblur


def merge_checkpoints(output: str | Path, inputs: list[str | Path],
                      dtype: torch.dtype = torch.float16) -> Path:
    if not inputs:
        raise ValueError("merge needs at least one input checkpoint")
    loaded = [load_checkpoint(path) for path in inputs]
    config = loaded[0][1].config
    for _, info in loaded[1:]:
        if info.config != config:
            raise ValueError(f"{info.path} was trained with a different config than "
                             f"{loaded[0][1].path}; parts cannot be combined")
    merged = GlowDeblur(config)
    merged.load_state_dict(loaded[0][0].state_dict())
    stages: set[str] = set(loaded[0][1].stages)
    for model, info in loaded[1:]:
        for part in PARTS:
            if part in info.stages:
                getattr(merged, part).load_state_dict(getattr(model, part).state_dict())
                stages.add(part)
    output = Path(output)
    save_checkpoint(output, merged, stages=sorted(stages), dtype=dtype,
                    extra={"merged_from": [str(p) for p in inputs]})
    return output
