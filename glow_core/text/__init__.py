"""Frozen caption encoders for the DiT's cross-attention.

Public API::

    CaptionEncoder, BaseCaptionEncoder, has_caption, is_blank_caption  # the contract (base.py)
    get_encoder, available_encoders, clear_cache                       # registry.py
    check_encoder, canonical_name, EncoderMismatchError

Heavy pieces (transformers) load lazily on first use. Caption *suggestions* (the captioner),
open_clip encoders and their downloads live in :mod:`glow_core.text.captions`, which needs
the optional ``[captions]`` extra (open_clip_torch, torchvision). See README.md.
"""

from .base import BaseCaptionEncoder, CaptionEncoder, has_caption, is_blank_caption
from .registry import (
    EncoderMismatchError,
    available_encoders,
    canonical_name,
    check_encoder,
    clear_cache,
    get_encoder,
)

__all__ = [
    "BaseCaptionEncoder",
    "CaptionEncoder",
    "EncoderMismatchError",
    "available_encoders",
    "canonical_name",
    "check_encoder",
    "clear_cache",
    "get_encoder",
    "has_caption",
    "is_blank_caption",
]
