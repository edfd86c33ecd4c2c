"""The photographer's round trip in the app: mask tool, presets, RAW, edit mode, batch."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402

from app.export import ExportOptions  # noqa: E402
from glow_core import cli, mask, rawio  # noqa: E402
from glow_core.presets import Preset, PresetStore  # noqa: E402
from tests.app_fixtures import (  # noqa: E402, F401
    app_config_dir,
    open_photo,
    photo_file,
    window,
    write_photo,
)
from tests.roundtrip_data import check_capture_exif, write_dng  # noqa: E402


def restore(qtbot, win):  # noqa: ANN001, ANN201
    with qtbot.waitSignal(win.restoreFinished, timeout=30000) as blocker:
        assert win.restore_whole() is not None
    win.wait_idle()
    return blocker.args[0]


@pytest.fixture(autouse=True)
def _srgb():
    yield
    rawio.set_colour_space("srgb")


def _png(path: Path, seed: int = 0, size: tuple[int, int] = (48, 64)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


# --------------------------------------------------------------------------- mask tool


def test_mask_tool_protects_region_and_is_saved_beside_photo(qtbot, window, tmp_path: Path):
    win = window
    src = _png(tmp_path / "scene.png")
    open_photo(qtbot, win, src)
    tool = win.mask_tool
    assert tool.layer.shape == (48, 64) and not tool.has_mask()
    win.roundtrip.mask_panel.paint_button.setChecked(True)
    assert tool.active
    # a real drag on the canvas: a rectangle over the right part, marked "restore"
    tool.tool = "rect"
    tool.set_feather(3)
    canvas = win.view.primary_canvas()
    a = canvas.image_to_widget(canvas.widget_to_image(canvas.rect().center()))
    start = canvas.image_to_widget(type(a)(32, 0))
    end = canvas.image_to_widget(type(a)(64, 48))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start.toPoint())
    qtbot.mouseMove(canvas, pos=QPoint((start.toPoint() + end.toPoint()) / 2))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end.toPoint() + QPoint(5, 5))
    assert tool.has_mask()
    y0, x0, y1, x1 = tool.region()
    assert abs(x0 - 32) <= 1 and y0 == 0 and (y1, x1) == (48, 64)
    # and a brush stroke that protects a blob inside it
    tool.tool = "eraser"
    tool.brush_size = 6
    tool.press(type(a)(50, 24))
    tool.release(type(a)(50, 24))
    soft = tool.soft()
    assert soft[24, 50] == 0 and soft[:, :30].max() == 0 and soft[24, 60] > 0
    restore(qtbot, win)
    out = win.save_to(tmp_path / "scene_out.png", ExportOptions("PNG", 8))
    original = np.asarray(Image.open(src))
    written = np.asarray(Image.open(out))
    protected = soft == 0
    assert np.array_equal(written[protected], original[protected])
    assert not np.array_equal(written[soft == 1], original[soft == 1])
    # Save mask: beside the photo, loaded again when the photo is reopened
    assert win.roundtrip.save_mask() == tmp_path / "scene.png.glowmask.png"
    tool.clear()
    assert not tool.has_mask()
    open_photo(qtbot, win, src)
    assert tool.has_mask() and np.array_equal(tool.soft() > 0, soft > 0.5)
    # a mask of the wrong size is reported, not used
    other = _png(tmp_path / "other.png", size=(20, 20))
    shutil.copy(tmp_path / "scene.png.glowmask.png", tmp_path / "other.png.glowmask.png")
    open_photo(qtbot, win, other)
    assert not tool.has_mask()
    assert "other.png.glowmask.png" in win.banner.text() and "64 x 48" in win.banner.text()


def test_mask_undo_and_redo_step_by_stroke(qtbot, window, tmp_path: Path) -> None:
    """Each stroke, shape, clear and invert is one undo step; Ctrl+Z takes it back."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QKeySequence

    win = window
    open_photo(qtbot, win, _png(tmp_path / "scene.png"))
    tool, panel = win.mask_tool, win.roundtrip.mask_panel
    assert not panel.undo_button.isEnabled() and not panel.redo_button.isEnabled()
    tool.tool = "rect"
    tool.press(QPointF(0, 0))
    tool.release(QPointF(32, 48))
    after_rect = tool.soft().copy()
    tool.tool, tool.brush_size = "eraser", 6
    tool.press(QPointF(10, 10))
    for x in range(11, 20):  # one stroke of many moves
        tool.move(QPointF(x, 10))
    tool.release(QPointF(20, 10))
    after_stroke = tool.soft().copy()
    assert after_stroke[10, 15] == 0 and after_rect[10, 15] > 0
    tool.invert()
    assert panel.undo_button.isEnabled()
    tool.undo()
    assert np.array_equal(tool.soft(), after_stroke)
    tool.undo()  # the whole stroke at once
    assert np.array_equal(tool.soft(), after_rect)
    assert panel.redo_button.isEnabled()
    tool.redo()
    assert np.array_equal(tool.soft(), after_stroke)
    tool.clear()
    assert not tool.has_mask()
    # the keyboard: Ctrl+Z in the window brings the cleared mask back
    qtbot.keySequence(win, QKeySequence(QKeySequence.StandardKey.Undo))
    assert tool.has_mask() and np.array_equal(tool.soft(), after_stroke)
    tool.undo()
    tool.undo()
    assert not tool.has_mask() and not panel.undo_button.isEnabled()
    tool.undo()  # nothing left: no error, no change
    assert not tool.has_mask()


