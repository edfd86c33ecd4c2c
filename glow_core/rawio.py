"""Camera RAW input through ``rawpy`` (LibRaw): CR2/CR3, NEF, ARW, RAF, ORF, RW2, DNG...

Development is deliberately neutral, because deblurring is physics and works best on
light as the sensor saw it: LibRaw demosaics with the camera's as-shot white balance into
16-bit **linear** values (gamma 1, no auto-brightening, no tone curve), in the primaries of
the colour space the user chose (sRGB or Adobe RGB, LibRaw's own camera-to-output
matrices), upright (the RAW's orientation applied).

The engine takes sRGB-encoded floats, so the linear values are encoded with the chosen
space's transfer curve (sRGB's piecewise curve; Adobe RGB's gamma 563/256) and that is
what the engine restores and what is written back: a 16-bit TIFF (or PNG/JPEG) carrying
the matching ICC profile. sRGB's profile is LittleCMS's built-in one; the Adobe RGB (1998)
profile is built here (matrix/TRC, D50-adapted primaries, gamma 563/256).

The capture metadata (camera make/model, lens, exposure time, f-number, ISO, focal
length, dates, artist/copyright) is read from the RAW's TIFF/EXIF directories (TIFF-based
RAWs: DNG, CR2, NEF, ARW, PEF, ORF, RW2...), else from its embedded JPEG preview
(CR3, RAF), and written to the output's EXIF with orientation 1 (the pixels are upright).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
from pathlib import Path

import numpy as np

from glow_core.errors import ImageReadError
from glow_core.formats import RAW_EXTENSIONS

__all__ = [
    "RAW_EXTENSIONS",
    "adobe_rgb_profile",
    "available",
    "current_colour_space",
    "decode_transfer",
    "encode_transfer",
    "profile_for",
    "read_raw",
    "set_colour_space",
]


COLOUR_SPACES = ("srgb", "adobe-rgb")
_ADOBE_GAMMA = 563.0 / 256.0

_default_space = "srgb"


def available() -> bool:
    """True when rawpy (LibRaw) is installed."""
    try:
        import rawpy  # noqa: F401
    except ImportError:
        return False
    return True


def set_colour_space(space: str) -> None:
    """The colour space RAW photos are developed into when no other is asked for."""
    global _default_space
    if space not in COLOUR_SPACES:
        raise ValueError(f"colour space must be one of {COLOUR_SPACES}, got {space!r}")
    _default_space = space


def current_colour_space() -> str:
    """The colour space set by :func:`set_colour_space` (``"srgb"`` unless changed)."""
    return _default_space


# ------------------------------------------------------------------ colour encoding


def encode_transfer(linear: np.ndarray, space: str = "srgb") -> np.ndarray:
    """Linear light in [0, 1] -> the space's encoded values (sRGB curve or gamma 2.2)."""
    x = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    if space == "adobe-rgb":
        out = x ** (1.0 / _ADOBE_GAMMA)
    else:
        out = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    return out.astype(np.float32)


def decode_transfer(encoded: np.ndarray, space: str = "srgb") -> np.ndarray:
    """Inverse of :func:`encode_transfer`."""
    x = np.clip(np.asarray(encoded, dtype=np.float64), 0.0, 1.0)
    if space == "adobe-rgb":
        out = x ** _ADOBE_GAMMA
    else:
        out = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return out.astype(np.float32)


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _desc_tag(text: str) -> bytes:
    raw = text.encode("ascii") + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(raw)) + raw
            + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)


def adobe_rgb_profile() -> bytes:
    """An ICC v2 display profile for Adobe RGB (1998): D50-adapted primaries, gamma 563/256."""
    curve = b"curv\0\0\0\0" + struct.pack(">I", 1) + struct.pack(">H", 563) + b"\0\0"
    tags = [
        (b"desc", _desc_tag("Adobe RGB (1998) compatible (GLOW Deblur Studio)")),
        (b"cprt", _text_tag("No copyright, use freely")),
        (b"wtpt", _xyz_tag(0.96420, 1.0, 0.82491)),
        (b"rXYZ", _xyz_tag(0.60974, 0.31111, 0.01947)),
        (b"gXYZ", _xyz_tag(0.20528, 0.62567, 0.06087)),
        (b"bXYZ", _xyz_tag(0.14919, 0.06322, 0.74457)),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, payload in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(payload))
        data += payload
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntr"
              + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 4 + b"\0" * 4
              + b"\0" * 8 + b"\0" * 8 + b"\0" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.82491)
              + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128, len(header)
    return header + body


