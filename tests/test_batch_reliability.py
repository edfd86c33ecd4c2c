"""Batch reliability in process: unique names, no outputs as inputs, output-side errors,
alpha flattening, interrupted photos, messages. A fake restorer keeps it fast."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glow_core import cli
from glow_core.batch import (
    LOG_NAME,
    BatchSettings,
    BatchSummary,
    OutputFolderError,
    check_output_folder,
    plan_batch,
    run_batch,
)
from glow_core.imageio import ImageData, read_image


def _photo(path: Path, seed: int, size: int = 16) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def invert(image: ImageData) -> np.ndarray:
    return 1.0 - image.pixels


class FakeEngine:
    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.full_available = True

    def restore(self, image, options, progress=None, cancel=None):
        result = type("Result", (), {})()
        result.image = invert(image)
        return result


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []

    def make(ckpt, device, precision):
        made.append(device)
        return FakeEngine(device)

    monkeypatch.setattr(cli, "_make_engine", make)
    return made


def _log(out: Path) -> dict:
    return json.loads((out / LOG_NAME).read_text())["items"]


# ------------------------------------------------------------------------ name clashes
def test_two_img_0001_from_different_folders_both_survive(
        tmp_path: Path, fake_engine: list, capsys: pytest.CaptureFixture) -> None:
    a = _photo(tmp_path / "cam1" / "IMG_0001.JPG", 1)
    b = _photo(tmp_path / "cam2" / "IMG_0001.JPG", 2)
    out = tmp_path / "out"
    assert cli.main(["restore", str(a), str(b), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 restored" in text and "renamed" in text
    outputs = sorted(p.name for p in out.glob("*.png"))
    assert outputs == ["IMG_0001_cam1.png", "IMG_0001_cam2.png"]
    for src, name in ((a, "IMG_0001_cam1.png"), (b, "IMG_0001_cam2.png")):
        expected = 1.0 - read_image(src).pixels
        assert np.abs(read_image(out / name).pixels - expected).max() < 1 / 255 + 1e-6
    # Folders given as inputs clash the same way; the names are stable for a resume.
    assert cli.main(["restore", str(a.parent), str(b.parent), "-o", str(out),
                     "--skip-existing"]) == 0
    assert "0 restored, 2 skipped" in capsys.readouterr().out


def test_names_keep_structure_and_fall_back_to_a_stable_hash(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _photo(src / "x" / "p.jpg", 1)
    _photo(src / "y" / "p.jpg", 2)
    plan = plan_batch([src], BatchSettings(out_dir=tmp_path / "o", recursive=True))
    assert sorted(i.relative for i in plan.items) == ["x/p.png", "y/p.png"]
    assert not any(i.renamed for i in plan.items)
    # Same parent folder name and extension: only a hash of the path tells them apart.
    one = _photo(tmp_path / "a" / "same" / "p.jpg", 3)
    two = _photo(tmp_path / "b" / "same" / "p.jpg", 4)
    plan = plan_batch([one, two], BatchSettings(out_dir=tmp_path / "o"))
    names = [i.relative for i in plan.items]
    assert len(set(names)) == 2 and all(n.startswith("p_") for n in names)
    again = plan_batch([two, one], BatchSettings(out_dir=tmp_path / "o"))
    assert {i.source: i.relative for i in again.items} == \
        {i.source: i.relative for i in plan.items}
    # A rename never lands on another input's plain name.
    _photo(tmp_path / "c" / "q.png", 5)
    _photo(tmp_path / "d" / "q.jpg", 6)
    _photo(tmp_path / "e" / "q_jpg.png", 7)
    plan = plan_batch([tmp_path / "c" / "q.png", tmp_path / "d" / "q.jpg",
                       tmp_path / "e" / "q_jpg.png"], BatchSettings(out_dir=tmp_path / "o"))
    names = [i.relative.lower() for i in plan.items]
    assert len(set(names)) == 3


def test_skip_existing_redoes_an_output_the_log_gives_to_another_photo(tmp_path: Path) -> None:
    src = _photo(tmp_path / "c" / "x.jpg", 1)
    out = tmp_path / "out"
    out.mkdir()
    _photo(out / "x.png", 9)  # written for a/x.jpg by a version with the name-clash bug
    (out / LOG_NAME).write_text(json.dumps({"version": 1, "items": {"x.png": {
        "source": str(tmp_path / "a" / "x.jpg"), "status": "done"}}}))
    settings = BatchSettings(out_dir=out, skip_existing=True)
    summary = run_batch(plan_batch([src], settings), invert)
    assert [i.relative for i in summary.done] == ["x.png"]


# ------------------------------------------------------------ outputs are never inputs
@pytest.mark.parametrize("keep_log", [True, False])
def test_output_folder_equal_to_input_folder_then_skip_existing(
        tmp_path: Path, fake_engine: list, capsys: pytest.CaptureFixture,
        keep_log: bool) -> None:
    folder = tmp_path / "photos"
    for n in range(3):
        _photo(folder / f"p{n}.jpg", n)
    argv = ["restore", str(folder), "-o", str(folder)]
    assert cli.main(argv) == 0
    assert "3 restored" in capsys.readouterr().out
    if not keep_log:
        (folder / LOG_NAME).unlink()
    before = sorted(p.name for p in folder.glob("p*"))
    assert cli.main([*argv, "--skip-existing"]) == 0
    text = capsys.readouterr().out
    assert "0 restored, 3 skipped, 0 failed" in text and "left out 3 file(s)" in text
    assert sorted(p.name for p in folder.glob("p*")) == before  # nothing restored again


# ---------------------------------------------------------------- output-side failures
def _read_only_folder_for_root() -> Path | None:
    """A folder root cannot write in (sysfs), if this machine has one."""
    for candidate in (Path("/sys/kernel"), Path("/sys")):
        try:
            check_output_folder(candidate, probe_bytes=0)
        except OutputFolderError:
            return candidate
    return None


def test_output_errors_exit_3_before_the_model_loads(
        tmp_path: Path, fake_engine: list, capsys: pytest.CaptureFixture) -> None:
    photo = _photo(tmp_path / "p.jpg", 1)
    a_file = tmp_path / "file.txt"
    a_file.write_text("a file where the folder should be")
    cases = [(a_file, "is a file"), (a_file / "sub", "is a file"),
             (Path("/proc/glow-no-such-folder/out"), "cannot create")]
    read_only = _read_only_folder_for_root()
    if read_only is not None:
        cases.append((read_only, "cannot write in"))
    for out, words in cases:
        assert cli.main(["restore", str(photo), "-o", str(out)]) == cli.EXIT_OUTPUT, out
        err = capsys.readouterr().err
        assert words in err and str(out) in err and "Traceback" not in err
    assert fake_engine == []  # no model was loaded for any of them


def test_empty_output_and_missing_input_messages(
        tmp_path: Path, fake_engine: list, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    photo = _photo(tmp_path / "p.jpg", 1)
    assert cli.main(["restore", str(photo), "-o", ""]) == cli.EXIT_USAGE
    assert "output folder is empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jpg"]
    missing = tmp_path / "nope.jpg"
    assert cli.main(["restore", str(photo), str(missing), "-o", "out"]) == cli.EXIT_FAILED
    text = capsys.readouterr()
    assert f"failed: {missing}: input does not exist" in text.err
    assert f"FAILED {missing}: input does not exist" in text.out


def test_disk_full_mid_batch_stops_with_exit_3(
        tmp_path: Path, fake_engine: list, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import glow_core.imageio as imageio

    for n in range(3):
        _photo(tmp_path / "in" / f"p{n}.jpg", n)
    real = imageio.atomic_write_bytes
    calls = []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(imageio, "atomic_write_bytes", fill_up)
    out = tmp_path / "out"
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(out)]) == cli.EXIT_OUTPUT
    text = capsys.readouterr()
    assert "the disk is full" in text.err and "Traceback" not in text.err
    assert len(calls) == 2  # stopped: the third photo was not tried
    assert sorted(p.name for p in out.glob("*.png")) == ["p0.png"]
    assert _log(out)["p1.png"]["status"] == "failed"


# ---------------------------------------------------------------------------- alpha
def _rgba(path: Path) -> Path:
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., 0] = 255  # red hidden under full transparency on the left half
    arr[:, 4:, :3] = (0, 0, 255)
    arr[:, 4:, 3] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, "RGBA").save(path)
    return path


@pytest.mark.parametrize(("background", "expected"), [(None, (255, 255, 255)),
                                                      ("black", (0, 0, 0)),
                                                      ("#808080", (128, 128, 128)),
                                                      ("10,20,30", (10, 20, 30))])
def test_alpha_into_jpeg_is_flattened_on_the_chosen_background(
        tmp_path: Path, fake_engine: list, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch, background: str | None, expected: tuple) -> None:
    monkeypatch.setattr(cli, "_make_engine", lambda c, d, p: type(
        "Same", (), {"device": d, "full_available": True,
                     "restore": lambda self, image, *a, **k: type(
                         "R", (), {"image": image.pixels})()})())
    src = _rgba(tmp_path / "logo.png")
    out = tmp_path / "out"
    argv = ["restore", str(src), "-o", str(out), "--format", "jpg"]
    if background:
        argv += ["--background", background]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "transparency flattened onto" in text and "JPEG has no alpha" in text
    pixels = np.asarray(Image.open(out / "logo.jpg").convert("RGB")).astype(int)
    assert np.abs(pixels[:, :3] - np.array(expected)).max() <= 4  # no red shows
    assert np.abs(pixels[:, 5:] - np.array((0, 0, 255))).max() <= 8
    assert _log(out)["logo.jpg"]["warnings"]


def test_bad_background_is_a_usage_error(tmp_path: Path, fake_engine: list,
                                         capsys: pytest.CaptureFixture) -> None:
    src = _photo(tmp_path / "p.jpg", 0)
    assert cli.main(["restore", str(src), "-o", str(tmp_path / "o"),
                     "--background", "not-a-colour"]) == cli.EXIT_USAGE
    assert "background colour" in capsys.readouterr().err


# ------------------------------------------------------------------ interrupted photo
def test_keyboard_interrupt_does_not_log_the_photo_in_flight_as_failed(
        tmp_path: Path, fake_engine: list, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    class Interrupting(FakeEngine):
        def restore(self, image, options, progress=None, cancel=None):
            if Path(image.source).name == "p1.jpg":
                raise KeyboardInterrupt
            return super().restore(image, options)

    monkeypatch.setattr(cli, "_make_engine", lambda c, d, p: Interrupting(d))
    for n in range(3):
        _photo(tmp_path / "in" / f"p{n}.jpg", n)
    out = tmp_path / "out"
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(out)]) == cli.EXIT_INTERRUPTED
    text = capsys.readouterr()
    assert "1 restored, 0 skipped, 0 failed, 1 interrupted" in text.out
    assert "KeyboardInterrupt" not in text.out + text.err
    log = _log(out)
    assert log["p0.png"]["status"] == "done" and "p1.png" not in log


def test_run_batch_keeps_summary_when_interrupted(tmp_path: Path) -> None:
    for n in range(2):
        _photo(tmp_path / "in" / f"p{n}.jpg", n)

    def stop_on_second(image: ImageData) -> np.ndarray:
        if image.source.name == "p1.jpg":
            raise KeyboardInterrupt
        return image.pixels

    summary = BatchSummary()
    with pytest.raises(KeyboardInterrupt):
        run_batch(plan_batch([tmp_path / "in"], BatchSettings(out_dir=tmp_path / "o")),
                  stop_on_second, summary=summary)
    assert [i.source.name for i in summary.done] == ["p0.jpg"]
    assert [i.source.name for i in summary.interrupted] == ["p1.jpg"]
    assert summary.cancelled and not summary.failed
    assert not list((tmp_path / "o").glob(".*.tmp"))


def test_log_that_cannot_be_written_does_not_fail_photos(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "p.jpg", 0)
    out = tmp_path / "o"
    (out / LOG_NAME).mkdir(parents=True)  # a folder where the log file should be
    summary = run_batch(plan_batch([tmp_path / "in"], BatchSettings(out_dir=out)), invert)
    assert len(summary.done) == 1 and (out / "p.png").exists()
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]


def test_cli_refuses_a_checkpoint_with_one_flipped_bit(
        tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.test_checkpoint import _flip_bit_in

    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(tiny_checkpoint.read_bytes())
    _flip_bit_in(damaged, "prerecon.")
    photo = _photo(tmp_path / "p.jpg", 0)
    out = tmp_path / "out"
    code = cli.main(["restore", str(photo), "-o", str(out), "--checkpoint", str(damaged)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "is damaged" in err and str(damaged) in err
    assert not out.exists()