def test_batch_dialog_preset_and_saved_masks(qtbot, window, tmp_path: Path) -> None:
    win = window
    src = tmp_path / "in"
    src.mkdir()
    a = _png(src / "a.png", 1)
    _png(src / "b.png", 2)
    m = np.zeros((48, 64), np.float32)
    m[:, 32:] = 1
    mask.save_mask(mask.mask_path(a), m)
    PresetStore().save("Tiff16", Preset(format="tif", bit_depth=16, strength=0.5))
    dialog = win.open_batch()
    dialog.set_input(src)
    dialog.set_output(tmp_path / "out")
    assert dialog.extras.preset.findText("Tiff16") > 0
    dialog.extras.preset.setCurrentIndex(dialog.extras.preset.findText("Tiff16"))
    assert dialog.format.currentData() == "tif" and dialog.depth.currentData() == 16
    dialog.extras.use_masks.setChecked(True)
    dialog.scan()
    assert dialog.table.rowCount() == 2  # the mask file is not a photo
    with qtbot.waitSignal(dialog.batchFinished, timeout=30000) as blocker:
        assert dialog.start() is not None
    dialog.runner.pool.waitForDone(10000)
    qtbot.wait(20)
    assert blocker.args[0] == "finished"
    out_a = tifffile.imread(tmp_path / "out" / "a_deblurred.tif")
    assert out_a.dtype == np.uint16
    original = np.asarray(Image.open(a)).astype(np.uint16) * 257
    assert np.array_equal(out_a[:, :32], original[:, :32])
    assert (tmp_path / "out" / "b_deblurred.tif").exists()


# --------------------------------------------------------------------------- presets


def test_presets_round_trip_gui_and_cli(qtbot, window, tmp_path: Path, monkeypatch) -> None:
    win = window
    panel = win.roundtrip.presets_panel
    controls = win.controls
    controls.mode.setCurrentIndex(controls.mode.findData("full"))
    controls.steps.setValue(7)
    controls.strength.setValue(60)
    controls.tile_auto.setChecked(False)
    controls.tile.setValue(128)
    win.caption_panel.set_caption("a heron")
    win.store.set("export_format", "TIFF")
    win.store.set("export_bit_depth", 16)
    panel.colour.setCurrentIndex(panel.colour.findData("adobe-rgb"))
    assert rawio.current_colour_space() == "adobe-rgb"
    assert panel.save_as("Birds")
    assert panel.combo.currentText() == "Birds"
    # change everything, then apply the preset back
    controls.mode.setCurrentIndex(controls.mode.findData("fast"))
    controls.steps.setValue(2)
    controls.strength.setValue(100)
    controls.tile_auto.setChecked(True)
    win.caption_panel.set_caption("")
    win.store.set("export_format", "same")
    panel.colour.setCurrentIndex(panel.colour.findData("srgb"))
    assert panel.apply("Birds")
    v = controls.values()
    assert (v["mode"], v["steps"], v["strength"], v["tile"]) == ("full", 7, 0.6, 128)
    assert win.caption_panel.caption() == "a heron"
    assert win.store.get("export_format") == "TIFF" and rawio.current_colour_space() == \
        "adobe-rgb"
    # rename and delete, the Presets menu lists them
    assert panel.rename("Birds", "Herons") and panel.names() == ["Herons"]
    panel.fill_menu(win.roundtrip.presets_menu)
    assert "Herons" in [a.text() for a in win.roundtrip.presets_menu.actions()]
    # the CLI uses the preset the GUI saved
    seen = []

    class Engine:
        full_available = True

        def restore(self, image, options, progress=None, cancel=None):
            seen.append(options)
            return type("R", (), {"image": image.pixels})()

    monkeypatch.setattr(cli, "_make_engine", lambda *a: Engine())
    photo = _png(tmp_path / "p.png")
    assert cli.main(["restore", str(photo), "-o", str(tmp_path / "o"), "--preset", "Herons",
                     "-q"]) == cli.EXIT_OK
    assert (seen[0].mode, seen[0].steps, seen[0].strength, seen[0].tile, seen[0].caption) == (
        "full", 7, 0.6, 128, "a heron")
    assert (tmp_path / "o" / "p.tif").exists()
    # a preset saved outside the GUI (CLI users share the file) shows up and applies
    PresetStore().save("Quick", Preset(mode="fast", strength=0.3))
    panel.refresh()
    assert panel.names() == ["Herons", "Quick"]
    assert panel.apply("Quick") and controls.values()["strength"] == 0.3
    assert panel.delete("Herons") and panel.names() == ["Quick"]


