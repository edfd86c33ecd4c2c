"""Blur kernels from and to files (PNG or ``.npy``), validated with messages naming the file.

Why a PNG codec here: the kernel package depends on torch/numpy/stdlib only, and kernel
PNGs are tiny greyscale images, so a small reader (``zlib`` + the five PNG row filters)
covers what users hand us: greyscale at 1, 2, 4, 8 or 16 bits, grey+alpha, RGB(A) at 8 or
16 bits (averaged to grey) and palette images. Interlaced PNGs and other formats go to
Pillow when it is installed (the app has it), otherwise they get a clear error.

Loaded kernels are normalised to sum 1 and padded to an odd size centred as in the file,
because the deconvolution's FFTs put the kernel's centre at its middle pixel. Saving
writes ``.npy`` (exact float32) and/or a 16-bit greyscale PNG with the peak scaled to the
full range (viewable, and 16 bits keep the faint tails of long shake kernels) atomically:
a temporary file in the same folder then ``os.replace``, so a crash never leaves half a
kernel behind.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from glow_core.fsutil import atomic_write_bytes

__all__ = ["KernelFileError", "load_kernel", "save_kernel", "validate_kernel"]

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_NPY_SIG = b"\x93NUMPY"


class KernelFileError(ValueError):
    """A kernel file that cannot be used, with a message that names the file."""


# ----------------------------------------------------------------------------- PNG codec


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the PNG row filters; returns height x stride uint8."""
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size < height * (stride + 1):
        raise ValueError("truncated image data")
    rows = data[: height * (stride + 1)].reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        ftype = int(rows[y, 0])
        line = rows[y, 1:].astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype in (1, 3, 4):
            # Left-dependent filters: sequential over pixels, vectorised over bytes.
            cur = np.zeros(stride, dtype=np.int32)
            for x0 in range(0, stride, bpp):
                sl = slice(x0, x0 + bpp)
                left = cur[x0 - bpp:x0] if x0 >= bpp else np.zeros(bpp, np.int32)
                up = prev[sl]
                if ftype == 1:
                    pred = left
                elif ftype == 3:
                    pred = (left + up) >> 1
                else:
                    ul = prev[x0 - bpp:x0] if x0 >= bpp else np.zeros(bpp, np.int32)
                    pred = _paeth(left, up, ul)
                cur[sl] = (line[sl] + pred) & 0xFF
        else:
            raise ValueError(f"unknown PNG row filter {ftype}")
        out[y] = cur
        prev = cur
    return out.astype(np.uint8)


