"""Fixtures for the app tests (import them into a test module; conftest.py is shared)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image, ImageCms  # noqa: E402

from tests.conftest import synthetic_photo  # noqa: E402

EXIF_MAKE = "GLOW Test Camera"


def write_photo(path: Path, height: int = 64, width: int = 96, seed: int = 0,
                metadata: bool = True) -> Path:
    """A generated photo with EXIF (camera make) and an sRGB ICC profile."""
    pixels = (synthetic_photo(height, width, seed) * 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    kwargs = {}
    if metadata:
        exif = Image.Exif()
        exif[0x010F] = EXIF_MAKE  # Make
        kwargs["exif"] = exif.tobytes()
        kwargs["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if path.suffix.lower() in (".jpg", ".jpeg"):
        kwargs["quality"] = 95
    image.save(path, **kwargs)
    return path


@pytest.fixture
def app_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings go to a temporary folder, never the user's."""
    folder = tmp_path / "config"
    monkeypatch.setenv("GLOW_DEBLUR_CONFIG_DIR", str(folder))
    monkeypatch.setenv("GLOW_DEBLUR_CACHE_DIR", str(tmp_path / "cache"))
    return folder


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    return write_photo(tmp_path / "shot.jpg")


@pytest.fixture
def window(qtbot, app_config_dir: Path, tiny_checkpoint: Path):
    """A themed main window with the tiny checkpoint loaded (synchronously)."""
    from PySide6.QtWidgets import QApplication

    from app.settings import SettingsStore
    from app.theme import apply_theme
    from app.window import MainWindow

    apply_theme(QApplication.instance())
    store = SettingsStore()
    win = MainWindow(store, checkpoint=tiny_checkpoint, load_engine=False)
    qtbot.addWidget(win)
    win.load_engine(wait=True)
    assert win.engine is not None, win.host.error
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.shutdown(10000)
    if win.batch_dialog is not None:
        win.batch_dialog.runner.shutdown(10000)


def open_photo(qtbot, win, path: Path) -> None:
    with qtbot.waitSignal(win.imageLoaded, timeout=10000):
        win.open_path(path)
