"""The photographer's round trip in glow_core: masks, presets, RAW, HEIC/AVIF, CLI."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import io
import json
import types
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from glow_core import cli, mask, rawio
from glow_core.errors import ImageReadError
from glow_core.imageio import ImageData, read_image, write_image
from glow_core.presets import Preset, PresetError, PresetStore
from tests.app_fixtures import app_config_dir  # noqa: F401  (fixture)
from tests.roundtrip_data import check_capture_exif, write_dng


class InvertEngine:
    """A fake engine: the "restored" photo is the inverse, so every pixel changes."""

    full_available = True

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.options: list = []

    def restore(self, image, options, progress=None, cancel=None):
        self.options.append(options)
        return types.SimpleNamespace(image=1.0 - image.pixels)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[InvertEngine]:
    made: list[InvertEngine] = []

    def make(ckpt, device, precision):
        made.append(InvertEngine(device))
        return made[-1]

    monkeypatch.setattr(cli, "_make_engine", make)
    return made


# --------------------------------------------------------------------------- masks


@pytest.mark.parametrize("depth", [8, 16])
def test_mask_protects_region_bit_for_bit(tmp_path: Path, depth: int) -> None:
    rng = np.random.default_rng(depth)
    top = 255 if depth == 8 else 65535
    ints = rng.integers(0, top + 1, (40, 50, 3)).astype(np.uint8 if depth == 8 else np.uint16)
    src = tmp_path / "photo.png"
    if depth == 8:
        Image.fromarray(ints).save(src)
    else:
        import cv2

        cv2.imwrite(str(src), ints[:, :, ::-1])
    image = read_image(src)
    hard = np.zeros((40, 50), np.float32)
    hard[10:30, 20:45] = 1.0
    soft = mask.feather(hard, 4)
    assert soft[hard == 0].max() == 0.0  # the protected region stays exactly 0
    assert 0 < soft[10, 30] < soft[20, 32] == 1.0  # a ramp at the edge, 1 inside
    out = mask.blend(image.pixels, 1.0 - image.pixels, soft)
    written = write_image(tmp_path / "out.png", ImageData(out, bit_depth=depth), bit_depth=depth)
    back = np.asarray(Image.open(written)) if depth == 8 else __import__("cv2").imread(
        str(written), -1)[:, :, ::-1]
    assert back.dtype == ints.dtype
    protected = soft == 0
    assert np.array_equal(back[protected], ints[protected])
    assert np.array_equal(back[soft == 1], top - ints[soft == 1])
    edge = (soft > 0) & (soft < 1)
    assert edge.any() and not np.array_equal(back[edge], ints[edge])


def test_mask_file_beside_photo_and_wrong_size(tmp_path: Path) -> None:
    photo = tmp_path / "shot.jpg"
    assert mask.mask_path(photo) == tmp_path / "shot.jpg.glowmask.png"
    m = np.zeros((10, 12), np.float32)
    m[2:5, 3:9] = 1.0
    mask.save_mask(mask.mask_path(photo), m)
    assert not photo.exists()
    assert np.array_equal(mask.load_mask(mask.mask_path(photo), (10, 12, 3)), m)
    with pytest.raises(mask.MaskError, match=r"shot\.jpg\.glowmask\.png.*12 x 10 px.*20 x 10"):
        mask.load_mask(mask.mask_path(photo), (10, 20, 3))
    with pytest.raises(ValueError):
        mask.save_mask(photo, m)  # never over the photo
    assert mask.mask_region(m) == (2, 3, 5, 9)
    assert mask.mask_region(np.zeros((4, 4))) is None


def test_cli_use_masks(tmp_path: Path, app_config_dir: Path, fake_engine) -> None:
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(src / name)
    m = np.zeros((24, 32), np.float32)
    m[:, 16:] = 1.0
    mask.save_mask(mask.mask_path(src / "a.png"), m)
    mask.save_mask(mask.mask_path(src / "c.png"), np.ones((10, 10)))  # wrong size
    out = tmp_path / "out"
    code = cli.main(["restore", str(src), "-o", str(out), "--use-masks", "-q"])
    assert code == cli.EXIT_FAILED  # c failed, a and b written
    a_in, a_out = np.asarray(Image.open(src / "a.png")), np.asarray(Image.open(out / "a.png"))
    assert np.array_equal(a_out[:, :16], a_in[:, :16])
    assert np.array_equal(a_out[:, 16:], 255 - a_in[:, 16:])
    b_in, b_out = np.asarray(Image.open(src / "b.png")), np.asarray(Image.open(out / "b.png"))
    assert np.array_equal(b_out, 255 - b_in)  # no mask: restored whole
    assert not (out / "c.png").exists()
    log = json.loads((out / ".glow-batch.json").read_text())["items"]
    assert "c.png.glowmask.png" in log["c.png"]["reason"]
    assert not list(out.glob("*.glowmask.png"))  # masks are inputs, not photos


# --------------------------------------------------------------------------- presets


def test_presets_store_round_trip(app_config_dir: Path) -> None:
    store = PresetStore()
    assert store.names() == []
    p = Preset(mode="full", steps=8, strength=0.7, tile=256, caption="a dog", format="tif",
               bit_depth=16, colour_space="adobe-rgb")
    store.save("Wildlife", p)
    assert (app_config_dir / "presets.json").exists()
    assert PresetStore().get("Wildlife") == p
    store.rename("Wildlife", "Birds")
    assert store.names() == ["Birds"]
    with pytest.raises(PresetError, match="Wildlife"):
        store.get("Wildlife")
    store.save("Other", Preset())
    with pytest.raises(PresetError, match="already exists"):
        store.rename("Other", "Birds")
    store.delete("Other")
    assert store.names() == ["Birds"]
    # a hand-edited file with bad values falls back to defaults, never fails
    data = json.loads(store.path.read_text())
    data["presets"]["Birds"]["steps"] = "many"
    data["presets"]["Birds"]["format"] = "gif"
    store.path.write_text(json.dumps(data))
    assert store.get("Birds").steps == Preset().steps and store.get("Birds").format == "png"


def test_cli_preset(tmp_path: Path, app_config_dir: Path, fake_engine, capsys) -> None:
    PresetStore().save("Sharp TIFF", Preset(mode="full", steps=6, strength=0.5, tile=64,
                                            caption="a street", format="tif", bit_depth=16))
    src = tmp_path / "a.png"
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(src)
    out = tmp_path / "out"
    assert cli.main(["restore", str(src), "-o", str(out), "--preset", "Sharp TIFF",
                     "--steps", "3", "-q"]) == cli.EXIT_OK
    opts = fake_engine[0].options[0]
    assert (opts.mode, opts.steps, opts.strength, opts.tile, opts.caption) == (
        "full", 3, 0.5, 64, "a street")  # --steps given on the command line wins
    written = tifffile.imread(out / "a.tif")
    assert written.dtype == np.uint16
    assert cli.main(["restore", str(src), "-o", str(out), "--preset", "Nope"]) == cli.EXIT_USAGE
    assert "no preset named 'Nope'" in capsys.readouterr().err


# --------------------------------------------------------------------------- RAW


def test_adobe_rgb_profile_is_valid() -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(rawio.adobe_rgb_profile()))
    assert "Adobe RGB" in ImageCms.getProfileDescription(profile)
    srgb = ImageCms.createProfile("sRGB")
    # pure sRGB red is inside Adobe RGB: its green and blue stay low, red stays high
    im = Image.new("RGB", (1, 1), (255, 0, 0))
    out = ImageCms.profileToProfile(im, srgb, profile).getpixel((0, 0))
    assert out[0] > 200 and out[1] < 30 and out[2] < 30
    x = np.linspace(0, 1, 11)
    for space in ("srgb", "adobe-rgb"):
        assert np.allclose(rawio.decode_transfer(rawio.encode_transfer(x, space), space), x,
                           atol=1e-6)


def test_raw_develops_linear_16bit_with_metadata(tmp_path: Path) -> None:
    dng = write_dng(tmp_path / "shot.dng", orientation=6)
    image = read_image(dng)
    assert image.pixels.shape == (80, 64, 3)  # orientation 6 applied: upright
    assert image.bit_depth == 16 and image.format == "TIFF"
    assert ImageCms.getProfileDescription(
        ImageCms.ImageCmsProfile(io.BytesIO(image.icc_profile))).strip()
    # camera white balance: the grey scene comes out neutral
    mean = rawio.decode_transfer(image.pixels).reshape(-1, 3).mean(axis=0)
    assert np.ptp(mean) / mean.mean() < 0.05
    adobe = rawio.read_raw(dng, colour_space="adobe-rgb")
    assert adobe.icc_profile == rawio.adobe_rgb_profile()
    exif = Image.Exif()
    exif.load(image.exif)
    check_capture_exif(exif)


def test_raw_unreadable_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.nef"
    bad.write_bytes(b"not a raw file" * 100)
    with pytest.raises(ImageReadError, match=r"broken\.nef.*LibRaw cannot read"):
        read_image(bad)


def test_cli_restores_dng_to_16bit_tiff(tmp_path: Path, app_config_dir: Path,
                                        tiny_checkpoint: Path) -> None:
    dng = write_dng(tmp_path / "in" / "shot.dng")
    out = tmp_path / "out"
    code = cli.main(["restore", str(dng), "-o", str(out), "--format", "tif",
                     "--checkpoint", str(tiny_checkpoint), "--colour-space", "adobe-rgb", "-q"])
    assert code == cli.EXIT_OK
    with tifffile.TiffFile(out / "shot.tif") as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (64, 80, 3)
        assert page.tags["InterColorProfile"].value == rawio.adobe_rgb_profile()
    with Image.open(out / "shot.tif") as im:
        check_capture_exif(im.getexif())
    rawio.set_colour_space("srgb")


# --------------------------------------------------------------------------- HEIC / AVIF


@pytest.mark.parametrize("ext", ["heic", "avif"])
def test_heif_round_trip_keeps_exif_icc_orientation(tmp_path: Path, ext: str) -> None:
    from glow_core import heif

    heif.register()
    yy, xx = np.mgrid[0:24, 0:40]
    arr = np.dstack([xx * 6, yy * 10, np.full_like(xx, 128)]).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise
    exif[0x010F] = "PhoneCam"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / f"phone.{ext}"
    Image.fromarray(arr).save(src, exif=exif.tobytes(), icc_profile=icc, quality=95)
    image = read_image(src)
    upright = np.rot90(arr, k=-1).astype(np.float32) / 255
    assert image.pixels.shape == upright.shape
    assert np.abs(image.pixels - upright).mean() < 0.03
    assert image.icc_profile == icc
    out = write_image(tmp_path / f"out.{ext}", image)
    again = read_image(out)
    assert again.pixels.shape == upright.shape  # not rotated twice
    assert np.abs(again.pixels - upright).mean() < 0.04
    assert again.icc_profile == icc
    with Image.open(out) as im:
        assert im.getexif().get(0x010F) == "PhoneCam"


def test_a_phones_heic_says_its_colour_is_at_half_resolution(tmp_path: Path) -> None:
    """A HEIC as phones write it keeps 4:2:0 colour, which the kernel stage need not solve
    finer (``ImageData.chroma_subsampled``); pillow-heif reports it."""
    from glow_core import heif

    heif.register()
    src = tmp_path / "phone.heic"
    Image.fromarray((np.random.default_rng(1).random((32, 48, 3)) * 255).astype(np.uint8)
                    ).save(src, quality=90)
    assert read_image(src).chroma_subsampled is True


def test_heic_with_unsupported_codec_names_file(tmp_path: Path) -> None:
    from glow_core import heif

    heif.register()
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buf, format="HEIF")
    bad = tmp_path / "clip.heic"
    bad.write_bytes(buf.getvalue().replace(b"hvc1", b"vvc1"))  # a codec libheif lacks here
    with pytest.raises(ImageReadError, match=r"clip\.heic.*codec"):
        read_image(bad)


def test_missing_rawpy_or_pillow_heif_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    import sys

    from glow_core import heif

    dng = write_dng(tmp_path / "shot.dng")
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy -> ImportError
    with pytest.raises(ImageReadError, match=r"shot\.dng.*needs the rawpy package"):
        read_image(dng)
    heic = tmp_path / "phone.heic"
    heic.write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    monkeypatch.setattr(heif, "_registered", False)
    with pytest.raises(ImageReadError, match=r"phone\.heic.*needs the pillow-heif package"):
        read_image(heic)