def _read_png(data: bytes) -> np.ndarray:
    """Decode a non-interlaced PNG to a float64 grey array in [0, 1]."""
    pos = 8
    header = None
    idat = []
    palette = None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"PLTE":
            palette = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, ctype, _comp, _filt, interlace = header
    if interlace:
        raise NotImplementedError("interlaced PNG")
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if channels is None or depth not in (1, 2, 4, 8, 16):
        raise ValueError(f"unsupported PNG colour type {ctype} / bit depth {depth}")
    bits = channels * depth
    stride = (width * bits + 7) // 8
    raw = zlib.decompress(b"".join(idat))
    rows = _unfilter(raw, height, stride, max(1, bits // 8))
    if depth == 16:
        px = rows.reshape(height, -1).view(">u2").astype(np.float64)
        px = px.reshape(height, width, channels) / 65535.0
    elif depth == 8:
        px = rows.astype(np.float64).reshape(height, width, channels)
        if ctype != 3:
            px = px / 255.0
    else:
        bitsarr = np.unpackbits(rows, axis=1)[:, : width * depth]
        vals = bitsarr.reshape(height, width, depth) @ (1 << np.arange(depth - 1, -1, -1))
        px = vals.astype(np.float64)[:, :, None]
        if ctype != 3:
            px = px / (2 ** depth - 1)
    if ctype == 3:
        if palette is None:
            raise ValueError("palette image without PLTE chunk")
        idx = np.clip(px[:, :, 0].astype(np.int64), 0, len(palette) - 1)
        px = palette[idx].astype(np.float64) / 255.0
        channels = 3
    if channels in (2, 4):  # drop alpha
        px = px[:, :, :-1]
    return px.mean(axis=2)


def _write_png16(kernel: np.ndarray) -> bytes:
    """Encode a 2-D array in [0, 1] as a 16-bit greyscale PNG (filter 0 rows)."""
    h, w = kernel.shape
    q = np.round(np.clip(kernel, 0.0, 1.0) * 65535.0).astype(">u2")
    raw = b"".join(b"\x00" + q[y].tobytes() for y in range(h))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0)
    return (_PNG_SIG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def _read_with_pillow(path: Path) -> np.ndarray:
    try:
        from PIL import Image  # optional: only for formats the small codec does not read
    except ImportError as exc:
        raise KernelFileError(f"{path}: not a PNG image or .npy array this build can read"
                              ) from exc
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I"):
                a = np.asarray(im, dtype=np.float64)
                a = a / (65535.0 if a.max() > 255 else 255.0)
            else:
                a = np.asarray(im.convert("RGB"), dtype=np.float64).mean(axis=2) / 255.0
        return a
    except Exception as exc:  # Pillow raises many types for broken files
        raise KernelFileError(f"{path}: not an image or array ({exc})") from exc


# ----------------------------------------------------------------------------- API


def validate_kernel(kernel: np.ndarray, *, name: str = "kernel",
                    max_size: tuple[int, int] | int | None = None) -> np.ndarray:
    """Check a kernel array and return it normalised (sum 1), float32, odd-sized.

    ``max_size`` is the photo's (height, width) (or one side): a kernel larger than the
    photo cannot have blurred it. Raises :class:`KernelFileError` naming ``name``.
    """
    k = np.asarray(kernel)
    if k.dtype == object or not (np.issubdtype(k.dtype, np.number)
                                 or k.dtype == np.bool_):
        raise KernelFileError(f"{name}: not a numeric array (dtype {k.dtype})")
    if np.iscomplexobj(k):
        raise KernelFileError(f"{name}: complex values are not a blur kernel")
    k = np.squeeze(k.astype(np.float64))
    if k.ndim != 2:
        raise KernelFileError(f"{name}: a kernel must be 2-D, got shape {np.shape(kernel)}")
    if k.size == 0:
        raise KernelFileError(f"{name}: the kernel is empty")
    if not np.all(np.isfinite(k)):
        raise KernelFileError(f"{name}: the kernel contains NaN or infinite values")
    if k.min() < 0:
        raise KernelFileError(f"{name}: the kernel has negative values (min {k.min():.3g}); "
                              "a blur kernel is a non-negative weight map")
    total = k.sum()
    if total <= 0:
        raise KernelFileError(f"{name}: the kernel is all zero")
    if max_size is not None:
        mh, mw = (max_size, max_size) if isinstance(max_size, int) else max_size
        if k.shape[0] > mh or k.shape[1] > mw:
            raise KernelFileError(
                f"{name}: the kernel ({k.shape[1]}x{k.shape[0]}) is larger than the photo "
                f"({mw}x{mh})")
    k = k / total
    # Pad to odd size: the extra row/column goes after, which keeps pixel (i, j) of the
    # file at its place; the centre is then the middle pixel of the padded array.
    ph, pw = 1 - k.shape[0] % 2, 1 - k.shape[1] % 2
    if ph or pw:
        k = np.pad(k, ((0, ph), (0, pw)))
    return k.astype(np.float32)


def load_kernel(path: str | os.PathLike[str], *,
                max_size: tuple[int, int] | int | None = None) -> np.ndarray:
    """Read a blur kernel from PNG (any bit depth; colour averaged) or ``.npy``.

    Returns a float32 2-D array, non-negative, sum 1, odd-sized. Every failure is a
    :class:`KernelFileError` whose message starts with the path.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KernelFileError(f"{path}: cannot read the file ({exc.strerror or exc})"
                              ) from exc
    if data.startswith(_NPY_SIG):
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise KernelFileError(f"{path}: broken .npy array ({exc})") from exc
    elif data.startswith(_PNG_SIG):
        try:
            arr = _read_png(data)
        except NotImplementedError:
            arr = _read_with_pillow(path)
        except Exception as exc:
            raise KernelFileError(f"{path}: broken PNG image ({exc})") from exc
    elif path.suffix.lower() in (".npy", ".png"):
        raise KernelFileError(f"{path}: not an image or array (the content is not "
                              f"{path.suffix.lower()[1:].upper()})")
    else:
        arr = _read_with_pillow(path)
    return validate_kernel(arr, name=str(path), max_size=max_size)


def save_kernel(path: str | os.PathLike[str], kernel: np.ndarray,
                formats: tuple[str, ...] | None = None) -> list[Path]:
    """Write ``kernel`` atomically; returns the files written.

    ``formats`` picks from ("npy", "png"); by default the path's suffix decides, and a path
    without a known suffix gets both (``NAME.npy`` exact, ``NAME.png`` for viewing).
    The PNG is 16-bit greyscale with the kernel's peak at 65535.
    """
    path = Path(path)
    k = validate_kernel(kernel, name=str(path))
    suffix = path.suffix.lower()
    if formats is None:
        formats = (suffix[1:],) if suffix in (".npy", ".png") else ("npy", "png")
    base = path.with_suffix("") if suffix in (".npy", ".png") else path
    written = []
    for fmt in formats:
        if fmt == "npy":
            import io

            buf = io.BytesIO()
            np.save(buf, k)
            out = base.with_name(base.name + ".npy")
            atomic_write_bytes(out, buf.getvalue())
        elif fmt == "png":
            out = base.with_name(base.name + ".png")
            atomic_write_bytes(out, _write_png16(k / k.max()))
        else:
            raise ValueError(f"unknown kernel format {fmt!r}; use 'npy' or 'png'")
        written.append(out)
    return written
