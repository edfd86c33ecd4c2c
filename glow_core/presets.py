"""Named presets: saved sets of restoration and output controls.

A preset holds mode, steps, strength, tiling (tile side or automatic, overlap), caption,
output format, bit depth and quality, and the colour space RAW photos are developed into.
All presets live in one JSON file, ``presets.json``, in the user's configuration folder
(``platformdirs.user_config_dir("GLOW Deblur Studio")``, or ``$GLOW_DEBLUR_CONFIG_DIR``
when set, as the app's settings), written atomically. The GUI saves, loads, renames and
deletes them; ``glow-deblur restore --preset NAME`` and the batch dialog apply one.

A file edited by hand is read tolerantly: unknown keys are ignored and mistyped values
fall back to the defaults, so a bad preset never stops the app or the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glow_core import limits
from glow_core.fsutil import atomic_write_text

__all__ = [
    "COLOUR_SPACES",
    "PRESETS_FILE",
    "Preset",
    "PresetError",
    "PresetStore",
    "presets_dir",
]

PRESETS_FILE = "presets.json"
#: Colour spaces a RAW photo is developed into (the output's ICC profile).
COLOUR_SPACES = ("srgb", "adobe-rgb")


class PresetError(ValueError):
    """Unknown preset, bad name, or a presets file that cannot be written."""


def presets_dir() -> Path:
    """The user's configuration folder (``$GLOW_DEBLUR_CONFIG_DIR`` overrides)."""
    from glow_core.resources import user_config_dir

    return user_config_dir()


@dataclass
class Preset:
    mode: str = "fast"
    steps: int = limits.DEFAULT_STEPS
    strength: float = 1.0
    tile: int | None = None  # None: automatic from free memory
    overlap: int = limits.DEFAULT_OVERLAP
    caption: str = ""
    format: str = "png"  # output format key (png, jpg, tif, webp, heic, avif)
    bit_depth: int | None = None  # None: as the source
    quality: int = 95
    colour_space: str = "srgb"  # RAW development: "srgb" or "adobe-rgb"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preset:
        """Tolerant: keeps defaults for missing, unknown or out-of-range values."""
        p = cls()
        get = data.get
        if get("mode") in limits.MODES:
            p.mode = get("mode")
        if _is_int(get("steps")) and limits.MIN_STEPS <= get("steps") <= limits.MAX_STEPS:
            p.steps = get("steps")
        s = get("strength")
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            lo, hi = limits.STRENGTH_RANGE
            p.strength = float(min(max(s, lo), hi))
        if get("tile") is None or (_is_int(get("tile")) and get("tile") >= limits.MIN_TILE):
            p.tile = get("tile")
        if _is_int(get("overlap")) and get("overlap") >= 0:
            p.overlap = get("overlap")
        if isinstance(get("caption"), str):
            p.caption = get("caption")
        if isinstance(get("format"), str):
            from glow_core.formats import OUTPUT_FORMATS, normalize_format

            name = normalize_format(get("format"))
            keys = {f.name: k for k, f in OUTPUT_FORMATS.items()}
            if name in keys:
                p.format = keys[name]
        if get("bit_depth") in (None, 8, 16):
            p.bit_depth = get("bit_depth")
        if _is_int(get("quality")) and 1 <= get("quality") <= 100:
            p.quality = get("quality")
        if get("colour_space") in COLOUR_SPACES:
            p.colour_space = get("colour_space")
        return p


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class PresetStore:
    """The presets file: ``names()``, ``get``, ``save``, ``rename``, ``delete``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory else presets_dir()
        self.path = self.directory / PRESETS_FILE

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        items = data.get("presets") if isinstance(data, dict) else None
        if not isinstance(items, dict):
            return {}
        return {str(k): v for k, v in items.items() if isinstance(v, dict)}

    def _write(self, items: dict[str, dict[str, Any]]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps({"version": 1, "presets": items},
                                                    indent=2, sort_keys=True))
        except OSError as exc:
            raise PresetError(f"{self.path}: presets could not be saved ({exc})") from exc

    def names(self) -> list[str]:
        return sorted(self._read(), key=str.casefold)

    def get(self, name: str) -> Preset:
        items = self._read()
        if name not in items:
            known = ", ".join(sorted(items)) or "none saved yet"
            raise PresetError(f"no preset named {name!r} (presets: {known}; stored in "
                              f"{self.path})")
        return Preset.from_dict(items[name])

    def save(self, name: str, preset: Preset) -> None:
        name = _check_name(name)
        items = self._read()
        items[name] = preset.to_dict()
        self._write(items)

    def rename(self, old: str, new: str) -> None:
        new = _check_name(new)
        items = self._read()
        if old not in items:
            raise PresetError(f"no preset named {old!r}")
        if new != old and new in items:
            raise PresetError(f"a preset named {new!r} already exists")
        items[new] = items.pop(old)
        self._write(items)

    def delete(self, name: str) -> None:
        items = self._read()
        if name not in items:
            raise PresetError(f"no preset named {name!r}")
        del items[name]
        self._write(items)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise PresetError("a preset needs a name")
    if len(name) > 80:
        raise PresetError("a preset name is at most 80 characters")
    return name