@functools.cache
def profile_for(space: str) -> bytes:
    """ICC profile bytes of ``"srgb"`` or ``"adobe-rgb"`` (made once: they carry a date)."""
    if space == "adobe-rgb":
        return adobe_rgb_profile()
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ------------------------------------------------------------------ reading


def read_raw(path: str | os.PathLike[str], *, colour_space: str | None = None,
             max_pixels: int | None = None):
    """Develop a RAW file into an :class:`~glow_core.imageio.ImageData` (16-bit, upright).

    Raises :class:`ImageReadError` naming the file when rawpy is missing or LibRaw cannot
    read it.
    """
    from glow_core.imageio import ImageData

    path = Path(path)
    space = colour_space or _default_space
    if space not in COLOUR_SPACES:
        raise ValueError(f"colour space must be one of {COLOUR_SPACES}, got {space!r}")
    try:
        import rawpy
    except ImportError as exc:
        raise ImageReadError(f"{path}: camera RAW needs the rawpy package (LibRaw); install "
                             "it with 'pip install rawpy'") from exc
    try:
        with rawpy.imread(str(path)) as raw:
            h, w = raw.sizes.height, raw.sizes.width
            if max_pixels is not None and h * w > max_pixels:
                raise ImageReadError(f"{path}: RAW is {w} x {h}, above the limit of "
                                     f"{max_pixels / 1e6:.0f} MP")
            out_color = rawpy.ColorSpace.Adobe if space == "adobe-rgb" else rawpy.ColorSpace.sRGB
            rgb = raw.postprocess(use_camera_wb=True, use_auto_wb=False, gamma=(1, 1),
                                  no_auto_bright=True, output_bps=16, output_color=out_color,
                                  user_flip=None)
    except ImageReadError:
        raise
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        kind = type(exc).__name__
        raise ImageReadError(f"{path}: LibRaw cannot read this RAW file ({kind}: {exc}); it "
                             "may be corrupt or from a camera this LibRaw does not know") from exc
    linear = rgb.astype(np.float32) / 65535.0
    return ImageData(
        pixels=np.ascontiguousarray(encode_transfer(linear, space)),
        alpha=None,
        bit_depth=16,
        exif=capture_exif(path),
        icc_profile=profile_for(space),
        source=path,
        format="TIFF",  # what a developed RAW is written back as by default
    )


# ------------------------------------------------------------------ metadata

_IFD0_KEEP = (0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)  # make, model, sw, date...
_EXIF_KEEP = (
    0x829A, 0x829D, 0x8822, 0x8827, 0x8830, 0x8832, 0x9003, 0x9004, 0x9010, 0x9011,
    0x9201, 0x9202, 0x9204, 0x9205, 0x9207, 0x9209, 0x920A, 0xA405, 0xA431, 0xA432,
    0xA433, 0xA434, 0xA435,
)
_EXIF_IFD = 0x8769


def _tiff_exif(data: bytes):
    from PIL import Image

    if data[:2] not in (b"II", b"MM"):
        return None
    if data[2:4] not in (b"*\0", b"\0*", b"RO", b"U\0"):  # TIFF, ORF, RW2 headers
        return None
    exif = Image.Exif()
    fixed = data[:2] + (b"*\0" if data[:2] == b"II" else b"\0*") + data[4:]
    try:
        exif.load(fixed)
    except Exception:
        return None
    return exif


def _thumb_exif(path: Path):
    from PIL import Image

    try:
        import rawpy

        with rawpy.imread(str(path)) as raw:
            thumb = raw.extract_thumb()
        if thumb.format != rawpy.ThumbFormat.JPEG:
            return None
        with Image.open(io.BytesIO(thumb.data)) as im:
            return im.getexif()
    except Exception:
        return None


def capture_exif(path: str | os.PathLike[str]) -> bytes | None:
    """EXIF bytes with the RAW's capture metadata and orientation 1 (``None`` if none)."""
    from PIL import Image

    path = Path(path)
    source = None
    with contextlib.suppress(OSError):
        source = _tiff_exif(path.read_bytes())
    if source is None or 0x010F not in source:
        source = _thumb_exif(path) or source
    if source is None:
        return None
    out = Image.Exif()
    sub: dict[int, object] = {}
    with contextlib.suppress(Exception):
        sub = dict(source.get_ifd(_EXIF_IFD))
    for tag in _IFD0_KEEP:
        if tag in source:
            out[tag] = source[tag]
    exif_ifd = out.get_ifd(_EXIF_IFD)
    for tag in _EXIF_KEEP:
        value = sub.get(tag, source.get(tag))  # DNG may keep EXIF tags in IFD0
        if value is not None:
            exif_ifd[tag] = value
    out[0x0112] = 1
    try:
        return out.tobytes()
    except Exception:
        return None
