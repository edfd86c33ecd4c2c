"""The kernel options of ``glow-deblur restore``: --kernel, --kernel-size, --kernel-region,
--save-kernel, --no-kernel-stage, and clear errors for bad kernel files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glow_core import cli
from glow_core.kernel import KernelField, save_kernel
from tests.conftest import make_tiny_checkpoint
from tests.test_cli import FakeEngine, _photo

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class RecordingEngine(FakeEngine):
    """FakeEngine that also records the options and returns a kernel field."""

    options: list = []

    def restore(self, image, options, progress=None, cancel=None):
        RecordingEngine.options.append(options)
        result = super().restore(image, options)
        k = np.zeros((5, 5), np.float32)
        k[2, 1:4] = 1 / 3
        result.kernel_field = KernelField.single(k, image.pixels.shape[:2])
        return result


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch):
    RecordingEngine.options = []
    monkeypatch.setattr(cli, "_make_engine", lambda c, d, p: RecordingEngine(d))
    return RecordingEngine


def _line_kernel(n: int = 7) -> np.ndarray:
    k = np.zeros((n, n), np.float32)
    k[n // 2, 1:-1] = 1.0
    return k / k.sum()


def test_kernel_options_reach_the_engine(tmp_path: Path, recording) -> None:
    _photo(tmp_path / "in" / "a.png", 0)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--kernel-size", "21", "--kernel-region", "0,4,100,120"]) == 0
    opts = recording.options[-1]
    assert opts.kernel_stage and opts.kernel is None
    assert opts.kernel_size == 21 and opts.kernel_region == (0, 4, 100, 120)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o2"),
                     "--no-kernel-stage"]) == 0
    assert recording.options[-1].kernel_stage is False


def test_save_kernel_writes_png_and_npy(tmp_path: Path, recording) -> None:
    _photo(tmp_path / "in" / "shake.png", 0)
    kdir = tmp_path / "kernels"
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--save-kernel", str(kdir)]) == 0
    k = np.load(kdir / "shake_kernel.npy")
    assert k.shape == (5, 5) and abs(k.sum() - 1) < 1e-5
    assert (kdir / "shake_kernel.png").exists()
    assert not [p for p in kdir.iterdir() if p.name.endswith(".tmp")]  # atomic, no leftovers
    mask = os.umask(0)
    os.umask(mask)
    for name in ("shake_kernel.npy", "shake_kernel.png"):  # as any file the user saves,
        assert (kdir / name).stat().st_mode & 0o777 == 0o666 & ~mask  # not owner-only


def test_saved_kernels_of_same_named_photos_do_not_collide(tmp_path: Path, recording) -> None:
    """Two cameras' IMG_0001: each kernel follows its photo's clash-free output name."""
    _photo(tmp_path / "a" / "IMG_0001.png", 0)
    _photo(tmp_path / "c" / "IMG_0001.png", 1)
    kdir = tmp_path / "kernels"
    assert cli.main(["restore", str(tmp_path / "a"), str(tmp_path / "c"), "-o",
                     str(tmp_path / "o"), "--save-kernel", str(kdir)]) == 0
    outputs = sorted(p.stem for p in (tmp_path / "o").glob("*.png"))
    assert len(outputs) == 2
    assert sorted(p.name for p in kdir.glob("*.npy")) == [f"{s}_kernel.npy" for s in outputs]


@pytest.mark.parametrize("fmt", ["npy", "png"])
def test_kernel_file_is_used_end_to_end(tmp_path: Path, fmt: str) -> None:
    ckpt = make_tiny_checkpoint(tmp_path / "tiny.safetensors")
    _photo(tmp_path / "in" / "a.png", 3)
    kfile = save_kernel(tmp_path / f"k.{fmt}", _line_kernel())[0]
    out, kdir = tmp_path / "o", tmp_path / "kd"
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(out), "--checkpoint",
                     str(ckpt), "--kernel", str(kfile), "--save-kernel", str(kdir)]) == 0
    assert (out / "a.png").exists()
    np.testing.assert_allclose(np.load(kdir / "a_kernel.npy"), _line_kernel(), atol=1e-4)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"\x00\x01 not numpy")
    neg = tmp_path / "neg.npy"
    np.save(neg, -_line_kernel())
    zero = tmp_path / "zero.npy"
    np.save(zero, np.zeros((5, 5)))
    zero_png = tmp_path / "zero.png"
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(zero_png)
    big = tmp_path / "big.npy"
    np.save(big, np.ones((101, 101)))
    return {"text": (text, "not an image"), "junk": (junk, "not an image"),
            "negative": (neg, "negative"), "zero": (zero, "all zero"),
            "zero_png": (zero_png, "all zero"), "big": (big, "larger than the photo"),
            "missing": (tmp_path / "nope.npy", "cannot read")}


@pytest.mark.parametrize("case", ["text", "junk", "negative", "zero", "zero_png", "big",
                                  "missing"])
def test_bad_kernel_file_is_named_before_the_model_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        case: str) -> None:
    def no_model(*_a):
        raise AssertionError("the model must not load for a bad kernel file")

    monkeypatch.setattr(cli, "_make_engine", no_model)
    _photo(tmp_path / "in" / "a.png", 0, size=64)
    path, reason = _bad_files(tmp_path)[case]
    code = cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--kernel", str(path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert str(path) in err and reason in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [
    ["--kernel-region", "1,2,3"], ["--kernel-region", "10,10,5,20"],
    ["--kernel-size", "1"], ["--kernel-size", "x"],
    ["--no-kernel-stage", "--kernel-size", "9"], ["--no-kernel-stage", "--varying-blur"],
    ["--varying-blur", "--kernel-region", "0,0,100,100"],
])
def test_kernel_usage_errors(tmp_path: Path, recording, argv: list[str]) -> None:
    _photo(tmp_path / "in" / "a.png", 0)
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     *argv]) == cli.EXIT_USAGE
    assert not recording.options


def test_varying_blur_reaches_the_engine_and_saves_each_region(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               recording) -> None:
    """--varying-blur asks the engine for a field; --save-kernel then writes the region
    kernels (npz) and the blur trace beside the global kernel."""
    k1, k2 = _line_kernel(), _line_kernel().T.copy()

    def field_result(self, image, options, progress=None, cancel=None):
        RecordingEngine.options.append(options)
        result = FakeEngine.restore(self, image, options)
        h, w = image.pixels.shape[:2]
        boxes = np.array([[[0, 0, h, w // 2 + 8], [0, w // 2 - 8, h, w]]])
        result.kernel_field = KernelField(
            kernels=np.stack([k1, k2])[None], confidences=np.array([[0.9, 0.8]]),
            boxes=boxes, global_kernel=k1, global_confidence=0.9, image_size=(h, w))
        return result

    monkeypatch.setattr(RecordingEngine, "restore", field_result)
    _photo(tmp_path / "in" / "roll.png", 0)
    kdir = tmp_path / "k"
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--varying-blur", "--save-kernel", str(kdir)]) == 0
    assert recording.options[-1].spatially_varying is True
    np.testing.assert_allclose(np.load(kdir / "roll_kernel.npy"), k1, atol=1e-6)
    saved = np.load(kdir / "roll_field.npz")
    assert saved["kernels"].shape == (1, 2, 7, 7)
    np.testing.assert_allclose(saved["kernels"][0, 1], k2)
    assert saved["boxes"].shape == (1, 2, 4) and saved["confidences"].shape == (1, 2)
    trace = Image.open(kdir / "roll_blur_trace.png")
    assert trace.mode == "RGBA" and max(trace.size) == 512
    assert not [p for p in kdir.iterdir() if p.name.endswith(".tmp")]
    # without the flag: one kernel, as before
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o2")]) == 0
    assert recording.options[-1].spatially_varying is False


def test_varying_blur_with_a_given_kernel_is_a_usage_error(tmp_path: Path, recording,
                                                           capsys: pytest.CaptureFixture) -> None:
    _photo(tmp_path / "in" / "a.png", 0)
    kfile = save_kernel(tmp_path / "k.npy", _line_kernel())[0]
    assert cli.main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "o"),
                     "--varying-blur", "--kernel", str(kfile)]) == cli.EXIT_USAGE
    assert "--varying-blur" in capsys.readouterr().err and not recording.options
