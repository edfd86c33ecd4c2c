"""glow_core.resources: bundled files from source and from a simulated PyInstaller bundle."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glow_core import resources
from glow_core.resources import ICON_SIZES

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (resources.ENV_CONFIG_DIR, resources.ENV_CACHE_DIR, resources.ENV_DATA_DIR,
                resources.ENV_WEIGHTS_DIR):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)


@pytest.fixture
def fake_bundle(tmp_path, monkeypatch):
    """A folder laid out like dist/GLOWDeblurStudio/ and a frozen interpreter pointing at it."""
    app = tmp_path / "GLOWDeblurStudio"
    internal = app / "_internal"
    res = internal / "resources"
    (res / "icons" / "png").mkdir(parents=True)
    (res / "samples").mkdir()
    (res / "weights").mkdir()
    (res / "icons" / "glow-deblur.svg").write_text("<svg/>")
    for size in ICON_SIZES:
        (res / "icons" / "png" / f"glow-deblur-{size}.png").write_bytes(b"png")
    (res / "samples" / "sample_shake.jpg").write_bytes(b"jpg")
    (res / "weights" / "glow-small.safetensors").write_bytes(b"w")
    (res / "weights" / "manifest.json").write_text(json.dumps({"files": []}))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    monkeypatch.setattr(sys, "executable", str(app / "GLOWDeblurStudio"))
    return app


def test_source_mode_finds_repo_resources():
    assert not resources.is_frozen()
    assert resources.resource_root() == REPO
    assert resources.icon_path() == REPO / "resources/icons/glow-deblur.svg"
    assert resources.sample_image_path() == REPO / "resources/samples/sample_shake.jpg"
    assert resources.weights_dir() == REPO / "resources/weights"


def test_frozen_mode_uses_meipass(fake_bundle):
    internal = fake_bundle / "_internal"
    assert resources.is_frozen()
    assert resources.resource_root() == internal.resolve()
    assert resources.app_dir() == fake_bundle.resolve()
    assert resources.icon_path(32).read_bytes() == b"png"
    assert resources.icon_path(32).parent == internal.resolve() / "resources/icons/png"
    assert resources.sample_image_path().read_bytes() == b"jpg"
    assert resources.weights_manifest_path().parent == internal.resolve() / "resources/weights"
    assert resources.default_checkpoint().name == "glow-small.safetensors"


def test_frozen_flag_without_meipass_is_not_frozen(monkeypatch):
    # e.g. cx_Freeze/py2exe set sys.frozen but not _MEIPASS: keep source layout, don't crash.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert not resources.is_frozen()
    assert resources.resource_root() == REPO


def test_missing_resource_names_what_is_missing(fake_bundle):
    with pytest.raises(FileNotFoundError) as info:
        resources.resource_path("samples", "nope.png")
    message = str(info.value)
    assert "resources/samples/nope.png" in message and "frozen bundle" in message
    with pytest.raises(FileNotFoundError, match="sample_shake_sharp.png"):
        resources.sample_image_path(sharp=True)


def test_resource_path_refuses_escaping_paths():
    with pytest.raises(ValueError):
        resources.resource_path("..", "pyproject.toml")
    with pytest.raises(ValueError):
        resources.resource_path()


def test_icon_size_rounds_up_to_available():
    assert resources.icon_path(16).name == "glow-deblur-16.png"
    assert resources.icon_path(20).name == "glow-deblur-24.png"
    assert resources.icon_path(100).name == "glow-deblur-128.png"
    assert resources.icon_path(4096).name == "glow-deblur-512.png"
    with pytest.raises(ValueError):
        resources.icon_path(0)


def test_platform_icon(monkeypatch):
    for platform, suffix in (("win32", ".ico"), ("darwin", ".icns"), ("linux", ".png")):
        monkeypatch.setattr(sys, "platform", platform)
        assert resources.platform_icon_path().suffix == suffix


@pytest.mark.parametrize("size", ICON_SIZES)
def test_icons_exist_at_every_size(size):
    with Image.open(resources.icon_path(size)) as image:
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        alpha = np.asarray(image)[..., 3]
    # Rounded tile: transparent corner, opaque centre.
    assert alpha[0, 0] == 0 and alpha[size // 2, size // 2] == 255


def test_ico_and_icns_are_multi_size():
    with Image.open(resources.resource_path("icons", "glow-deblur.ico")) as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(resources.resource_path("icons", "glow-deblur.icns")) as icns:
        sizes = {s[:2] for s in icns.info["sizes"]}
        assert {(16, 16), (32, 32), (128, 128), (512, 512)} <= sizes


def test_sample_photo_loads_and_is_blurrier_than_its_source():
    with Image.open(resources.sample_image_path()) as blurry_file:
        assert blurry_file.format == "JPEG"
        blurry = np.asarray(blurry_file.convert("L"), dtype=np.float32)
    with Image.open(resources.sample_image_path(sharp=True)) as sharp_file:
        sharp = np.asarray(sharp_file.convert("L"), dtype=np.float32)
    assert blurry.shape == sharp.shape == (512, 768)

    def gradient_energy(x: np.ndarray) -> float:
        return float(np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean())

    assert gradient_energy(blurry) < 0.7 * gradient_energy(sharp)
    # Same scene: the coarse layout (32 px blocks) agrees closely.
    def blocks(x: np.ndarray) -> np.ndarray:
        return x.reshape(16, 32, 24, 32).mean(axis=(1, 3)).ravel()

    assert np.corrcoef(blocks(blurry), blocks(sharp))[0, 1] > 0.97


def test_desktop_entry_is_valid():
    entry = (REPO / "resources" / "glow-deblur.desktop").read_text(encoding="utf-8")
    lines = entry.splitlines()
    assert lines[0] == "[Desktop Entry]"
    keys = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    assert keys["Type"] == "Application" and keys["Icon"] == "glow-deblur"
    assert keys["Name"] == "GLOW Deblur Studio" and keys["Exec"].startswith("GLOWDeblurStudio")
    assert keys["Categories"].endswith(";")


def test_user_dirs_follow_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv(resources.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    monkeypatch.setenv(resources.ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.setenv(resources.ENV_DATA_DIR, str(tmp_path / "data"))
    assert resources.user_config_dir() == (tmp_path / "cfg").resolve()
    assert not (tmp_path / "cfg").exists()  # looking never creates
    assert resources.user_cache_dir(create=True).is_dir()
    assert resources.user_data_dir() == (tmp_path / "data").resolve()


def test_user_dirs_default_to_platformdirs(monkeypatch):
    import platformdirs

    config = resources.user_config_dir()
    assert config == Path(platformdirs.user_config_dir("GLOW Deblur Studio",
                                                       appauthor=False)).resolve()
    assert "GLOW Deblur Studio" in str(resources.user_cache_dir())
    assert not config.is_relative_to(REPO)


def test_frozen_refuses_user_state_inside_app_folder(fake_bundle, monkeypatch, tmp_path):
    monkeypatch.setenv(resources.ENV_CACHE_DIR, str(fake_bundle / "_internal" / "cache"))
    with pytest.raises(PermissionError, match="inside the application folder"):
        resources.user_cache_dir(create=True)
    assert not (fake_bundle / "_internal" / "cache").exists()
    monkeypatch.setenv(resources.ENV_CACHE_DIR, str(tmp_path / "elsewhere"))
    assert resources.user_cache_dir(create=True).is_dir()


def test_weights_dir_override(tmp_path, monkeypatch):
    monkeypatch.setenv(resources.ENV_WEIGHTS_DIR, str(tmp_path))
    assert resources.weights_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="manifest"):
        resources.weights_manifest_path()
    (tmp_path / "a.safetensors").write_bytes(b"")
    (tmp_path / "b.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="a.safetensors, b.safetensors"):
        resources.default_checkpoint()
    (tmp_path / "manifest.json").write_text(json.dumps({"default": "b.safetensors"}))
    assert resources.default_checkpoint() == tmp_path / "b.safetensors"
    monkeypatch.setenv(resources.ENV_WEIGHTS_DIR, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="GLOW_DEBLUR_WEIGHTS_DIR"):
        resources.weights_dir()
