"""Frozen caption encoders for the DiT's cross-attention, and caption suggestions.

Public API::

    CaptionEncoder, BaseCaptionEncoder, has_caption, is_blank_caption  # the contract (base.py)
    get_encoder, register_encoder, available_encoders, clear_cache  # registry.py
    check_encoder, canonical_name, EncoderMismatchError

Heavy pieces (transformers, open_clip, the captioner) load lazily on first use; import
``glow_core.text.captioner`` / ``glow_core.text.download`` directly for those. See README.md.
"""

from .base import BaseCaptionEncoder, CaptionEncoder, has_caption, is_blank_caption
from .registry import (
    EncoderMismatchError,
    available_encoders,
    canonical_name,
    check_encoder,
    clear_cache,
    get_encoder,
    register_encoder,
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
    "register_encoder",
]
