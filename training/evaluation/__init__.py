"""Evaluate a checkpoint: PSNR / SSIM per set and blur pattern, beside classical references.

- :mod:`.sets`: which images (simulated Kodak / procedural / real pairs), cached;
- :mod:`.oracles`: the Wiener and Richardson-Lucy references with the true kernel;
- :mod:`.run`: :func:`evaluate` (:class:`EvalConfig` -> :class:`EvalResult`) through the
  product's engine;
- :mod:`.report`: text / Markdown tables and ``python -m training evaluate``.
"""

from training.evaluation.oracles import (
    RL_ITERATIONS,
    WIENER_BALANCES,
    richardson_lucy_reference,
    wiener_reference,
)
from training.evaluation.report import format_markdown, format_table, main
from training.evaluation.run import (
    METHODS,
    EvalConfig,
    EvalResult,
    SetResult,
    evaluate,
    scalars,
)
from training.evaluation.sets import (
    DEFAULT_CROP,
    PATTERNS,
    EvalImage,
    EvalSet,
    build_set,
    clear_cache,
    describe_camera,
    expand_sets,
)

__all__ = [
    "DEFAULT_CROP",
    "METHODS",
    "PATTERNS",
    "RL_ITERATIONS",
    "WIENER_BALANCES",
    "EvalConfig",
    "EvalImage",
    "EvalResult",
    "EvalSet",
    "SetResult",
    "build_set",
    "clear_cache",
    "describe_camera",
    "evaluate",
    "expand_sets",
    "format_markdown",
    "format_table",
    "main",
    "richardson_lucy_reference",
    "scalars",
    "wiener_reference",
]
