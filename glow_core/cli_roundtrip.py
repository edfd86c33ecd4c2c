"""The photographer's options of ``glow-deblur restore``: presets, masks, RAW colour space.

Kept apart from :mod:`glow_core.cli` so the command line gains them through three hooks:
:func:`add_options` (the arguments), :func:`preset_defaults` (a ``--preset NAME`` becomes
the parser's defaults, so options given on the command line still win), and
:func:`prepare` / :func:`wrap_restorer` (applied before the batch runs).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from glow_core.presets import COLOUR_SPACES, PresetError, PresetStore

__all__ = ["PresetError", "add_options", "prepare", "preset_defaults", "wrap_restorer"]


def add_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("photographer's options")
    g.add_argument("--preset", default=None, metavar="NAME",
                   help="start from a saved preset (made in the app); options given here "
                        "override it")
    g.add_argument("--colour-space", "--color-space", dest="colour_space",
                   choices=COLOUR_SPACES, default="srgb",
                   help="colour space camera RAW photos are developed into and tagged with "
                        "(default srgb)")
    g.add_argument("--use-masks", action="store_true",
                   help="restore only where <photo>.glowmask.png (painted in the app) says; "
                        "photos without a mask are restored whole")


def _preset_name(argv: Sequence[str]) -> str | None:
    args = list(argv)
    if not args or args[0] != "restore":
        return None
    for i, a in enumerate(args):
        if a == "--preset" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--preset="):
            return a.split("=", 1)[1]
    return None


def preset_defaults(argv: Sequence[str]) -> dict[str, Any]:
    """Parser defaults from the ``--preset NAME`` in ``argv`` (empty when none).

    Raises :class:`~glow_core.presets.PresetError` for an unknown preset.
    """
    name = _preset_name(argv)
    if name is None:
        return {}
    p = PresetStore().get(name)
    return {"mode": p.mode, "steps": p.steps, "strength": p.strength, "tile": p.tile,
            "overlap": p.overlap, "caption": p.caption, "format": p.format,
            "bit_depth": p.bit_depth, "quality": p.quality, "colour_space": p.colour_space}


def prepare(args: argparse.Namespace) -> None:
    """Apply the options that act globally (the RAW colour space)."""
    from glow_core import rawio

    rawio.set_colour_space(getattr(args, "colour_space", "srgb") or "srgb")


def wrap_restorer(args: argparse.Namespace, restorer: Callable[[Any], Any]
                  ) -> Callable[[Any], Any]:
    """With ``--use-masks``, blend each photo through its saved mask."""
    if not getattr(args, "use_masks", False):
        return restorer
    from glow_core.mask import masked_restorer

    return masked_restorer(restorer)

