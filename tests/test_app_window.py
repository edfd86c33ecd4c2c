"""Main window end to end: open, restore, compare, zoom, cancel, save (real widgets)."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402

from tests.app_fixtures import (  # noqa: E402, F401
    EXIF_MAKE,
    app_config_dir,
    open_photo,
    photo_file,
    window,
    write_photo,
)


def restore(qtbot, win, visible: bool = False):  # noqa: ANN001, ANN201
    with qtbot.waitSignal(win.restoreFinished, timeout=20000) as blocker:
        task = win.restore_visible() if visible else win.restore_whole()
        assert task is not None
    win.wait_idle()
    return blocker.args[0]


def test_open_restore_and_compare(qtbot, window, photo_file: Path) -> None:
    win = window
    open_photo(qtbot, win, photo_file)
    assert win.image.pixels.shape == (64, 96, 3)
    assert "96 × 64" in win.info_label.text()
    assert not win.act_save.isEnabled()  # nothing restored yet
    result = restore(qtbot, win)
    assert result.image.shape == (64, 96, 3)
    assert win.view.restored is not None and win.act_save.isEnabled()
    assert win.motion is not None and win.motion.ndim == 3

    # Split view: the divider really splits original | restored where it is drawn.
    win.set_compare_mode("split")
    win.view.zoom_fit()
    canvas = win.view.split_canvas
    grab_before = canvas.grab().toImage()
    x_divider = int(canvas.divider_x())
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x_divider, 40))
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 4, 40))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(canvas.width() // 4, 40))
    assert abs(win.view.state.divider - 0.25) < 0.02
    assert canvas.grab().toImage() != grab_before


def test_zoom_and_pan_stay_in_sync_side_by_side(qtbot, window, photo_file: Path) -> None:
    win = window
    open_photo(qtbot, win, photo_file)
    restore(qtbot, win)
    win.set_compare_mode("side")
    qtbot.wait(10)
    left, right = win.view.before_canvas, win.view.after_canvas
    assert left.width() == right.width()
    win.act_100.trigger()
    assert win.view.state.zoom == pytest.approx(1.0)
    qtbot.keyClick(right, Qt.Key.Key_Plus)  # "+" shortcut zooms in
    assert win.view.state.zoom == pytest.approx(1.25)
    # Pan on the left view, zoom with the wheel on the right one: both show the same region.
    qtbot.mousePress(left, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(left, QPoint(140, 120))
    qtbot.mouseRelease(left, Qt.MouseButton.LeftButton, pos=QPoint(140, 120))
    assert left.visible_image_rect() == right.visible_image_rect()
    win.view.zoom_to(6.0, anchor=QPointF(30, 30), canvas=right)
    a, b = left.visible_image_rect(), right.visible_image_rect()
    assert a == b and a.width() < 96
    # Fit shows the whole photo in both.
    qtbot.keyClick(right, Qt.Key.Key_F)
    assert win.view.state.fit
    assert left.visible_image_rect().width() == pytest.approx(96)


def test_show_original_while_space_held(qtbot, window, photo_file: Path) -> None:
    win = window
    open_photo(qtbot, win, photo_file)
    restore(qtbot, win)
    canvas = win.view.split_canvas
    canvas.setFocus()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    assert win.view.state.show_original
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert not win.view.state.show_original
    # Typing a space in the caption types it, it does not flip the view.
    qtbot.keyClicks(win.caption_panel.edit, "a b")
    assert win.caption_panel.caption() == "a b"
    assert not win.view.state.show_original


def test_motion_overlay_and_loupe_draw(qtbot, window, photo_file: Path) -> None:
    win = window
    open_photo(qtbot, win, photo_file)
    restore(qtbot, win)
    canvas = win.view.split_canvas
    plain = canvas.grab().toImage()
    win.act_motion.setChecked(True)
    assert win.view.motion is not None
    with_motion = canvas.grab().toImage()
    assert with_motion != plain
    win.act_loupe.setChecked(True)
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 2 + 10, canvas.height() // 2))
    assert win.view.state.cursor is not None
    assert canvas.grab().toImage() != with_motion


def test_visible_region_preview_then_caption_rerun_keeps_seed(qtbot, window,
                                                              photo_file: Path) -> None:
    win = window
    open_photo(qtbot, win, photo_file)
    win.controls.mode.setCurrentIndex(1)  # full (diffusion) so the caption matters
    win.controls.steps.setValue(2)
    win.controls.seed.setValue(1234)
    win.view.zoom_to(12.0)
    region = win.view.visible_image_rect()
    assert region.width() < 96
    restore(qtbot, win, visible=True)
    assert win.view.preview_rect == region
    assert win.result is None and not win.act_save.isEnabled()  # a preview is not saveable
    first = restore(qtbot, win)
    win.caption_panel.set_caption("a red ball on a wooden table")
    second = restore(qtbot, win)
    assert win.controls.seed.value() == 1234
    assert win.result_options["seed"] == 1234
    assert win.result_options["caption"] == "a red ball on a wooden table"
    assert not np.allclose(first.image, second.image)


def test_cancel_mid_run(qtbot, window, tmp_path: Path) -> None:
    win = window
    big = write_photo(tmp_path / "big.png", 128, 128, metadata=False)
    open_photo(qtbot, win, big)
    win.controls.mode.setCurrentIndex(1)
    win.controls.steps.setValue(40)
    win.controls.tile_auto.setChecked(False)
    win.controls.tile.setValue(64)
    seen = []
    with qtbot.waitSignal(win.restoreCancelled, timeout=20000):
        task = win.restore_whole()
        task.signals.progress.connect(lambda info: (seen.append(info), win.cancel()))
    win.wait_idle()
    assert seen and seen[-1].fraction < 1.0
    assert win.result is None and win.current is None
    assert win.act_restore.isEnabled()  # ready for another run


def test_save_beside_original_keeps_metadata(qtbot, window, photo_file: Path) -> None:
    from app.export import ExportDialog, ExportOptions, suggested_path

    win = window
    open_photo(qtbot, win, photo_file)
    restore(qtbot, win)
    target = suggested_path(photo_file, "JPEG")
    assert target == photo_file.with_name("shot_deblurred.jpg")
    written = win.save_to(target, ExportOptions("JPEG", 8, 90))
    assert written == target and target.exists()
    with Image.open(target) as im:
        assert im.size == (96, 64)
        assert im.getexif().get(0x010F) == EXIF_MAKE
        assert im.info.get("icc_profile")
    # The next suggestion never overwrites: _2.
    assert suggested_path(photo_file, "JPEG").name == "shot_deblurred_2.jpg"
    # 16-bit PNG through the dialog's values.
    dialog = ExportDialog(photo_file.with_name("shot_deblurred.png"), ExportOptions("PNG", 16),
                          has_exif=True, has_icc=True, parent=win)
    assert dialog.options().bit_depth == 16
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("JPEG"))
    assert dialog.options().bit_depth == 8  # JPEG cannot hold 16 bits
    assert dialog.result_path().suffix == ".jpg"
    png = win.save_to(photo_file.with_name("out16.png"), ExportOptions("PNG", 16))
    with Image.open(png) as im:
        assert im.mode in ("I;16", "I", "RGB") and png.stat().st_size > 0
    from glow_core.imageio import read_image

    back = read_image(png)
    assert back.bit_depth == 16
    np.testing.assert_allclose(back.pixels, win.result.image, atol=1 / 65535 * 2)
    # Never overwrite the source.
    assert win.save_to(photo_file, ExportOptions("JPEG", 8)) is None
    assert "refusing" in win.banner.text() or "overwrite" in win.banner.text()


def test_corrupt_photo_shows_banner_not_crash(qtbot, window, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with qtbot.waitSignal(window.restoreFailed, timeout=10000):
        window.open_path(bad)
    assert "broken.jpg" in window.banner.text()
    assert window.image is None


def test_drop_recent_and_about(qtbot, window, photo_file: Path, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    win = window
    other = write_photo(tmp_path / "second.png", 40, 56, metadata=False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(win.imageLoaded, timeout=10000):
        win.dropEvent(event)
    assert win.path == other
    open_photo(qtbot, win, photo_file)
    win._fill_recent()
    names = [a.text() for a in win.recent_menu.actions()]
    assert any("shot.jpg" in n for n in names[:1]) and any("second.png" in n for n in names)
    recent = next(a for a in win.recent_menu.actions() if "second.png" in a.text())
    with qtbot.waitSignal(win.imageLoaded, timeout=10000):
        recent.trigger()
    assert win.path == other
    text = win.about_text()
    assert win.engine.checkpoint.path.name in text and "Manifest entry" in text
    win.show_about()
    assert not win._about_box.iconPixmap().isNull()
    win._about_box.close()


def test_engine_error_is_a_banner_and_window_stays_usable(qtbot, window, photo_file: Path,
                                                          monkeypatch) -> None:  # noqa: ANN001
    win = window
    open_photo(qtbot, win, photo_file)

    def boom(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(win.engine, "restore", boom)
    with qtbot.waitSignal(win.restoreFailed, timeout=10000):
        win.restore_whole()
    win.wait_idle()
    assert "device-side assert" in win.banner.text()
    assert win.banner.details  # the traceback is one click away
    assert win.current is None and win.act_restore.isEnabled()
    monkeypatch.undo()
    qtbot.keyClick(win.view.split_canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(win.restoreFinished, timeout=20000):
        pass
    win.wait_idle()
    assert win.result is not None


def test_ctrl_s_opens_the_dialog_and_accept_writes(qtbot, window, photo_file: Path) -> None:
    win = window
    open_photo(qtbot, win, photo_file)
    win.act_save.trigger()
    assert win.exporter.dialog is None  # nothing restored yet: only a status-bar note
    restore(qtbot, win)
    win.act_save.trigger()
    dialog = win.exporter.dialog
    assert dialog.result_path() == photo_file.with_name("shot_deblurred.jpg")
    assert dialog.options().format == "JPEG"  # same format as the source
    dialog.accept()
    assert win.last_saved == photo_file.with_name("shot_deblurred.jpg")
    assert win.last_saved.exists()
    assert win.store.get("last_save_dir") == str(photo_file.parent)