# --------------------------------------------------------------------------- RAW


def test_dng_restores_in_gui_to_16bit_tiff_with_metadata(qtbot, window, tmp_path: Path):
    win = window
    dng = write_dng(tmp_path / "raw" / "shot.dng", orientation=8)
    open_photo(qtbot, win, dng)
    assert (win.image.height, win.image.width, win.image.bit_depth) == (80, 64, 16)
    restore(qtbot, win)
    win.save()  # the dialog offers a 16-bit TIFF beside the RAW
    dialog = win.exporter.dialog
    assert dialog.options().format == "TIFF" and dialog.options().bit_depth == 16
    target = dialog.result_path()
    assert target == tmp_path / "raw" / "shot_deblurred.tif"
    dialog.accept()
    assert target.exists()
    with tifffile.TiffFile(target) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (80, 64, 3)
        assert page.tags["InterColorProfile"].value == rawio.profile_for("srgb")
    with Image.open(target) as im:
        check_capture_exif(im.getexif())


# --------------------------------------------------------------------------- edit mode


def test_edit_mode_writes_back_to_the_opened_file_only(qtbot, window, tmp_path: Path):
    from app.edit_mode import TITLE_NOTE, start_edit

    win = window
    folder = tmp_path / "lightroom"
    folder.mkdir()
    photo = folder / "IMG_0001-Edit.tif"
    pixels = (np.random.default_rng(3).random((40, 56, 3)) * 65535).astype(np.uint16)
    tifffile.imwrite(photo, pixels, photometric="rgb")
    before = photo.read_bytes()
    with qtbot.waitSignal(win.imageLoaded, timeout=10000):
        start_edit(win, photo)
    assert TITLE_NOTE in win.windowTitle() and photo.name in win.windowTitle()
    win.save()  # nothing restored yet: nothing written
    assert photo.read_bytes() == before
    restore(qtbot, win)
    win.save()
    assert win.edit_session.saved_count == 1
    assert sorted(p.name for p in folder.iterdir()) == [photo.name]  # no other file
    after = tifffile.imread(photo)
    assert after.dtype == np.uint16 and after.shape == pixels.shape
    assert not np.array_equal(after, pixels)
    assert np.array_equal(after, np.rint(np.clip(win.result.image, 0, 1) * 65535)
                          .astype(np.uint16))


def test_normal_mode_never_writes_over_the_original(qtbot, window, photo_file: Path) -> None:
    win = window
    before = photo_file.read_bytes()
    open_photo(qtbot, win, photo_file)
    assert "Edit mode" not in win.windowTitle()
    restore(qtbot, win)
    assert win.save_to(photo_file, ExportOptions("JPEG", 8)) is None
    assert photo_file.read_bytes() == before
    win.save()  # the dialog, with a new name beside the original
    assert win.exporter.dialog.result_path() != photo_file
    win.exporter.dialog.reject()


def test_edit_command_line() -> None:
    from app.main import is_cli, main

    assert main(["edit"]) == 2
    assert not is_cli(["edit", "x.tif"])
