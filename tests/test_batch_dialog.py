"""The batch dialog's reliability choices: background for transparency, renamed outputs."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tests.app_fixtures import app_config_dir, window, write_photo  # noqa: E402, F401


def test_background_choice_and_renamed_summary(qtbot, window, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_photo(src / "a.jpg", 32, 32, seed=1)
    write_photo(src / "a.png", 32, 32, seed=2, metadata=False)
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255  # red hidden under transparency
    Image.fromarray(rgba, "RGBA").save(src / "logo.png")
    out = tmp_path / "out"
    dialog = window.open_batch()
    dialog.recursive.setChecked(False)
    dialog.format.setCurrentIndex(dialog.format.findData("jpg"))
    assert dialog.background.isEnabled()  # JPEG has no alpha: the choice matters
    dialog.background.setCurrentIndex(dialog.background.findData("black"))
    dialog.set_input(src)
    dialog.set_output(out)
    details = [dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())]
    assert sum("renamed" in d for d in details) == 2
    with qtbot.waitSignal(dialog.batchFinished, timeout=60000) as blocker:
        assert dialog.start() is not None
    dialog.runner.pool.waitForDone(10000)
    qtbot.wait(20)
    assert blocker.args[0] == "finished"
    label = dialog.progress_label.text()
    assert "2 renamed" in label and "flattened onto black" in label
    assert sorted(p.name for p in out.glob("*.jpg")) == [
        "a_jpg_deblurred.jpg", "a_png_deblurred.jpg", "logo_deblurred.jpg"]
    pixels = np.asarray(Image.open(out / "logo_deblurred.jpg").convert("RGB")).astype(int)
    assert pixels.max() <= 8  # black, no red showing
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    assert not dialog.background.isEnabled()  # PNG keeps the transparency


def test_unusable_output_folder_is_a_message_not_a_traceback(qtbot, window,
                                                             tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_photo(src / "a.jpg", 32, 32, seed=1)
    blocker_file = tmp_path / "not-a-folder"
    blocker_file.write_text("a file where the output folder should be")
    dialog = window.open_batch()
    dialog.set_input(src)
    dialog.set_output(blocker_file / "out")
    with qtbot.waitSignal(dialog.batchFinished, timeout=60000) as blocker:
        assert dialog.start() is not None
    dialog.runner.pool.waitForDone(10000)
    assert blocker.args[0] == "failed"
    assert "cannot create the output folder" in dialog.progress_label.text()
    assert "is a file" in dialog.progress_label.text()
