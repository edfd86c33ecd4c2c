"""Round trips and failure modes of glow_core.imageio on small generated files."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from glow_core.imageio import (
    ImageData,
    ImageReadError,
    ImageWriteError,
    read_image,
    write_image,
)

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _rgb8(h: int = 24, w: int = 36, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _smooth8(h: int = 24, w: int = 36) -> np.ndarray:
    """A gradient: lossy codecs keep it close, so their round trips can be checked."""
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([x * 255 // w, y * 255 // h, (x + y) * 255 // (h + w)]).astype(np.uint8)


def _rgb16(h: int = 20, w: int = 28, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (h, w, 3), dtype=np.uint16)


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[271] = "Canon"  # Make
    exif[272] = "EOS R5"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:20:30"  # DateTimeOriginal (Exif sub-IFD)
    return exif


def _tags(path: Path) -> dict:
    with Image.open(path) as im:
        exif = im.getexif()
        out = {k: exif.get(k) for k in (271, 272, 0x0112)}
        out["DateTimeOriginal"] = exif.get_ifd(0x8769).get(0x9003)
        return out


def _dir_listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ----------------------------------------------------------------- reading basics


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "webp", "bmp"])
def test_read_8bit_formats(tmp_path: Path, ext: str) -> None:
    lossless = ext in ("png", "tif", "bmp")
    rgb = _rgb8() if lossless else _smooth8()
    path = tmp_path / f"a.{ext}"
    Image.fromarray(rgb).save(path, **({} if lossless else {"quality": 95}))
    img = read_image(path)
    assert img.pixels.dtype == np.float32 and img.pixels.shape == (24, 36, 3)
    assert img.bit_depth == 8 and img.alpha is None and img.source == path
    assert img.format == {"jpg": "JPEG", "tif": "TIFF"}.get(ext, ext.upper())
    assert img.pixels.min() >= 0.0 and img.pixels.max() <= 1.0
    err = np.abs(img.pixels * 255 - rgb)
    assert err.max() == 0 if lossless else err.mean() < 4


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_exif_transpose(tmp_path: Path, orientation: int) -> None:
    rgb = _rgb8(8, 14)
    path = tmp_path / "o.png"  # lossless, so the comparison is exact
    Image.fromarray(rgb).save(path, exif=_exif(orientation))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    img = read_image(path)
    np.testing.assert_array_equal(np.rint(img.pixels * 255).astype(np.uint8), expected)
    reread = Image.Exif()
    reread.load(img.exif)
    assert reread[0x0112] == 1 and reread[271] == "Canon"


def test_jpeg_orientation_6_reads_upright_and_resets_tag(tmp_path: Path) -> None:
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = 255  # left half white: after a 90° clockwise turn it is the top half
    src = tmp_path / "portrait.jpg"
    Image.fromarray(rgb).save(src, exif=_exif(6), quality=95)
    img = read_image(src)
    assert img.pixels.shape == (40, 20, 3)
    assert img.pixels[:15].mean() > 0.9 and img.pixels[25:].mean() < 0.1
    out = write_image(tmp_path / "out.jpg", img)
    tags = _tags(out)
    assert tags[0x0112] == 1 and tags[271] == "Canon" and tags[272] == "EOS R5"
    assert read_image(out).pixels.shape == (40, 20, 3)  # not turned a second time


# ----------------------------------------------------------------- metadata round trips


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "webp"])
def test_exif_and_icc_survive_round_trip(tmp_path: Path, ext: str) -> None:
    src = tmp_path / f"src.{ext}"
    if ext == "tif":  # Pillow's TIFF writer drops the Exif sub-IFD: use ours for the source
        write_image(src, ImageData(pixels=_rgb8() / np.float32(255),
                                   exif=_exif(1).tobytes(), icc_profile=SRGB_ICC))
    else:
        Image.fromarray(_rgb8()).save(src, exif=_exif(1), icc_profile=SRGB_ICC)
    img = read_image(src)
    assert img.icc_profile == SRGB_ICC and img.exif is not None
    out = write_image(tmp_path / f"out.{ext}", img)
    back = read_image(out)
    assert back.icc_profile == SRGB_ICC
    tags = _tags(out)
    assert tags[271] == "Canon" and tags[272] == "EOS R5"
    assert tags["DateTimeOriginal"] == "2024:05:01 10:20:30"


def test_tiff_exif_does_not_carry_structure_tags(tmp_path: Path) -> None:
    src = tmp_path / "src.tif"
    Image.fromarray(_rgb8()).save(src, exif=_exif(1))
    img = read_image(src)
    exif = Image.Exif()
    exif.load(img.exif)
    assert 256 not in exif and 273 not in exif and exif[271] == "Canon"


def test_bmp_writes_without_metadata(tmp_path: Path) -> None:
    img = ImageData(pixels=_rgb8().astype(np.float32) / 255, exif=_exif(1).tobytes(),
                    icc_profile=SRGB_ICC)
    out = write_image(tmp_path / "x.bmp", img)
    back = read_image(out)
    assert back.format == "BMP" and back.icc_profile is None


# ----------------------------------------------------------------- 16 bit


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_rgb_read_is_exact(tmp_path: Path, ext: str) -> None:
    rgb = _rgb16()
    path = tmp_path / f"deep.{ext}"
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])  # OpenCV is BGR
    img = read_image(path)
    assert img.bit_depth == 16
    np.testing.assert_array_equal(np.rint(img.pixels * 65535).astype(np.uint16), rgb)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_write_exact_with_alpha_exif_icc(tmp_path: Path, ext: str) -> None:
    rgb = _rgb16()
    alpha16 = np.random.default_rng(5).integers(0, 65536, rgb.shape[:2], dtype=np.uint16)
    img = ImageData(pixels=rgb.astype(np.float32) / 65535, alpha=alpha16 / np.float32(65535),
                    bit_depth=16, exif=_exif(1).tobytes(), icc_profile=SRGB_ICC)
    out = write_image(tmp_path / f"deep.{ext}", img)
    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)  # an independent decoder
    assert raw.dtype == np.uint16 and raw.shape == (*rgb.shape[:2], 4)
    np.testing.assert_array_equal(raw[:, :, 2::-1], rgb)
    np.testing.assert_array_equal(raw[:, :, 3], alpha16)
    back = read_image(out)
    assert back.bit_depth == 16 and back.icc_profile == SRGB_ICC
    np.testing.assert_array_equal(np.rint(back.pixels * 65535).astype(np.uint16), rgb)
    tags = _tags(out)
    assert tags[271] == "Canon" and tags["DateTimeOriginal"] == "2024:05:01 10:20:30"


def test_default_bit_depth_follows_source_and_downgrades(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), _rgb16()[:, :, ::-1])
    img = read_image(path)
    assert read_image(write_image(tmp_path / "same.tif", img)).bit_depth == 16
    assert read_image(write_image(tmp_path / "eight.png", img, bit_depth=8)).bit_depth == 8
    assert read_image(write_image(tmp_path / "down.jpg", img)).bit_depth == 8
    with pytest.raises(ValueError, match="8 bits"):
        write_image(tmp_path / "bad.jpg", img, bit_depth=16)
    with pytest.raises(ValueError, match="8 bits"):
        write_image(tmp_path / "bad.webp", img, bit_depth=16)
    assert not (tmp_path / "bad.jpg").exists() and not (tmp_path / "bad.webp").exists()
    eight = ImageData(pixels=img.pixels)
    assert read_image(write_image(tmp_path / "up.png", eight, bit_depth=16)).bit_depth == 16


def test_16bit_greyscale_png(tmp_path: Path) -> None:
    grey = np.random.default_rng(2).integers(0, 65536, (10, 12), dtype=np.uint16)
    path = tmp_path / "g16.png"
    cv2.imwrite(str(path), grey)
    img = read_image(path)
    assert img.bit_depth == 16 and img.pixels.shape == (10, 12, 3)
    for c in range(3):
        np.testing.assert_array_equal(np.rint(img.pixels[:, :, c] * 65535), grey)


# ----------------------------------------------------------------- modes and alpha


def test_rgba_alpha_passthrough(tmp_path: Path) -> None:
    rgba = np.random.default_rng(3).integers(0, 256, (16, 20, 4), dtype=np.uint8)
    src = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(src)
    img = read_image(src)
    assert img.pixels.shape == (16, 20, 3)
    np.testing.assert_array_equal(np.rint(img.alpha * 255), rgba[:, :, 3])
    for ext in ("png", "tif", "webp"):
        out = write_image(tmp_path / f"b.{ext}", img, quality=100)
        with Image.open(out) as im:
            assert im.mode == "RGBA"
            assert np.abs(np.asarray(im)[:, :, 3].astype(int) - rgba[:, :, 3]).max() <= 1
    with Image.open(write_image(tmp_path / "b.jpg", img)) as im:
        assert im.mode == "RGB"  # JPEG has no alpha: documented drop


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "LA", "1", "I;16"])
def test_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    base = Image.fromarray(_rgb8(12, 16))
    im = base.convert(mode) if mode != "I;16" else Image.fromarray(
        np.full((12, 16), 40000, np.uint16))
    ext = "jpg" if mode == "CMYK" else ("tif" if mode == "I;16" else "png")
    path = tmp_path / f"m.{ext}"
    im.save(path)
    img = read_image(path)
    assert img.pixels.shape == (12, 16, 3) and img.pixels.dtype == np.float32
    assert (img.alpha is not None) == (mode == "LA")
    if mode == "L":
        np.testing.assert_array_equal(img.pixels[:, :, 0], img.pixels[:, :, 2])
        np.testing.assert_allclose(img.pixels[:, :, 0] * 255, np.asarray(im), atol=0.01)
    if mode == "P":
        expect = np.asarray(im.convert("RGB"), np.float32) / 255
        np.testing.assert_allclose(img.pixels, expect, atol=1e-6)
    if mode == "CMYK":
        assert np.abs(img.pixels * 255 - np.asarray(base, np.float32)).mean() < 12
    if mode == "I;16":
        assert img.bit_depth == 16
        np.testing.assert_allclose(img.pixels, 40000 / 65535, atol=1e-6)


def test_palette_with_transparency_gives_alpha(tmp_path: Path) -> None:
    im = Image.new("P", (8, 6), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.info["transparency"] = 0
    path = tmp_path / "p.png"
    im.save(path, transparency=0)
    img = read_image(path)
    assert img.alpha is not None and img.alpha[1, 1] == 1.0 and img.alpha[0, 0] == 0.0
    np.testing.assert_allclose(img.pixels[1, 1], [0, 1, 0])


# ----------------------------------------------------------------- bad inputs


def _png_bytes() -> bytes:
    path_bytes = bytearray()
    import io

    buf = io.BytesIO()
    Image.fromarray(_rgb8(32, 32)).save(buf, format="PNG")
    path_bytes += buf.getvalue()
    return bytes(path_bytes)


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing a huge image, with a tiny (bogus) IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


BAD_FILES = {
    "empty.png": (b"", "empty"),
    "text.jpg": (b"this is not an image at all\n" * 10, "not an image"),
    "truncated.png": (_png_bytes()[:120], "corrupt or truncated"),
    "garbage.png": (_png_bytes()[:60] + os.urandom(300), "corrupt or truncated"),
    "bomb.png": (_bomb_png(30000, 20000), "limit"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_inputs_raise_one_clear_error(tmp_path: Path, name: str) -> None:
    data, reason = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    before = _dir_listing(tmp_path)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message and reason in message
    assert _dir_listing(tmp_path) == before  # nothing created


def test_truncated_jpeg(tmp_path: Path) -> None:
    src = tmp_path / "full.jpg"
    Image.fromarray(_rgb8(64, 64)).save(src, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(ImageReadError, match="cut.jpg.*(corrupt|truncated)"):
        read_image(cut)


def test_max_pixels_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "ok.png"
    Image.fromarray(_rgb8(32, 32)).save(path)
    assert read_image(path, max_pixels=32 * 32).pixels.shape == (32, 32, 3)
    with pytest.raises(ImageReadError, match="above the limit"):
        read_image(path, max_pixels=32 * 32 - 1)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


# ----------------------------------------------------------------- writing safety


def test_write_refuses_to_overwrite_source(tmp_path: Path) -> None:
    src = tmp_path / "src.png"
    Image.fromarray(_rgb8()).save(src)
    original = src.read_bytes()
    img = read_image(src)
    with pytest.raises(ImageWriteError, match="source"):
        write_image(src, img)
    with pytest.raises(ImageWriteError, match="source"):
        write_image(tmp_path / "sub" / ".." / "src.png", img)
    assert src.read_bytes() == original
    assert _dir_listing(tmp_path) == {"src.png"}


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    img = ImageData(pixels=np.zeros((4, 4, 3), np.float32))
    target = tmp_path / "out.png"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError):
        write_image(target, ImageData(pixels=np.zeros((4, 4), np.float32)))
    with pytest.raises(ValueError):
        write_image(target, img, format="jpg")  # extension says PNG
    with pytest.raises(ImageWriteError):
        write_image(tmp_path / "missing-dir" / "x.png", img)
    assert target.read_bytes() == b"previous"
    assert _dir_listing(tmp_path) == {"out.png"}  # no temp files left over
    write_image(target, img)  # replacing an unrelated existing output is fine
    assert read_image(target).pixels.shape == (4, 4, 3)
    assert _dir_listing(tmp_path) == {"out.png"}


def test_atomic_write_cleans_up_when_replace_fails(tmp_path: Path, monkeypatch) -> None:
    img = ImageData(pixels=np.zeros((4, 4, 3), np.float32))

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ImageWriteError, match="No space"):
        write_image(tmp_path / "o.png", img)
    assert _dir_listing(tmp_path) == set()


def test_jpeg_quality_changes_size(tmp_path: Path) -> None:
    img = ImageData(pixels=_rgb8(64, 64).astype(np.float32) / 255)
    small = write_image(tmp_path / "q30.jpg", img, quality=30).stat().st_size
    large = write_image(tmp_path / "q95.jpg", img, quality=95).stat().st_size
    assert small < large
    with pytest.raises(ValueError):
        write_image(tmp_path / "q0.jpg", img, quality=0)


def test_values_are_clipped_and_nan_safe(tmp_path: Path) -> None:
    px = np.array([[[-1.0, 0.5, 2.0], [np.nan, 1.0, 0.0]]], np.float32)
    back = read_image(write_image(tmp_path / "c.png", ImageData(pixels=px)))
    np.testing.assert_allclose(back.pixels, [[[0, 128 / 255, 1], [0, 1, 0]]], atol=1e-6)


# ------------------------------------------------------------- multi-frame, float, alpha
def _frames(n: int, size: int = 16) -> list:
    rng = np.random.default_rng(n)
    return [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
            for _ in range(n)]


def test_animated_gif_and_multipage_tiff_are_refused_clearly(tmp_path: Path) -> None:
    from glow_core.imageio import ImageReadError, read_image

    gif = tmp_path / "anim.gif"
    first, *rest = _frames(3)
    first.save(gif, save_all=True, append_images=rest, duration=100, loop=0)
    with pytest.raises(ImageReadError, match=r"animated GIF with 3 frames.*drop 2") as err:
        read_image(gif)
    assert str(gif) in str(err.value)
    tif = tmp_path / "pages.tif"
    first, *rest = _frames(2)
    first.save(tif, save_all=True, append_images=rest)
    with pytest.raises(ImageReadError, match="multi-page TIFF with 2 frames"):
        read_image(tif)
    png = tmp_path / "anim.png"
    first, *rest = _frames(2)
    first.save(png, save_all=True, append_images=rest)
    with pytest.raises(ImageReadError, match="animated PNG with 2 frames"):
        read_image(png)
    # A single-frame GIF is an ordinary still.
    still = tmp_path / "still.gif"
    _frames(1)[0].save(still)
    assert read_image(still).pixels.shape == (16, 16, 3)


def test_tiff_with_a_thumbnail_page_is_one_photo(tmp_path: Path) -> None:
    from glow_core.imageio import read_image

    tif = tmp_path / "with_thumb.tif"
    big, small = _frames(1, 32)[0], _frames(1, 8)[0]
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffWriter(tif) as tw:
        tw.write(np.asarray(big), photometric="rgb")
        tw.write(np.asarray(small), photometric="rgb", subfiletype=1)  # reduced resolution
    image = read_image(tif)
    assert image.pixels.shape == (32, 32, 3)
    assert np.allclose(image.pixels, np.asarray(big) / 255.0, atol=1e-6)


def test_float_tiff_read_in_range_refused_exactly_out_of_range(tmp_path: Path) -> None:
    import cv2

    from glow_core.imageio import ImageReadError, read_image, write_image

    rgb = np.random.default_rng(0).random((12, 10, 3)).astype(np.float32)
    path = tmp_path / "float.tif"
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    image = read_image(path)
    assert image.bit_depth == 16 and image.format == "TIFF"
    assert np.allclose(image.pixels, rgb, atol=1e-6)
    out = write_image(tmp_path / "out.tif", image)
    assert read_image(out).bit_depth == 16
    hdr = tmp_path / "hdr.tif"
    assert cv2.imwrite(str(hdr), np.ascontiguousarray(rgb * 4.0))
    with pytest.raises(ImageReadError, match=r"32-bit floating-point TIFF with values from "
                                             r"[0-9.e-]+ to [0-9.]+ \(HDR") as err:
        read_image(hdr)
    assert str(hdr) in str(err.value) and "not a supported format" not in str(err.value)


def test_transparent_palette_into_jpeg_is_flattened(tmp_path: Path) -> None:
    from glow_core.imageio import read_image, write_image

    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.info["transparency"] = 0
    for x in range(4, 8):
        for y in range(8):
            pal.putpixel((x, y), 1)
    src = tmp_path / "pal.png"
    pal.save(src, transparency=0)
    image = read_image(src)
    assert image.alpha is not None
    out = write_image(tmp_path / "pal.jpg", image, background=(0.0, 1.0, 0.0))
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert np.abs(pixels[:, :3] - (0, 255, 0)).max() <= 6  # the hidden red never shows
    assert np.abs(pixels[:, 5:] - (0, 0, 255)).max() <= 8


def test_parse_color() -> None:
    from glow_core.imageio import parse_color

    assert parse_color("white") == (1.0, 1.0, 1.0)
    assert parse_color("#000000") == (0.0, 0.0, 0.0)
    assert parse_color("255, 0, 0") == (1.0, 0.0, 0.0)
    for bad in ("nope", "300,0,0", "1,2"):
        with pytest.raises(ValueError, match="background colour"):
            parse_color(bad)


@pytest.mark.parametrize(("sampling", "expected"), [(0, False), (1, False), (2, True)])
def test_jpeg_chroma_subsampling_is_read(tmp_path: Path, sampling: int, expected: bool) -> None:
    """Only a 4:2:0 JPEG (colour kept at half resolution both ways, as cameras write)
    says so: 4:4:4 and 4:2:2 (full vertical colour) do not, nor does any PNG, and an
    orientation tag does not change it."""
    path = tmp_path / f"s{sampling}.jpg"
    Image.fromarray(_rgb8(40, 56)).save(path, quality=92, subsampling=sampling,
                                        exif=_exif(6))
    image = read_image(path)
    assert image.chroma_subsampled is expected and image.pixels.shape[:2] == (56, 40)
    png = tmp_path / "p.png"
    Image.fromarray(_rgb8()).save(png)
    assert read_image(png).chroma_subsampled is False
    grey = tmp_path / "g.jpg"
    Image.fromarray(_rgb8()[..., 0]).save(grey, quality=92)
    assert read_image(grey).chroma_subsampled is False


@pytest.mark.parametrize(("kind", "expected"), [("lossy", True), ("lossy-alpha", True),
                                                ("lossless", False), ("lossless-icc", False)])
def test_webp_chroma_follows_lossy_or_lossless(tmp_path: Path, kind: str, expected: bool
                                               ) -> None:
    """A lossy WebP stores its colour at half resolution (VP8 is 4:2:0 only), with or
    without alpha (an extended file whose alpha chunk comes first); a lossless one keeps
    full RGB, an ICC profile before its image chunk included. A file that is not WebP
    inside says nothing."""
    from glow_core.imageio import webp_is_lossy

    pixels = _rgb8(40, 56)
    if "alpha" in kind:
        pixels = np.dstack([pixels, np.full(pixels.shape[:2], 200, np.uint8)])
    options = {"lossless": True} if kind.startswith("lossless") else {"quality": 90}
    if "icc" in kind:
        from PIL import ImageCms

        options["icc_profile"] = ImageCms.ImageCmsProfile(
            ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / f"{kind}.webp"
    Image.fromarray(pixels).save(path, "WEBP", **options)
    image = read_image(path)
    assert image.chroma_subsampled is expected and image.pixels.shape[:2] == pixels.shape[:2]
    junk = tmp_path / "junk.webp"
    junk.write_bytes(b"RIFF\x04\x00\x00\x00WEBPVP")
    assert webp_is_lossy(junk) is False and webp_is_lossy(tmp_path / "none.webp") is False


@pytest.mark.parametrize(("sampling", "expected"), [("4:2:0", True), ("4:2:2", False),
                                                    ("4:4:4", False), ("grey", False)])
def test_avif_chroma_follows_its_av1_configuration(tmp_path: Path, sampling: str,
                                                   expected: bool) -> None:
    """An AVIF says 4:2:0 only when its AV1 configuration subsamples the colour both ways;
    4:2:2, 4:4:4 and a grey (monochrome) image do not."""
    from PIL import features

    from glow_core.imageio import avif_is_420

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    pixels = _rgb8(40, 56)
    path = tmp_path / f"{sampling.replace(':', '')}.avif"
    if sampling == "grey":
        Image.fromarray(pixels[..., 0]).save(path, "AVIF", quality=80)
    else:
        Image.fromarray(pixels).save(path, "AVIF", quality=80, subsampling=sampling)
    assert avif_is_420(path) is expected
    assert read_image(path).chroma_subsampled is expected
    assert avif_is_420(tmp_path / "none.avif") is False
