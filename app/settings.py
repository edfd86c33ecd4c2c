"""Typed application settings, saved atomically as JSON.

Why a dataclass and not QSettings: the values are typed and documented in one place, the
file is human-readable, and a half-written file can never exist (it is written with
:func:`glow_core.fsutil.atomic_write`), so a crash while saving never loses the previous
settings.

The directory is ``platformdirs.user_config_dir('GLOW Deblur Studio')`` unless the
``GLOW_DEBLUR_CONFIG_DIR`` environment variable points elsewhere (tests use this).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from glow_core.fsutil import atomic_write_text
from glow_core.limits import DEFAULT_OVERLAP, DEFAULT_STEPS

APP_NAME = "GLOW Deblur Studio"
CONFIG_ENV = "GLOW_DEBLUR_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
MAX_RECENT = 10


def config_dir() -> Path:
    """Where settings (and the batch resume logs the app owns) live."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


@dataclass
class Settings:
    """Everything the app remembers between sessions."""

    # Folders and files
    last_open_dir: str = ""
    last_save_dir: str = ""
    recent_files: list[str] = field(default_factory=list)
    # Window (base64 of QMainWindow.saveGeometry()/saveState())
    window_geometry: str = ""
    window_state: str = ""
    # Restoration controls
    mode: str = "fast"
    steps: int = DEFAULT_STEPS
    seed: int = 0
    strength: float = 1.0
    tile_auto: bool = True
    tile: int = 512
    overlap: int = DEFAULT_OVERLAP
    device: str = "auto"
    precision: str = "auto"
    checkpoint: str = ""  # empty: the engine's bundled default
    # Blur kernel panel
    kernel_stage: bool = True
    kernel_size_auto: bool = True
    kernel_size: int = 31
    kernel_varying: bool = False  # a kernel per region (RestoreOptions.spatially_varying)
    # Camera RAW ("srgb" | "adobe-rgb", glow_core.presets.COLOUR_SPACES)
    raw_colour_space: str = "srgb"
    # View
    compare_mode: str = "split"  # "split" | "side"
    show_motion: bool = False
    loupe: bool = False
    # Export
    export_format: str = "same"  # "same" or an imageio format name
    export_bit_depth: int = 0  # 0 = same as source
    export_quality: int = 95
    # Batch
    batch_input: str = ""
    batch_output: str = ""
    batch_recursive: bool = True
    batch_pattern: str = "{stem}_deblurred"
    batch_skip_existing: bool = True
    batch_background: str = "white"  # flattening colour for formats without alpha

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Build from JSON, keeping defaults for unknown, missing or mistyped values.

        Why tolerant: a settings file from an older or newer version (or edited by hand)
        must never stop the app from starting.
        """
        defaults = cls()
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            default = getattr(defaults, f.name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            elif isinstance(default, list):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, str)
            if ok:
                values[f.name] = value
        return cls(**values)


class SettingsStore(QObject):
    """Owns the :class:`Settings`, emits ``changed(name)`` and saves them (debounced)."""

    changed = Signal(str)

    def __init__(self, directory: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.directory = Path(directory) if directory else config_dir()
        self.path = self.directory / SETTINGS_FILE
        self.values = self._load()
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(400)
        self._save_timer.timeout.connect(self.save)

    def _load(self) -> Settings:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return Settings()
        return Settings.from_dict(data) if isinstance(data, dict) else Settings()

    def get(self, name: str) -> Any:
        return getattr(self.values, name)

    def set(self, name: str, value: Any) -> None:
        """Change one value; emits ``changed`` only when it really changed."""
        if not hasattr(self.values, name):
            raise AttributeError(f"unknown setting {name!r}")
        if getattr(self.values, name) == value:
            return
        setattr(self.values, name, value)
        self.changed.emit(name)
        self._save_timer.start()

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.values.recent_files if p != path]
        self.set("recent_files", [path, *recent][:MAX_RECENT])

    def save(self) -> Path:
        """Write atomically (a crash mid-write leaves the previous file)."""
        self._save_timer.stop()
        self.directory.mkdir(parents=True, exist_ok=True)
        return atomic_write_text(self.path, json.dumps(self.values.to_dict(), indent=2,
                                                       sort_keys=True))
