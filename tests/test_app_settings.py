"""Settings round trip, tolerant loading, entry-point dispatch and small pure helpers."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.app_fixtures import app_config_dir, window  # noqa: E402, F401


def test_settings_round_trip(qtbot, app_config_dir: Path) -> None:
    from app.settings import SettingsStore

    store = SettingsStore()
    assert store.path.parent == app_config_dir
    seen = []
    store.changed.connect(seen.append)
    store.set("seed", 77)
    store.set("seed", 77)  # unchanged: no second signal
    store.set("mode", "full")
    store.add_recent(app_config_dir / "a.jpg")
    store.add_recent(app_config_dir / "b.jpg")
    store.add_recent(app_config_dir / "a.jpg")
    assert seen == ["seed", "mode", "recent_files", "recent_files", "recent_files"]
    store.save()
    assert not list(app_config_dir.glob(".settings*"))  # no temp file left behind
    again = SettingsStore()
    assert again.values == store.values
    assert [Path(p).name for p in again.get("recent_files")] == ["a.jpg", "b.jpg"]
    with pytest.raises(AttributeError):
        store.set("nope", 1)


def test_settings_tolerate_bad_files(qtbot, app_config_dir: Path) -> None:
    from app.settings import Settings, SettingsStore

    app_config_dir.mkdir(parents=True)
    (app_config_dir / "settings.json").write_text("{not json")
    assert SettingsStore().values == Settings()
    (app_config_dir / "settings.json").write_text(json.dumps(
        {"seed": "x", "steps": 9, "strength": 1, "recent_files": [1], "future_key": True}))
    values = SettingsStore().values
    assert values.seed == 0 and values.steps == 9 and values.strength == 1.0
    assert values.recent_files == []


def test_window_state_persists(qtbot, window, app_config_dir: Path) -> None:
    from app.settings import SettingsStore

    window.controls.seed.setValue(4242)
    window.controls.tile_auto.setChecked(False)
    window.controls.tile.setValue(256)
    window.set_compare_mode("side")
    window.close()
    values = SettingsStore().values
    assert (values.seed, values.tile_auto, values.tile, values.compare_mode) == (
        4242, False, 256, "side")
    assert values.window_geometry


def test_kernel_raw_and_batch_choices_persist(qtbot, window, app_config_dir: Path,
                                              tiny_checkpoint: Path) -> None:
    """The Blur kernel panel, the RAW colour space and the batch background survive a
    restart (each used to come back at its default)."""
    from app.settings import SettingsStore
    from app.window import MainWindow
    from glow_core import rawio

    panel = window.kernel.panel
    panel.stage.setChecked(False)
    panel.size_auto.setChecked(False)
    panel.size.setValue(45)
    panel.varying.setChecked(True)
    colour = window.roundtrip.presets_panel.colour
    colour.setCurrentIndex(colour.findData("adobe-rgb"))
    batch = window.open_batch()
    batch.background.setCurrentIndex(batch.background.findData("black"))
    batch._store_settings()
    batch.close()
    window.close()
    try:
        values = SettingsStore().values
        assert (values.kernel_stage, values.kernel_size_auto, values.kernel_size,
                values.kernel_varying) == (False, False, 45, True)
        assert (values.raw_colour_space, values.batch_background) == ("adobe-rgb", "black")
        rawio.set_colour_space("srgb")  # a new session starts from the saved file alone
        again = MainWindow(SettingsStore(), checkpoint=tiny_checkpoint, load_engine=False)
        qtbot.addWidget(again)
        assert again.kernel.panel.values() == {"kernel_stage": False, "kernel_size": 45,
                                               "spatially_varying": True}
        assert rawio.current_colour_space() == "adobe-rgb"
        assert again.roundtrip.presets_panel.colour.currentData() == "adobe-rgb"
        assert again.open_batch().background.currentData() == "black"
        again.batch_dialog.close()
    finally:
        rawio.set_colour_space("srgb")


def test_entry_point_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import main as entry

    assert entry.is_cli(["restore", "x.jpg"])
    assert entry.is_cli(["devices"])
    assert entry.is_cli(["--version"])
    assert not entry.is_cli([])
    assert not entry.is_cli(["photo.jpg"])
    assert not entry.is_cli(["-style", "fusion"])
    assert not entry.is_cli(["--platform=offscreen"])
    assert not entry.is_cli(["--smoke-test-window"])
    calls = []
    import glow_core.cli

    monkeypatch.setattr(glow_core.cli, "main", lambda argv: calls.append(argv) or 0)
    assert entry.main(["devices"]) == 0
    assert calls == [["devices"]]


def test_missing_checkpoint_window_still_opens(qtbot, app_config_dir: Path,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import SettingsStore
    from app.window import MainWindow

    empty = tmp_path / "weights"
    empty.mkdir()
    monkeypatch.setenv("GLOW_DEBLUR_WEIGHTS_DIR", str(empty))
    win = MainWindow(SettingsStore(), load_engine=False)
    qtbot.addWidget(win)
    win.load_engine(wait=True)
    win.show()
    assert win.engine is None and win.host.missing_checkpoint
    assert "weights" in win.banner.text().lower()
    assert not win.controls.restore_whole.isEnabled()
    assert "weights" in win.about_text().lower()


def test_pure_helpers() -> None:
    from app.export import suggested_path, unique_path
    from app.imaging import EtaClock, format_duration, motion_segments, to_qimage

    assert format_duration(65) == "1:05" and format_duration(None) == "—"
    clock = EtaClock(0.0)
    clock.update(0.25, 10.0)
    assert clock.remaining == pytest.approx(30.0)
    motion = np.zeros((2, 3, 3), np.float32)
    motion[0, 0] = [4.0, 0.0, 0.0]  # horizontal blur of 4 px: cos 2θ = 1
    motion[1, 2] = [-6.0, 0.0, 1.0]  # vertical (θ = 90°: cos 2θ = -1)
    segs = motion_segments(motion, 16, 24)
    assert len(segs) == 6
    horiz, vert = segs[0], segs[5]
    assert (horiz.cx, horiz.cy) == (4.0, 4.0)
    assert horiz.dx == pytest.approx(2.0) and abs(horiz.dy) < 1e-6
    assert abs(vert.dx) < 1e-6 and abs(vert.dy) == pytest.approx(3.0)
    assert vert.defocus == 1.0
    image = to_qimage(np.full((5, 7, 3), 0.5, np.float32))
    assert (image.width(), image.height()) == (7, 5)
    assert image.pixelColor(3, 2).red() == 128
    assert unique_path(Path("/nonexistent/x.png")) == Path("/nonexistent/x.png")
    assert suggested_path(Path("/nonexistent/a.tiff")).name == "a_deblurred.tiff"


def test_suggest_caption_greyed_out_without_captioner(qtbot, window) -> None:
    panel = window.caption_panel
    assert panel.factory is None  # the test cache folder has no captioner weights
    assert not panel.suggest.isEnabled()
    assert "unavailable" in panel.suggest.toolTip()
    assert "captioner" in panel.suggest.toolTip()


def test_suggest_caption_fills_the_box(qtbot, window, tmp_path: Path) -> None:
    from tests.app_fixtures import open_photo, write_photo

    class FakeCaptioner:
        def suggest(self, pixels: np.ndarray) -> str:
            return f"a photo {pixels.shape[1]} pixels wide"

    open_photo(qtbot, window, write_photo(tmp_path / "c.png", 32, 48, metadata=False))
    window.caption_panel.set_captioner(FakeCaptioner)
    window._update_actions()
    assert window.caption_panel.suggest.isEnabled()
    with qtbot.waitSignal(window.caption_panel.changed, timeout=5000):
        window.caption_panel.suggest.click()
    window.wait_idle()
    assert window.caption_panel.caption() == "a photo 48 pixels wide"
