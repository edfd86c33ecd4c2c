"""Photo input/output: every supported file becomes upright RGB float32 in [0, 1], and back.

Why this module exists instead of a bare ``Image.open``: a deblurring tool is judged on
what it does *not* damage. So reading applies the EXIF orientation (the network must see
the photo upright), keeps EXIF/ICC/alpha/bit depth so that writing can give them back,
and turns every way a file can be broken into one :class:`ImageReadError` whose message
names the file. Writing is atomic (temp file + ``os.replace``) and refuses to overwrite
the photo it came from, so a crash or a full disk never costs the user an original.

Pillow decodes almost everything; OpenCV decodes the 16-bit RGB(A)/LA PNG and TIFF files
that Pillow can only hold as 8-bit. 16-bit PNG output is encoded by OpenCV with the iCCP
and eXIf chunks inserted by hand; TIFF output (8 and 16 bit) is written here (one deflate strip
with a horizontal predictor), EXIF tags and sub-IFDs and ICC profile in its first IFD,
because Pillow cannot hold 16-bit RGB and its libtiff writer rejects EXIF sub-IFDs.

Output bit depth: ``bit_depth=None`` means "as the source", downgraded to 8 for formats
that only hold 8 bits (JPEG, WebP, BMP); an explicit ``bit_depth=16`` for those raises.
Alpha is re-attached for PNG, TIFF, WebP and BMP; for JPEG (no alpha there) the picture is
flattened onto a background colour (``background``, white by default) so that the colours
hidden under transparent pixels never show.

Files with several full-size frames (animated GIF/PNG/WebP, multi-page TIFF) are refused
with a message saying how many frames they hold: one photo in, one photo out, and a
silently dropped frame would be lost work. Reduced-resolution TIFF pages (thumbnails) and
the preview images of camera MPO JPEGs are not frames of their own and are ignored.
Floating-point TIFFs are read when their values lie in 0..1 (as 16-bit sources); HDR
ones are refused with a message giving their range.

EXIF is written to PNG, JPEG, TIFF and WebP, the ICC profile to the same; BMP keeps neither.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageColor, UnidentifiedImageError

from glow_core import heif, rawio
from glow_core.errors import ImageReadError, ImageWriteError
from glow_core.formats import (
    DEFAULT_FORMAT,
    FORMATS,
    IMAGE_EXTENSIONS,
    RAW_EXTENSIONS,
    READABLE_LABELS,
    format_for_path,
    normalize_format,
)
from glow_core.fsutil import atomic_write_bytes

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "ImageData",
    "ImageReadError",
    "ImageWriteError",
    "format_for_path",
    "parse_color",
    "caption_of",
    "read_image",
    "with_caption",
    "write_image",
]

#: Refuse images above this many pixels (checked from the header, before decoding).
DEFAULT_MAX_PIXELS = 200_000_000


_ORIENTATION = 0x0112
# TIFF tags that describe the pixel layout of the file they came from; they must not
# travel as "EXIF" into another file (a TIFF's first IFD mixes them with Make/Model...).
_TIFF_STRUCTURE_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 290,
    291, 292, 293, 296, 297, 317, 318, 319, 320, 321, 322, 323, 324, 325, 330, 332, 333,
    334, 338, 339, 340, 341, 347, 513, 514, 529, 530, 531, 532, 700, 32997, 33723, 34377,
    34675,  # the ICC profile travels separately
    37724,
})

_pil_limit_lock = threading.Lock()


@dataclass
class ImageData:
    """A decoded photo plus everything needed to write it back faithfully."""

    pixels: np.ndarray  # float32, H x W x 3, RGB in [0, 1], upright
    alpha: np.ndarray | None = None  # float32 H x W in [0, 1], passed through untouched
    bit_depth: int = 8  # 8 or 16 (of the source)
    exif: bytes | None = None  # raw EXIF ("Exif\0\0" + TIFF) with orientation reset to 1
    icc_profile: bytes | None = None
    source: Path | None = None
    format: str | None = None  # "PNG", "JPEG", "TIFF", "WEBP", "BMP"
    # The file stored the colour at half resolution both ways (a 4:2:0 JPEG): the kernel
    # stage need not solve finer colour than the file kept (``RestoreOptions``).
    chroma_subsampled: bool = False

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


def parse_color(text: str | tuple) -> tuple[float, float, float]:
    """``"white"``, ``"#202020"``, ``"128,128,128"`` or an RGB tuple -> RGB floats in [0, 1]."""
    if isinstance(text, tuple):
        values = text
    else:
        raw = str(text).strip()
        try:
            if raw.count(",") == 2 and not raw.lower().startswith("rgb"):
                values = tuple(int(v) for v in raw.split(","))
            else:
                values = ImageColor.getrgb(raw)[:3]
        except ValueError:
            values = ()
    if len(values) != 3 or not all(0 <= int(v) <= 255 for v in values):
        raise ValueError(f"background colour {text!r} is not understood: give a name "
                         "(white, black, gray...), #RRGGBB or R,G,B with values 0-255")
    return tuple(int(v) / 255.0 for v in values)  # type: ignore[return-value]


# --------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS
               ) -> ImageData:
    """Decode ``path`` into upright RGB float32 (see module docstring).

    Raises :class:`ImageReadError` for a missing, empty, corrupt, truncated, unsupported
    or too large (``width * height > max_pixels``) file; never a raw decoder exception.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ImageReadError(f"{name}: file does not exist")
    if path.is_dir():
        raise ImageReadError(f"{name}: is a folder, not an image file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"{name}: cannot be accessed ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageReadError(f"{name}: file is empty (0 bytes)")
    try:
        # Camera RAW and HEIC/AVIF: their own readers (glow_core.rawio / glow_core.heif).
        if path.suffix.lower() in RAW_EXTENSIONS:
            return rawio.read_raw(path, max_pixels=max_pixels)
        if path.suffix.lower() in heif.HEIF_EXTENSIONS:
            return heif.read(path, lambda p: _read(p, max_pixels))
        try:
            return _read(path, max_pixels)
        except _Unidentified:
            if not _is_tiff(path):
                raise
            return _read_tiff_cv2(path, max_pixels)
    except ImageReadError:
        raise
    except MemoryError as exc:
        raise ImageReadError(f"{name}: not enough memory to decode this image") from exc
    except Exception as exc:  # every decoder failure becomes one clear error
        detail = str(exc) or type(exc).__name__
        raise ImageReadError(f"{name}: file is corrupt or truncated ({detail})") from exc


def _read(path: Path, max_pixels: int) -> ImageData:
    name = str(path)
    with _open_pil(path, max_pixels) as im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageReadError(f"{name}: image has no pixels ({width} x {height})")
        if width * height > max_pixels:
            raise ImageReadError(
                f"{name}: image is {width} x {height} = {width * height / 1e6:.0f} MP, above "
                f"the limit of {max_pixels / 1e6:.0f} MP (possible decompression bomb)"
            )
        fmt = "JPEG" if im.format == "MPO" else im.format
        subsampled = _colour_at_half_resolution(im, fmt, path)
        bits = _source_bits(im, fmt)  # first: decoding clears the tile it looks at
        use_cv2 = bits == 16 and im.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
        if not use_cv2:
            # Decode before getexif(): for PNG that decodes too, and a second load() after
            # a failed one would silently return blank pixels.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im.load()
        exif_obj = _exif_of(im, fmt)
        orientation = int(exif_obj.get(_ORIENTATION, 1) or 1) if exif_obj is not None else 1
        exif = _exif_bytes(exif_obj)
        icc = im.info.get("icc_profile") or None
        if use_cv2:
            pixels, alpha = _decode_cv2(path)
        else:
            pixels, alpha, icc = _pil_to_float(im, icc)
    if icc is not None and _icc_colour_space(icc) != b"RGB ":
        icc = None  # a grey/CMYK profile would mis-describe the RGB pixels we return
    pixels, alpha = _apply_orientation(pixels, alpha, orientation)
    return ImageData(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        bit_depth=bits,
        exif=exif,
        icc_profile=icc,
        source=path,
        format=fmt,
        chroma_subsampled=subsampled,
    )


#: Pillow's code for a JPEG's 4:2:0 chroma subsampling (``JpegImagePlugin.get_sampling``).
_SAMPLING_420 = 2


def _colour_at_half_resolution(im: Image.Image, fmt: str | None, path: Path) -> bool:
    """Whether the file kept the colour at half resolution both ways (4:2:0): a JPEG as
    Pillow reads its header, a lossy WebP (VP8 stores YUV 4:2:0 only; lossless VP8L keeps
    RGB), an AVIF by its AV1 configuration, a HEIC / HEIF as pillow-heif reports it
    (phones write 4:2:0)."""
    if fmt == "JPEG":
        try:
            from PIL import JpegImagePlugin

            return int(JpegImagePlugin.get_sampling(im)) == _SAMPLING_420
        except Exception:  # a header Pillow did not keep: assume full colour
            return False
    if fmt == "WEBP":
        return webp_is_lossy(path)
    if fmt == "AVIF":
        return avif_is_420(path)
    return im.info.get("chroma") == 420


def avif_is_420(path: Path, head: int = 1 << 16) -> bool:
    """Whether an AVIF file's AV1 image is colour at 4:2:0, read off its ``av1C`` box
    (AV1 codec configuration, in the metadata at the file's start: the third byte's
    monochrome, subsampling-x and subsampling-y bits); Pillow does not say. A file whose
    first ``head`` bytes hold no such box counts as full colour (the safe side)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(head)
    except OSError:
        return False
    at = data.find(b"av1C")
    config = data[at + 4:at + 8] if at >= 0 else b""
    if len(config) < 4 or not config[0] & 0x80:  # the box's marker bit
        return False
    mono, sub_x, sub_y = (config[2] >> 4) & 1, (config[2] >> 3) & 1, (config[2] >> 2) & 1
    return bool(sub_x and sub_y and not mono)


def webp_is_lossy(path: Path) -> bool:
    """Whether a WebP file's image is lossy (a ``VP8 `` chunk) rather than lossless
    (``VP8L``), read off its RIFF chunks: Pillow does not say. An extended file
    (``VP8X``) lists its other chunks (ICC, alpha, EXIF) first; a file this cannot read
    counts as lossless (full colour: the safe side, the colour is then solved in full)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                return False
            for _ in range(16):  # the image chunk comes within the first few
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return False
                fourcc, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if fourcc in (b"VP8 ", b"VP8L"):
                    return fourcc == b"VP8 "
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return False
    return False


@contextlib.contextmanager
def _open_pil(path: Path, max_pixels: int):
    """Open lazily (header only), with Pillow's own bomb limit lifted to ours."""
    name = str(path)
    with _pil_limit_lock:
        previous = Image.MAX_IMAGE_PIXELS
        if previous is not None and previous < max_pixels:
            Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im = Image.open(path)
        except UnidentifiedImageError as exc:
            raise _Unidentified(
                f"{name}: not an image file in a supported format "
                f"({READABLE_LABELS})") from exc
        except Image.DecompressionBombError as exc:
            raise ImageReadError(f"{name}: image is too large ({exc})") from exc
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    try:
        _refuse_frames(im, name)
        yield im
    finally:
        im.close()


class _Unidentified(ImageReadError):
    """Pillow does not know the file (a float TIFF gets a second chance with OpenCV)."""


def _refuse_frames(im: Image.Image, name: str) -> None:
    """Raise when the file holds more than one full-size picture (see module docstring)."""
    n_frames = int(getattr(im, "n_frames", 1) or 1)
    if n_frames <= 1 or im.format == "MPO":
        if n_frames > 1:
            im.seek(0)
        return
    frames = n_frames
    if im.format == "TIFF":
        frames = 0
        for index in range(n_frames):
            im.seek(index)
            subfile = int(getattr(im, "tag_v2", {}).get(254, 0) or 0)
            frames += not subfile & 1  # bit 0: reduced-resolution version of another page
        im.seek(0)
    if frames > 1:
        kind = {"GIF": "animated GIF", "TIFF": "multi-page TIFF", "PNG": "animated PNG",
                "WEBP": "animated WebP"}.get(str(im.format), f"{im.format} file")
        raise ImageReadError(
            f"{name}: {kind} with {frames} frames; GLOW restores one still photo per file "
            f"and will not silently drop {frames - 1} of them. Save the frame(s) you want "
            "as separate still images (PNG or TIFF) and restore those.")
    im.seek(0)


def _is_tiff(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _read_tiff_cv2(path: Path, max_pixels: int) -> ImageData:
    """TIFFs Pillow cannot decode (32-bit float RGB): OpenCV, with an exact refusal."""
    import cv2

    name = str(path)
    arr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"{name}: TIFF with a pixel layout GLOW cannot read (neither "
                             "Pillow nor OpenCV decode it); save it as an 8- or 16-bit "
                             "RGB TIFF")
    height, width = arr.shape[:2]
    if width * height > max_pixels:
        raise ImageReadError(f"{name}: image is {width} x {height}, above the limit of "
                             f"{max_pixels / 1e6:.0f} MP")
    if arr.dtype.kind == "f":
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if not np.isfinite(arr).all() or lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ImageReadError(
                f"{name}: 32-bit floating-point TIFF with values from {lo:.3g} to {hi:.3g} "
                "(HDR or linear data); GLOW restores display images with values 0..1. "
                "Export it as a 16-bit TIFF (tone-mapped) and restore that.")
    pixels, alpha = _decode_cv2(path, arr)
    return ImageData(pixels=np.ascontiguousarray(pixels, dtype=np.float32),
                     alpha=None if alpha is None else np.ascontiguousarray(alpha, np.float32),
                     bit_depth=16, source=path, format="TIFF")


def _exif_of(im: Image.Image, fmt: str | None) -> Image.Exif | None:
    try:
        exif = im.getexif()
    except Exception:  # broken EXIF must not make a good photo unreadable
        return None
    if fmt == "TIFF":
        # Pull the sub-IFDs in before dropping tags, then keep only descriptive tags.
        for tag in list(exif):
            if tag in _TIFF_STRUCTURE_TAGS:
                del exif[tag]
    return exif if len(exif) else None


def _exif_bytes(exif: Image.Exif | None) -> bytes | None:
    """Serialise with orientation reset to 1 (the pixels are upright now)."""
    if exif is None:
        return None
    try:
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # unserialisable EXIF is dropped, not fatal
        return None


def _source_bits(im: Image.Image, fmt: str | None) -> int:
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        return 16
    if fmt == "PNG":
        tile = im.tile[0] if im.tile else None
        args = tile.args if tile is not None else None
        raw = args[0] if isinstance(args, tuple) else args
        return 16 if isinstance(raw, str) and ";16" in raw else 8
    if fmt == "TIFF":
        tags = getattr(im, "tag_v2", {})
        bps = tags.get(258, 8)
        bps = bps if isinstance(bps, tuple) else (bps,)
        return 16 if max(int(b) for b in bps) > 8 else 8
    return 8


def _decode_cv2(path: Path, arr: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    if arr is None:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile: non-ASCII paths work on Windows
        arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"{path}: 16-bit image could not be decoded (corrupt or truncated)")
    scale = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0
    arr = arr.astype(np.float32) / scale
    alpha = None
    if arr.ndim == 2:
        rgb = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 1:
        rgb = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 2:
        rgb, alpha = np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1]
    else:
        rgb = arr[:, :, 2::-1]  # BGR(A) -> RGB
        if arr.shape[2] >= 4:
            alpha = arr[:, :, 3]
    return np.clip(rgb, 0.0, 1.0), alpha


