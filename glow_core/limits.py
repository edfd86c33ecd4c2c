"""Restore option limits and choices, shared by the engine, the CLI and the GUI.

:meth:`glow_core.engine.RestoreOptions.validate` enforces these, the CLI's argparse types
check them, and the GUI's spin boxes and combo boxes take their ranges from them, so a
value one accepts is never refused by another.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_OVERLAP",
    "DEFAULT_STEPS",
    "MAX_STEPS",
    "MIN_STEPS",
    "MIN_TILE",
    "MODES",
    "PRECISIONS",
    "STRENGTH_RANGE",
]

#: Restoration paths: the one-shot network, or network + diffusion refinement.
MODES: tuple[str, ...] = ("fast", "full")

#: Compute precisions; "auto" picks bf16/fp16 on GPUs and fp32 on the CPU.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")

#: Sampler steps for the full path. The GUI offered 1-50 and the engine 1-200; 50 wins:
#: the DiT is trained for few-step flow sampling (default 4, evaluated at 4 and 8), the
#: result stops changing long before 50 steps, and 200 steps on a tiled photo is minutes
#: of work that looks like a hang and buys nothing.
MIN_STEPS = 1
MAX_STEPS = 50
DEFAULT_STEPS = 4

#: Blend between the original (0) and the restoration (1).
STRENGTH_RANGE: tuple[float, float] = (0.0, 1.0)

#: Smallest tile side in pixels (``None`` means automatic from free memory).
MIN_TILE = 32

#: Overlap between tiles in pixels (at least 0).
DEFAULT_OVERLAP = 32

#: Smallest side (px) of a region to estimate a blur kernel from: a smaller box holds too
#: few edges to pin a kernel.
MIN_REGION = 64
