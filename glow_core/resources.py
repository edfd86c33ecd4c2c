"""Where bundled files and per-user folders live, from source or frozen by PyInstaller.

Why one module: the GUI, the CLI and the engine all need the same answers (where are the
weights, the icon, the sample photo, where may I write a cache) and the answer changes when
the app is frozen: PyInstaller unpacks/ships data under ``sys._MEIPASS`` (the ``_internal``
folder of a one-folder build) instead of the repository. Keeping the rule here means a
bundle layout change is a one-line fix, and tests can simulate a frozen app by patching
``sys.frozen`` / ``sys._MEIPASS``.

Layout (identical in both cases, relative to :func:`resource_root`)::

    resources/icons/glow-deblur.svg, resources/icons/png/glow-deblur-<N>.png,
    resources/icons/glow-deblur.ico, resources/icons/glow-deblur.icns
    resources/samples/sample_shake.jpg, resources/samples/sample_shake_sharp.png
    resources/weights/*.safetensors, resources/weights/manifest.json

Writable state never goes next to the program (it may be read-only, e.g. Program Files or
a signed macOS bundle): settings, caches and user data use platformdirs, and tests point
them elsewhere with ``GLOW_DEBLUR_CONFIG_DIR`` / ``GLOW_DEBLUR_CACHE_DIR`` /
``GLOW_DEBLUR_DATA_DIR``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "GLOW Deblur Studio"
ICON_NAME = "glow-deblur"
ICON_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512)
SAMPLE_NAME = "sample_shake.jpg"
SAMPLE_SHARP_NAME = "sample_shake_sharp.png"
MANIFEST_NAME = "manifest.json"

ENV_CONFIG_DIR = "GLOW_DEBLUR_CONFIG_DIR"
ENV_CACHE_DIR = "GLOW_DEBLUR_CACHE_DIR"
ENV_DATA_DIR = "GLOW_DEBLUR_DATA_DIR"
# Lets a developer or a test try other weights without touching the bundled ones.
ENV_WEIGHTS_DIR = "GLOW_DEBLUR_WEIGHTS_DIR"

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def is_frozen() -> bool:
    """True inside a PyInstaller bundle (it sets both ``sys.frozen`` and ``sys._MEIPASS``)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resource_root() -> Path:
    """Folder that holds ``resources/``: ``sys._MEIPASS`` when frozen, else the repo root."""
    if is_frozen():
        return Path(sys._MEIPASS).resolve()  # type: ignore[attr-defined]
    return _SOURCE_ROOT


def app_dir() -> Path:
    """Folder of the installed program; nothing is ever written below it."""
    if is_frozen():
        return Path(sys.executable).resolve().parent
    return _SOURCE_ROOT


def resource_path(*parts: str) -> Path:
    """Absolute path of a bundled file under ``resources/``; raises if it is missing.

    The error names the relative path, the folder searched and the mode, because a missing
    resource in a frozen build is nearly always a spec that forgot to collect it.
    """
    if not parts:
        raise ValueError("resource_path() needs at least one path part")
    relative = Path(*parts)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"resource path must stay inside resources/: {relative}")
    root = resource_root() / "resources"
    path = root / relative
    if not path.exists():
        mode = "frozen bundle" if is_frozen() else "source tree"
        raise FileNotFoundError(f"bundled resource 'resources/{relative.as_posix()}' not found "
                                f"under {root} ({mode})")
    return path


def weights_dir() -> Path:
    """Folder of the shipped checkpoints (``$GLOW_DEBLUR_WEIGHTS_DIR`` overrides it)."""
    override = os.environ.get(ENV_WEIGHTS_DIR)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{ENV_WEIGHTS_DIR}={override} is not a folder")
        return path
    return resource_path("weights")


def weights_manifest_path() -> Path:
    """``manifest.json`` beside the weights (lists files with their SHA-256)."""
    path = weights_dir() / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"weights manifest not found: {path}")
    return path


def default_checkpoint() -> Path:
    """The checkpoint the app loads when the user picked none.

    Order: the manifest's ``"default"`` entry (a file name), else the only ``.safetensors``
    file, else one whose name mentions the shipped preset. Raises FileNotFoundError when
    nothing fits, which the engine turns into ``MissingCheckpointError``.
    """
    folder = weights_dir()
    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise FileNotFoundError(f"unreadable weights manifest {manifest}: {error}") from error
        name = data.get("default") if isinstance(data, dict) else None
        if isinstance(name, str):
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(f"manifest default checkpoint missing: {path}")
            return path
    files = sorted(folder.glob("*.safetensors"))
    if len(files) == 1:
        return files[0]
    from glow_core.config import SHIPPED_PRESET

    preferred = [f for f in files if SHIPPED_PRESET in f.stem]
    if preferred:
        return preferred[0]
    found = ", ".join(f.name for f in files) or "none"
    raise FileNotFoundError(f"no default checkpoint in {folder} (found: {found})")


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG for ``size=None``, else the nearest PNG at least ``size`` px.

    Qt scales down well but up badly, hence "at least"; above 512 the 512 px PNG is used.
    """
    if size is None:
        return resource_path("icons", f"{ICON_NAME}.svg")
    if size <= 0:
        raise ValueError(f"icon size must be positive, got {size}")
    chosen = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return resource_path("icons", "png", f"{ICON_NAME}-{chosen}.png")


def platform_icon_path() -> Path:
    """The icon file the OS wants: ``.ico`` on Windows, ``.icns`` on macOS, else 256 px PNG."""
    if sys.platform == "win32":
        return resource_path("icons", f"{ICON_NAME}.ico")
    if sys.platform == "darwin":
        return resource_path("icons", f"{ICON_NAME}.icns")
    return icon_path(256)


def sample_image_path(sharp: bool = False) -> Path:
    """The bundled blurry demo photo (or its sharp source, ``sharp=True``)."""
    return resource_path("samples", SAMPLE_SHARP_NAME if sharp else SAMPLE_NAME)


def _user_dir(env_var: str, default: str, create: bool) -> Path:
    override = os.environ.get(env_var)
    path = Path(override).expanduser() if override else Path(default)
    path = path.resolve()
    if is_frozen() and path.is_relative_to(app_dir()):
        raise PermissionError(f"refusing to use {path} for user state: it is inside the "
                              f"application folder {app_dir()}")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir(create: bool = False) -> Path:
    """Settings folder (``$GLOW_DEBLUR_CONFIG_DIR`` overrides)."""
    default = platformdirs.user_config_dir(APP_NAME, appauthor=False)
    return _user_dir(ENV_CONFIG_DIR, default, create)


def user_cache_dir(create: bool = False) -> Path:
    """Cache folder, safe to delete (``$GLOW_DEBLUR_CACHE_DIR`` overrides)."""
    default = platformdirs.user_cache_dir(APP_NAME, appauthor=False)
    return _user_dir(ENV_CACHE_DIR, default, create)


def user_data_dir(create: bool = False) -> Path:
    """User data such as downloaded/custom weights (``$GLOW_DEBLUR_DATA_DIR`` overrides)."""
    default = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return _user_dir(ENV_DATA_DIR, default, create)