def _pil_to_float(im: Image.Image, icc: bytes | None
                  ) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    mode = im.mode
    alpha = None
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im).astype(np.float32) / 65535.0
        return np.repeat(np.clip(arr, 0, 1)[:, :, None], 3, axis=2), None, icc
    if mode == "F":
        arr = np.asarray(im).astype(np.float32)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if not np.isfinite(arr).all() or lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ImageReadError(
                f"{im.filename}: 32-bit floating-point image with values from {lo:.3g} to "
                f"{hi:.3g} (HDR or linear data); GLOW restores display images with values "
                "0..1. Export it as a 16-bit TIFF (tone-mapped) and restore that.")
        return np.repeat(np.clip(arr, 0, 1)[:, :, None], 3, axis=2), None, icc
    if mode == "CMYK" and icc is not None and _icc_colour_space(icc) == b"CMYK":
        # A CMYK profile says how the inks look: convert through it to sRGB instead of
        # Pillow's naive formula, and describe the result as sRGB.
        try:
            srgb = ImageCms.createProfile("sRGB")
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = ImageCms.profileToProfile(im, src, srgb, outputMode="RGB")
            icc = ImageCms.ImageCmsProfile(srgb).tobytes()
            mode = "RGB"
        except (ImageCms.PyCMSError, OSError):
            icc = None
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info) or (
        mode in ("L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        return rgba[:, :, :3], rgba[:, :, 3], icc
    rgb = np.asarray(im if mode == "RGB" else im.convert("RGB"), dtype=np.float32) / 255.0
    return rgb, alpha, icc


def _icc_colour_space(icc: bytes) -> bytes:
    return bytes(icc[16:20]) if len(icc) >= 20 else b""


def _apply_orientation(pixels: np.ndarray, alpha: np.ndarray | None, orientation: int
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """Make the pixels upright for EXIF orientation 1..8 (same result as exif_transpose)."""

    def turn(a: np.ndarray) -> np.ndarray:
        if orientation == 2:
            return a[:, ::-1]
        if orientation == 3:
            return a[::-1, ::-1]
        if orientation == 4:
            return a[::-1]
        if orientation == 5:
            return np.swapaxes(a, 0, 1)
        if orientation == 6:
            return np.rot90(a, k=-1)
        if orientation == 7:
            return np.swapaxes(a[::-1, ::-1], 0, 1)
        if orientation == 8:
            return np.rot90(a, k=1)
        return a

    return turn(pixels), None if alpha is None else turn(alpha)


# --------------------------------------------------------------------------- writing


#: EXIF tag that carries the caption in force (ImageDescription, read by most viewers).
CAPTION_TAG = 0x010E
_CAPTION_PREFIX = "glow caption: "
_XP_COMMENT = 0x9C9C  # Windows XPComment: UTF-16, keeps non-ASCII captions intact


def with_caption(image: ImageData, caption: str) -> ImageData:
    """``image`` whose EXIF records the caption the restoration ran with.

    Stored as EXIF ImageDescription ``"glow caption: <caption>"`` (an empty caption is
    recorded too: it means "decided from the image"). Formats that carry EXIF (JPEG, PNG,
    TIFF, WebP) keep it; the rest of the source's EXIF is preserved.
    """
    exif = Image.Exif()
    if image.exif:
        try:
            exif.load(image.exif)
        except Exception:  # unreadable EXIF: start afresh rather than lose the caption
            exif = Image.Exif()
    text = " ".join(str(caption or "").split())
    exif[CAPTION_TAG] = _CAPTION_PREFIX + text  # ASCII field: non-ASCII becomes "?"
    exif[_XP_COMMENT] = (_CAPTION_PREFIX + text).encode("utf-16-le") + b"\x00\x00"  # UTF-16
    return dataclasses.replace(image, exif=exif.tobytes())


def caption_of(image: ImageData) -> str | None:
    """The caption recorded by :func:`with_caption`, or None when there is none."""
    if not image.exif:
        return None
    exif = Image.Exif()
    try:
        exif.load(image.exif)
    except Exception:
        return None
    value = exif.get(_XP_COMMENT) or exif.get(CAPTION_TAG)
    if isinstance(value, (bytes, tuple)) and value is exif.get(_XP_COMMENT):
        value = bytes(value).decode("utf-16-le", "replace").rstrip("\x00")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or not value.startswith(_CAPTION_PREFIX):
        return None
    return value[len(_CAPTION_PREFIX):].rstrip("\x00")


def write_image(
    path: str | os.PathLike[str],
    image: ImageData,
    *,
    format: str | None = None,  # name fixed by the contract
    bit_depth: int | None = None,
    quality: int = 95,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> Path:
    """Write ``image`` atomically to ``path`` and return the path.

    ``format`` defaults to the file extension, then to the source format, then PNG.
    A transparent image written to a format without alpha (JPEG) is flattened onto
    ``background`` (RGB in [0, 1], white by default).
    Raises ``ValueError`` for bad arguments (wrong shapes, 16-bit JPEG, extension that
    contradicts ``format``) and :class:`ImageWriteError` when the target is the source
    file or the file system refuses; in every failure no file is left at ``path``.
    """
    path = Path(path)
    fmt = _resolve_format(path, format, image.format)
    depth = _resolve_bit_depth(fmt, bit_depth, image.bit_depth)
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    pixels = np.asarray(image.pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be H x W x 3, got shape {pixels.shape}")
    alpha = None if image.alpha is None else np.asarray(image.alpha)
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} does not match pixels {pixels.shape[:2]}")
    spec = FORMATS[fmt]
    if not spec.alpha and alpha is not None:
        a = np.clip(np.nan_to_num(alpha.astype(np.float32)), 0.0, 1.0)[:, :, None]
        bg = np.asarray(background, dtype=np.float32).reshape(1, 1, 3)
        pixels = pixels.astype(np.float32) * a + bg * (1.0 - a)
        alpha = None
    if image.source is not None and _same_file(path, Path(image.source)):
        raise ImageWriteError(f"{path}: refusing to overwrite the source photo")
    if not path.parent.is_dir():
        raise ImageWriteError(f"{path}: folder {path.parent} does not exist")

    exif = image.exif if spec.metadata else None
    icc = image.icc_profile if spec.metadata else None
    if fmt in heif.FORMAT_NAMES:
        data = heif.encode(fmt, pixels, alpha, exif, icc, int(quality))
    elif depth == 16:
        data = _encode16(fmt, pixels, alpha, exif, icc)
    else:
        data = _encode8(fmt, pixels, alpha, exif, icc, int(quality))
    _atomic_write(path, data)
    return path


def _resolve_format(path: Path, requested: str | None, source: str | None) -> str:
    by_suffix = format_for_path(path)
    if requested is not None:
        fmt = normalize_format(requested)
        if fmt is None:
            raise ValueError(f"unsupported output format {requested!r}; "
                             "choose png, jpg, tif, webp or bmp")
        if by_suffix is not None and by_suffix != fmt:
            raise ValueError(f"{path}: extension {path.suffix!r} does not match format {fmt}")
        return fmt
    if by_suffix is not None:
        return by_suffix
    if source in FORMATS:
        return str(source)
    return DEFAULT_FORMAT


def _resolve_bit_depth(fmt: str, requested: int | None, source: int) -> int:
    if requested is None:
        return 16 if source == 16 and FORMATS[fmt].sixteen_bit else 8
    if requested not in (8, 16):
        raise ValueError(f"bit depth must be 8 or 16, got {requested}")
    if requested == 16 and not FORMATS[fmt].sixteen_bit:
        raise ValueError(f"{fmt} holds 8 bits per channel only; use PNG or TIFF for 16-bit")
    return requested


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _quantize(x: np.ndarray, depth: int) -> np.ndarray:
    top = 65535.0 if depth == 16 else 255.0
    out = np.rint(np.clip(np.nan_to_num(x.astype(np.float32), nan=0.0), 0.0, 1.0) * top)
    return out.astype(np.uint16 if depth == 16 else np.uint8)


def _encode8(fmt: str, pixels: np.ndarray, alpha: np.ndarray | None, exif: bytes | None,
             icc: bytes | None, quality: int) -> bytes:
    rgb = _quantize(pixels, 8)
    if fmt == "TIFF":
        # Own writer: Pillow's libtiff path rejects EXIF sub-IFDs (DateTimeOriginal...).
        channels = [rgb] if alpha is None else [rgb, _quantize(alpha, 8)[:, :, None]]
        return _tiff(np.ascontiguousarray(np.concatenate(channels, axis=2)), exif, icc)
    if alpha is not None:
        im = Image.fromarray(np.dstack([rgb, _quantize(alpha, 8)]), "RGBA")
    else:
        im = Image.fromarray(rgb, "RGB")
    kwargs: dict[str, object] = {}
    if exif:
        kwargs["exif"] = exif
    if icc:
        kwargs["icc_profile"] = icc
    if fmt == "JPEG":
        # Restored detail is the point of the tool: no chroma subsampling at high quality.
        kwargs.update(quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
    elif fmt == "WEBP":
        kwargs.update(quality=quality, method=4)
    elif fmt == "PNG":
        kwargs.update(compress_level=6)
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt, **kwargs)
    except (OSError, ValueError) as exc:
        raise ImageWriteError(f"{fmt} encoder failed: {exc}") from exc
    return buf.getvalue()


def _encode16(fmt: str, pixels: np.ndarray, alpha: np.ndarray | None, exif: bytes | None,
              icc: bytes | None) -> bytes:
    rgb = _quantize(pixels, 16)
    channels = [rgb] if alpha is None else [rgb, _quantize(alpha, 16)[:, :, None]]
    arr = np.ascontiguousarray(np.concatenate(channels, axis=2))
    if fmt == "PNG":
        import cv2

        bgr = arr[:, :, [2, 1, 0, 3]] if arr.shape[2] == 4 else arr[:, :, ::-1]
        ok, enc = cv2.imencode(".png", np.ascontiguousarray(bgr))
        if not ok:
            raise ImageWriteError("16-bit PNG encoder failed")
        return _png_with_metadata(enc.tobytes(), exif, icc)
    return _tiff(arr, exif, icc)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_with_metadata(png: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """Insert iCCP / eXIf chunks right after IHDR (both must precede IDAT)."""
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        raw = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        extra += _png_chunk(b"eXIf", raw)
    ihdr_end = 8 + 8 + 13 + 4  # signature + (length, type) + IHDR payload + CRC
    return png[:ihdr_end] + extra + png[ihdr_end:]


def _tiff(arr: np.ndarray, exif: bytes | None, icc: bytes | None) -> bytes:
    """A baseline 8- or 16-bit RGB(A) TIFF: pixels in one deflate strip, EXIF/ICC in IFD0.

    The IFD is built by Pillow's own EXIF serialiser (it handles the EXIF/GPS sub-IFDs),
    extended with the image-structure tags; the strip follows the IFD and its data.
    """
    tags = Image.Exif()
    if exif:
        with contextlib.suppress(Exception):
            tags.load(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
            for tag in (34665, 34853):  # resolve sub-IFDs before we change IFD0
                if tag in tags:
                    tags.get_ifd(tag)
        for tag in list(tags):
            if tag in _TIFF_STRUCTURE_TAGS:
                del tags[tag]
    height, width, channels = arr.shape
    tags[256] = width
    tags[257] = height
    bits = 16 if arr.dtype == np.uint16 else 8
    tags[258] = (bits,) * channels
    tags[259] = 8  # Adobe deflate
    tags[262] = 2  # RGB
    tags[277] = channels
    tags[278] = height
    tags[284] = 1
    tags[317] = 2  # horizontal differencing predictor
    if channels == 4:
        tags[338] = (2,)  # unassociated alpha
    if icc:
        tags[34675] = icc
    diff = arr.copy()
    diff[:, 1:] = arr[:, 1:] - arr[:, :-1]  # unsigned arithmetic wraps as the predictor wants
    little = tags.tobytes()[6:8] == b"II"
    if bits == 16:
        diff = diff.astype("<u2" if little else ">u2")
    strip = zlib.compress(diff.tobytes(), 6)
    # Pillow's IFD writer stores StripOffsets relative to the end of the IFD's own data,
    # so 0 means "right after the directory", which is where the strip goes.
    tags[273] = 0
    tags[279] = len(strip)
    head = tags.tobytes()[6:]
    return head + b"\x00" * (len(head) & 1) + strip


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ImageWriteError(f"{path}: could not write ({exc.strerror or exc})") from exc
