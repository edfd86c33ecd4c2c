"""HEIC/HEIF (through ``pillow-heif``) and AVIF (Pillow's own plugin) in and out.

Reading goes through :mod:`glow_core.imageio`'s ordinary Pillow path once the HEIF opener
is registered, so EXIF, the ICC profile and orientation are handled exactly as for JPEG:
libheif applies the HEIF transforms (``irot``/``imir``) and pillow-heif resets the EXIF
orientation to 1; an AVIF's EXIF orientation is applied by the reader. Either way the
pixels come out upright and are written back upright with orientation 1.

Writing encodes 8 bits per channel with the chosen quality, the EXIF and the ICC profile.
A HEIC whose image uses a codec this installation cannot decode (libheif here decodes
HEVC; AV1-in-HEIF, VVC or JPEG-in-HEIF builds differ) gets an error naming the file and
the decoders available, instead of "not an image".
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np

from glow_core.errors import ImageReadError, ImageWriteError

__all__ = ["FORMAT_NAMES", "HEIF_EXTENSIONS", "available", "encode", "read", "register"]

HEIF_EXTENSIONS: tuple[str, ...] = (".heic", ".heif", ".hif", ".avif")
FORMAT_NAMES = ("HEIF", "AVIF")

_lock = threading.Lock()
_registered = False


def available() -> bool:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True


def register() -> bool:
    """Register pillow-heif's opener with Pillow (once); False when it is not installed."""
    global _registered
    with _lock:
        if _registered:
            return True
        try:
            import pillow_heif
        except ImportError:
            return False
        pillow_heif.register_heif_opener()
        _registered = True
        return True


def _decoders() -> str:
    try:
        import pillow_heif

        return ", ".join(sorted(pillow_heif.libheif_info().get("decoders", {}))) or "none"
    except Exception:
        return "unknown"


def read(path: Path, reader):
    """``reader(path)`` (imageio's Pillow path) with the HEIF opener registered."""
    suffix = path.suffix.lower()
    if suffix != ".avif" and not register():
        raise ImageReadError(f"{path}: HEIC/HEIF needs the pillow-heif package; install it "
                             "with 'pip install pillow-heif'")
    try:
        return reader(path)
    except ImageReadError as exc:
        if suffix != ".avif" and _is_heif_container(path):
            raise ImageReadError(
                f"{path}: this HEIC/HEIF holds its image in a codec this installation cannot "
                f"decode (libheif decoders here: {_decoders()}); export it from the phone or "
                "Photos app as JPEG, or as HEIC with HEVC") from exc
        raise


def _is_heif_container(path: Path) -> bool:
    try:
        import pillow_heif

        return bool(pillow_heif.is_supported(str(path)))
    except Exception:
        return False


def encode(fmt: str, pixels: np.ndarray, alpha: np.ndarray | None, exif: bytes | None,
           icc: bytes | None, quality: int) -> bytes:
    """8-bit HEIC (``fmt="HEIF"``) or AVIF bytes with EXIF and ICC profile."""
    from PIL import Image

    if fmt == "HEIF" and not register():
        raise ImageWriteError("writing HEIC needs the pillow-heif package; install it with "
                              "'pip install pillow-heif'")
    rgb = np.rint(np.clip(np.nan_to_num(pixels), 0, 1) * 255).astype(np.uint8)
    if alpha is not None:
        a = np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)
        im = Image.fromarray(np.dstack([rgb, a]), "RGBA")
    else:
        im = Image.fromarray(rgb, "RGB")
    kwargs: dict[str, object] = {"quality": int(quality)}
    if exif:
        kwargs["exif"] = exif
    if icc:
        kwargs["icc_profile"] = icc
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ImageWriteError(f"{fmt} encoder failed: {exc}") from exc
    return buf.getvalue()
