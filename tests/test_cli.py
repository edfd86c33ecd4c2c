"""The command line and the batch runner, end to end on tiny generated photos.

A real tiny checkpoint (random weights, ``tiny`` preset, saved by ``save_checkpoint``) is
made once per module; the multi-GPU and caption paths use a fake engine/captioner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from glow_core import cli
from glow_core.batch import LOG_NAME, BatchSettings, plan_batch, run_batch
from glow_core.imageio import ImageData, read_image

ROOT = Path(__file__).resolve().parents[1]


def _photo(path: Path, seed: int, size: int = 64) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = np.dstack([x * 4, y * 4, (x + y) * 2]) % 256
    noisy = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(noisy).save(path)
    return path


def _log(out: Path) -> dict:
    return json.loads((out / LOG_NAME).read_text())["items"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from glow_core.checkpoint import save_checkpoint
    from glow_core.config import preset
    from glow_core.models import PARTS, GlowDeblur

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(path, GlowDeblur(preset("tiny")), stages=list(PARTS))
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    _photo(src / "a.png", 1)
    _photo(src / "b.jpg", 2)
    _photo(src / "sub" / "c.png", 3)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a complete jpeg")
    (src / "notes.txt").write_text("not an image, ignored in folders")
    return src


# ----------------------------------------------------------------------- end to end


def test_restore_folder_with_corrupt_file_then_resume(
        tmp_path: Path, photos: Path, checkpoint: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    argv = ["restore", str(photos), "-o", str(out), "--checkpoint", str(checkpoint),
            "--recursive", "--tile", "64"]
    assert cli.main(argv) == 1
    text = capsys.readouterr()
    assert "3 restored, 0 skipped, 1 failed" in text.out
    assert "broken.jpg" in text.out
    for rel in ("a.png", "b.png", "sub/c.png"):
        img = read_image(out / rel)
        assert img.pixels.shape == (64, 64, 3)
    assert not (out / "broken.png").exists()
    assert not (out / "notes.png").exists()
    log = _log(out)
    assert log["a.png"]["status"] == "done" and log["sub/c.png"]["status"] == "done"
    assert log["broken.png"]["status"] == "failed" and "broken.jpg" in log["broken.png"]["reason"]
    assert sorted(p.name for p in out.iterdir()) == [LOG_NAME, "a.png", "b.png", "sub"]

    # Resume: finished outputs are skipped (untouched), the broken one fails again.
    before = {rel: (out / rel).stat().st_mtime_ns for rel in ("a.png", "b.png", "sub/c.png")}
    (out / "b.png").unlink()
    time.sleep(0.01)
    assert cli.main([*argv, "--skip-existing"]) == 1
    text = capsys.readouterr().out
    assert "1 restored, 2 skipped, 1 failed" in text
    assert (out / "a.png").stat().st_mtime_ns == before["a.png"]
    assert (out / "b.png").exists()
    assert _log(out)["a.png"]["status"] == "skipped"


def test_non_recursive_takes_top_level_only(tmp_path: Path, photos: Path,
                                            checkpoint: Path) -> None:
    out = tmp_path / "flat"
    code = cli.main(["restore", str(photos / "a.png"), str(photos / "sub"), "-o", str(out),
                     "--checkpoint", str(checkpoint), "--format", "jpg", "--quality", "80"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir() if p.name != LOG_NAME) == ["a.jpg", "c.jpg"]
    assert read_image(out / "a.jpg").format == "JPEG"


def test_bit_depth_and_format_choices(tmp_path: Path, checkpoint: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    deep = tmp_path / "deep.png"
    rng = np.random.default_rng(4)
    cv2.imwrite(str(deep), rng.integers(0, 65536, (48, 64, 3), dtype=np.uint16))
    base = ["restore", str(deep), "--checkpoint", str(checkpoint)]
    assert cli.main([*base, "-o", str(tmp_path / "t"), "--format", "tif"]) == 0
    assert read_image(tmp_path / "t" / "deep.tif").bit_depth == 16  # follows the source
    assert cli.main([*base, "-o", str(tmp_path / "e"), "--bit-depth", "8"]) == 0
    assert read_image(tmp_path / "e" / "deep.png").bit_depth == 8
    assert cli.main([*base, "-o", str(tmp_path / "w"), "--format", "webp"]) == 0
    assert read_image(tmp_path / "w" / "deep.webp").pixels.shape == (48, 64, 3)
    capsys.readouterr()
    assert cli.main([*base, "-o", str(tmp_path / "j"), "--format", "jpg",
                     "--bit-depth", "16"]) == 2
    assert "8 bits" in capsys.readouterr().err
    assert not (tmp_path / "j").exists()


def test_full_mode_with_caption(tmp_path: Path, photos: Path, checkpoint: Path) -> None:
    out = tmp_path / "full"
    code = cli.main(["restore", str(photos / "a.png"), "-o", str(out), "--checkpoint",
                     str(checkpoint), "--mode", "full", "--steps", "2", "--caption",
                     "a gradient", "--strength", "0.5", "--seed", "3"])
    assert code == 0
    assert read_image(out / "a.png").pixels.shape == (64, 64, 3)


def test_never_writes_over_an_input(tmp_path: Path, checkpoint: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "same"
    src = _photo(folder / "x.png", 5)
    original = src.read_bytes()
    code = cli.main(["restore", str(folder), "-o", str(folder), "--checkpoint", str(checkpoint)])
    assert code == 1
    assert "would overwrite an input" in capsys.readouterr().out
    assert src.read_bytes() == original
    # Another format into the same folder is fine, and a re-run does not eat its outputs.
    assert cli.main(["restore", str(folder), "-o", str(folder), "--checkpoint",
                     str(checkpoint), "--format", "tif"]) == 0
    assert (folder / "x.tif").exists() and src.read_bytes() == original


def test_python_dash_m_entry_point(tmp_path: Path, photos: Path, checkpoint: Path) -> None:
    out = tmp_path / "sub-out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "glow_core", "restore", str(photos / "a.png"), "-o", str(out),
         "--checkpoint", str(checkpoint)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 restored, 0 skipped, 0 failed" in proc.stdout
    assert "it/s" not in proc.stdout + proc.stderr  # piped: no progress bar
    assert (out / "a.png").exists()


# ----------------------------------------------------------------------- usage errors


def test_missing_checkpoint_says_what_is_missing(tmp_path: Path, photos: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere" / "weights.safetensors"
    code = cli.main(["restore", str(photos), "-o", str(tmp_path / "o"), "--checkpoint",
                     str(missing)])
    assert code == 2
    err = capsys.readouterr().err
    assert "checkpoint" in err and str(missing) in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [
    [],
    ["restore"],
    ["restore", "x.png"],  # no -o
    ["restore", "x.png", "-o", "o", "--strength", "1.5"],
    ["restore", "x.png", "-o", "o", "--mode", "slow"],
    ["restore", "x.png", "-o", "o", "--steps", "0"],
    ["restore", "x.png", "-o", "o", "--quality", "101"],
    ["bogus"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    assert cli.main(argv) == 2


def test_no_images_found(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert cli.main(["restore", str(tmp_path / "empty"), str(tmp_path / "nope.png"),
                     "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no images found" in err and "nope.png" in err


def test_help_has_examples(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["restore", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--skip-existing" in out and "--device" in out


# ----------------------------------------------------------------------- info / devices


def test_info_prints_table(capsys: pytest.CaptureFixture) -> None:
    from glow_core.models import PARTS

    assert cli.main(["info", "--preset", "tiny"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("preset"))
    assert all(part in header for part in PARTS) and "DiT/step" in header
    row = next(line for line in lines if line.startswith("tiny")).split()
    numbers = [float(v) for v in row[1:]]
    assert len(numbers) == len(PARTS) + 5 and all(v > 0 for v in numbers)
    assert cli.main(["info", "--preset", "nope"]) == 2


def test_preset_cost_counts_macs() -> None:
    cost = cli.preset_cost("tiny", size=64)
    bigger = cli.preset_cost("tiny", size=128)
    # Convolutional: MACs per megapixel barely depend on the size; params not at all.
    assert cost["total_params"] == bigger["total_params"] > 0
    assert cost["fast_gmacs_per_mp"] == pytest.approx(bigger["fast_gmacs_per_mp"], rel=0.2)
    assert cost["full_fixed_gmacs_per_mp"] > cost["fast_gmacs_per_mp"]
    assert cost["dit_step_gmacs_per_mp"] > 0


def test_devices_lists_cpu(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["devices"]) == 0
    assert "cpu" in capsys.readouterr().out


# ----------------------------------------------------------------------- fakes: devices, captions


class FakeEngine:
    """Stands in for Engine: inverts the photo, records where and how it ran."""

    made: list[FakeEngine] = []

    def __init__(self, device: str) -> None:
        self.device = device
        self.full_available = True
        self.calls: list[tuple[str, str, str]] = []
        FakeEngine.made.append(self)

    def restore(self, image, options, progress=None, cancel=None):
        time.sleep(0.05)  # long enough for the other worker to take the next file
        self.calls.append((Path(image.source).name, threading.current_thread().name,
                           options.caption))

        class Result:
            pass

        result = Result()
        result.image = 1.0 - image.pixels
        return result


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch):
    FakeEngine.made = []
    monkeypatch.setattr(cli, "_make_engine", lambda ckpt, device, precision: FakeEngine(device))
    return FakeEngine


def test_resolve_devices() -> None:
    assert cli.resolve_devices("all", ["cuda:0", "cuda:1", "mps", "cpu"]) == ["cuda:0", "cuda:1"]
    assert cli.resolve_devices("all", ["cpu"]) == ["auto"]
    assert cli.resolve_devices("cuda:1", ["cuda:0", "cuda:1", "cpu"]) == ["cuda:1"]


def test_device_all_spreads_files_over_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            fake_engine) -> None:
    monkeypatch.setattr(cli, "_available_devices", lambda: ["cuda:0", "cuda:1", "cpu"])
    src = tmp_path / "in"
    for n in range(6):
        _photo(src / f"p{n}.png", n, size=16)
    out = tmp_path / "out"
    assert cli.main(["restore", str(src), "-o", str(out), "--device", "all"]) == 0
    assert [e.device for e in fake_engine.made] == ["cuda:0", "cuda:1"]
    assert all(e.calls for e in fake_engine.made)  # both workers got files
    names = sorted(c[0] for e in fake_engine.made for c in e.calls)
    assert names == [f"p{n}.png" for n in range(6)]  # each file exactly once
    threads = {c[1] for e in fake_engine.made for c in e.calls}
    assert len(threads) == 2
    restored = read_image(out / "p0.png").pixels
    np.testing.assert_allclose(restored, 1 - read_image(src / "p0.png").pixels, atol=1 / 255)


def test_device_all_on_cpu_is_one_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         fake_engine) -> None:
    monkeypatch.setattr(cli, "_available_devices", lambda: ["cpu"])
    _photo(tmp_path / "in" / "a.png", 0, size=16)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--device", "all"]) == 0
    assert [e.device for e in fake_engine.made] == ["auto"]


def test_caption_auto_without_captioner_continues(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_engine,
        capsys: pytest.CaptureFixture) -> None:
    import glow_core.text.captions.captioner as captioner

    def unavailable(device="cpu"):
        raise captioner.CaptionerUnavailable("no captioner installed; run fetch-captioner")

    monkeypatch.setattr(captioner, "get_captioner", unavailable)
    _photo(tmp_path / "in" / "a.png", 0, size=16)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--caption", "auto"]) == 0
    assert "no captioner installed; run fetch-captioner" in capsys.readouterr().err
    assert fake_engine.made[0].calls[0][2] == ""


def test_caption_auto_uses_suggestion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      fake_engine) -> None:
    import glow_core.text.captions.captioner as captioner

    class Fake:
        def suggest(self, pixels: np.ndarray) -> str:
            assert pixels.shape == (16, 16, 3)
            return "a photo of a gradient"

    monkeypatch.setattr(captioner, "get_captioner", lambda device="cpu": Fake())
    _photo(tmp_path / "in" / "a.png", 0, size=16)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--caption", "auto"]) == 0
    assert fake_engine.made[0].calls[0][2] == "a photo of a gradient"


def test_caption_auto_when_module_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          fake_engine, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "glow_core.text.captions.captioner", None)  # -> ImportError
    _photo(tmp_path / "in" / "a.png", 0, size=16)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--caption", "auto"]) == 0
    assert "not available" in capsys.readouterr().err


def test_cancel_stops_batch_and_keeps_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    from glow_core.engine import Cancelled

    class Cancelling(FakeEngine):
        def restore(self, image, options, progress=None, cancel=None):
            if Path(image.source).name == "p1.png":
                raise Cancelled()
            return super().restore(image, options)

    monkeypatch.setattr(cli, "_make_engine", lambda c, d, p: Cancelling(d))
    for n in range(3):
        _photo(tmp_path / "in" / f"p{n}.png", n, size=16)
    out = tmp_path / "o"
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(out)]) == 130
    assert "--skip-existing" in capsys.readouterr().err
    assert (out / "p0.png").exists() and not (out / "p2.png").exists()
    assert _log(out)["p0.png"]["status"] == "done"


# ----------------------------------------------------------------------- batch module


def test_plan_disambiguates_colliding_names_and_skips_own_outputs(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _photo(src / "a.png", 0, size=8)
    _photo(src / "a.jpg", 1, size=8)
    _photo(src / "out" / "old.png", 2, size=8)  # the output folder inside the input
    _photo(src / ".hidden" / "h.png", 3, size=8)
    plan = plan_batch([src, src / "a.png"], BatchSettings(out_dir=src / "out", recursive=True))
    assert sorted(i.relative for i in plan.items) == ["a_jpg.png", "a_png.png"]
    assert all(i.status == "pending" for i in plan.items)


def test_run_batch_records_errors_and_merges_log(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _photo(src / "a.png", 0, size=8)
    _photo(src / "b.png", 1, size=8)
    settings = BatchSettings(out_dir=tmp_path / "out")

    def flaky(image: ImageData) -> np.ndarray:
        if Path(image.source).name == "b.png":
            raise RuntimeError("engine exploded")
        return image.pixels

    seen: list[str] = []
    summary = run_batch(plan_batch([src], settings), flaky,
                        on_item=lambda item: seen.append(item.status))
    assert [i.relative for i in summary.done] == ["a.png"]
    assert "engine exploded" in summary.failed[0].reason and str(src / "b.png") in \
        summary.failed[0].reason
    assert sorted(seen) == ["done", "failed"]
    settings.skip_existing = True
    summary = run_batch(plan_batch([src], settings), lambda image: image.pixels)
    assert [i.relative for i in summary.skipped] == ["a.png"]
    assert [i.relative for i in summary.done] == ["b.png"]
    log = json.loads((tmp_path / "out" / LOG_NAME).read_text())
    assert log["items"]["b.png"]["status"] == "done" and log["last_run"]["done"] == 1
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix == ".tmp"]


def test_batch_settings_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8 bits"):
        BatchSettings(out_dir=tmp_path, format="jpg", bit_depth=16)
    with pytest.raises(ValueError, match="format"):
        BatchSettings(out_dir=tmp_path, format="gif")
    assert BatchSettings(out_dir=tmp_path, format="TIFF").format == "tif"


def test_run_batch_stops_between_files_on_cancel(tmp_path: Path) -> None:
    from glow_core.cancel import CancelToken

    src = tmp_path / "in"
    for i in range(3):
        _photo(src / f"{i}.png", i, size=8)
    token = CancelToken()

    def restore_then_cancel(image: ImageData) -> np.ndarray:
        token.cancel()  # the user pressed Cancel while the first photo ran
        return image.pixels

    summary = run_batch(plan_batch([src], BatchSettings(out_dir=tmp_path / "out")),
                        restore_then_cancel, cancel=token)
    assert summary.cancelled and len(summary.done) == 1 and not summary.failed
