"""Batch dialog over a real folder: a corrupt file, stop half-way, resume; naming patterns."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.app_fixtures import app_config_dir, window, write_photo  # noqa: E402, F401


def make_folder(root: Path) -> Path:
    src = root / "in"
    (src / "sub").mkdir(parents=True)
    for i in range(3):
        write_photo(src / f"p{i}.jpg", 48, 64, seed=i)
    write_photo(src / "sub" / "q.png", 48, 64, seed=7, metadata=False)
    (src / "zz_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    return src


def test_pattern_helpers(tmp_path: Path) -> None:
    from app.batch_plan import PatternError, build_plan, check_pattern, render_name

    assert render_name("{stem}_deblurred", "a", "jpg", "x") == "a_deblurred"
    assert check_pattern("{stem}_{ext}") == ""
    assert "not valid" in check_pattern("{nope}")
    with pytest.raises(PatternError):
        render_name("../{stem}", "a", "jpg", "x")
    src = make_folder(tmp_path)
    plan = build_plan(src, tmp_path / "out", pattern="{stem}_fixed", recursive=True,
                      format="jpg")
    names = sorted(i.relative for i in plan.items)
    assert names == ["p0_fixed.jpg", "p1_fixed.jpg", "p2_fixed.jpg", "sub/q_fixed.jpg",
                     "zz_corrupt_fixed.jpg"]
    flat = build_plan(src, tmp_path / "out", recursive=False)
    assert all("/" not in i.relative for i in flat.items)
    # An output folder equal to the input with the plain pattern would overwrite: refused.
    same = build_plan(src, src, pattern="{stem}", recursive=False, format="jpg")
    assert all(i.status == "failed" for i in same.items)


def test_batch_corrupt_file_stop_and_resume(qtbot, window, tmp_path: Path) -> None:
    win = window
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    dialog = win.open_batch()
    dialog.recursive.setChecked(True)
    dialog.set_input(src)
    dialog.set_output(out)
    assert dialog.table.rowCount() == 5
    assert dialog.start_button.isEnabled()

    # First run: stop after two photos.
    finished = []

    def on_item(item) -> None:  # noqa: ANN001
        finished.append(item)
        if len(finished) == 2:
            dialog.cancel()

    dialog.itemFinished.connect(on_item)
    with qtbot.waitSignal(dialog.batchFinished, timeout=30000) as blocker:
        assert dialog.start() is not None
        assert dialog.pause_button.isEnabled()
    dialog.runner.pool.waitForDone(10000)
    qtbot.wait(20)
    dialog.itemFinished.disconnect(on_item)
    assert blocker.args[0] == "cancelled"
    done_first = {p.relative_to(out).as_posix() for p in out.rglob("*.png")}
    assert 1 <= len(done_first) <= 3
    log = json.loads((out / ".glow-batch.json").read_text())
    assert {k for k, v in log["items"].items() if v["status"] == "done"} == done_first

    # A fresh dialog (as after closing the app) sees the finished ones and resumes.
    dialog.close()
    win.batch_dialog = None
    dialog = win.open_batch()
    assert dialog.input_edit.text() == str(src)  # remembered in the settings
    assert dialog.start_button.text() == "Resume"
    earlier = [r for r in range(dialog.table.rowCount()) if dialog.row_status(r) == "earlier"]
    assert len(earlier) == len(done_first)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    with qtbot.waitSignal(dialog.batchFinished, timeout=30000) as blocker:
        dialog.start()
    dialog.runner.pool.waitForDone(10000)
    qtbot.wait(20)
    assert blocker.args[0] == "finished"
    outputs = {p.relative_to(out).as_posix() for p in out.rglob("*.png")}
    assert outputs == {"p0_deblurred.png", "p1_deblurred.png", "p2_deblurred.png",
                       "sub/q_deblurred.png"}
    for p, t in mtimes.items():  # finished photos were not redone
        assert p.stat().st_mtime_ns == t
    statuses = {dialog.table.item(r, 0).text(): dialog.row_status(r)
                for r in range(dialog.table.rowCount())}
    assert statuses["zz_corrupt.jpg"] == "failed"
    row = [dialog.table.item(r, 0).text() for r in range(5)].index("zz_corrupt.jpg")
    assert "corrupt" in dialog.table.item(row, 2).text()
    assert "1 failed" in dialog.progress_label.text()


def test_batch_pause_and_resume(qtbot, window, tmp_path: Path) -> None:
    win = window
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        write_photo(src / f"p{i}.png", 32, 32, seed=i, metadata=False)
    dialog = win.open_batch()
    dialog.set_input(src)
    dialog.set_output(tmp_path / "out")
    with qtbot.waitSignal(dialog.batchFinished, timeout=30000) as blocker:
        assert dialog.start() is not None
        dialog.toggle_pause()
        assert dialog.paused and dialog.pause_button.text() == "Resume"
        # The photo in flight may still finish; after that nothing more is written.
        qtbot.wait(600)
        first = len(list((tmp_path / "out").glob("*.png")))
        qtbot.wait(400)
        second = len(list((tmp_path / "out").glob("*.png")))
        assert first == second <= 1
        assert "Paus" in dialog.progress_label.text()
        dialog.toggle_pause()
    dialog.runner.pool.waitForDone(10000)
    assert blocker.args[0] == "finished"
    assert len(list((tmp_path / "out").glob("*.png"))) == 4


def test_batch_writes_the_caption_in_force(qtbot, window, tmp_path: Path) -> None:
    """The batch dialog's outputs carry the caption in force, as the CLI's do."""
    from glow_core.imageio import caption_of, read_image

    win = window
    caption = "a row of parked motorbikes on dry grass"
    win.caption_panel.edit.setPlainText(caption)
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    dialog = win.open_batch()
    dialog.recursive.setChecked(False)
    dialog.set_input(src)
    dialog.set_output(out)
    with qtbot.waitSignal(dialog.batchFinished, timeout=60000):
        assert dialog.start() is not None
    dialog.runner.pool.waitForDone(10000)
    written = sorted(out.glob("*.png"))
    assert written
    for path in written:
        assert caption_of(read_image(path)) == caption
