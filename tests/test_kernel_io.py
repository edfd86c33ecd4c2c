"""Kernel files: PNG (any bit depth) and .npy in, validated, and atomically out."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from glow_core.kernel.kernel_io import KernelFileError, load_kernel, save_kernel


def _png(path: Path, arr: np.ndarray, depth: int = 8, ctype: int = 0) -> None:
    """Minimal PNG writer for the tests (filter 0), independent of the module's writer."""
    h, w = arr.shape[:2]
    if depth == 16:
        rows = [arr[y].astype(">u2").tobytes() for y in range(h)]
    elif depth == 8:
        rows = [arr[y].astype(np.uint8).tobytes() for y in range(h)]
    else:  # packed greyscale
        rows = []
        for y in range(h):
            bits = np.unpackbits(arr[y].astype(np.uint8)[:, None], axis=1)[:, 8 - depth:]
            rows.append(np.packbits(bits.ravel()).tobytes())
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _kernel() -> np.ndarray:
    k = np.zeros((9, 9))
    k[4, 1:8] = np.linspace(1, 3, 7)
    k[3, 6] = 0.5
    return k


def test_npy_round_trip_normalised(tmp_path: Path) -> None:
    np.save(tmp_path / "k.npy", _kernel() * 7)
    k = load_kernel(tmp_path / "k.npy")
    assert k.dtype == np.float32 and abs(k.sum() - 1) < 1e-6
    assert np.allclose(k, _kernel() / _kernel().sum(), atol=1e-7)


@pytest.mark.parametrize("depth", [1, 2, 4, 8, 16])
def test_png_grey_any_depth(tmp_path: Path, depth: int) -> None:
    top = 2 ** depth - 1
    q = np.round(_kernel() / _kernel().max() * top)
    _png(tmp_path / "k.png", q, depth=depth)
    k = load_kernel(tmp_path / "k.png")
    assert np.allclose(k, q / q.sum(), atol=1e-6)


def test_png_rgb_is_averaged(tmp_path: Path) -> None:
    g = np.round(_kernel() / _kernel().max() * 255)
    rgb = np.stack([g, g * 0.5, g * 0.25], axis=2).round()
    _png(tmp_path / "k.png", rgb, depth=8, ctype=2)
    k = load_kernel(tmp_path / "k.png")
    assert np.allclose(k, rgb.mean(2) / rgb.mean(2).sum(), atol=1e-6)


def test_even_size_is_padded_to_odd(tmp_path: Path) -> None:
    np.save(tmp_path / "k.npy", np.ones((4, 6)))
    assert load_kernel(tmp_path / "k.npy").shape == (5, 7)


def test_save_png_16bit_and_npy_atomically(tmp_path: Path) -> None:
    k = _kernel() / _kernel().sum()
    written = save_kernel(tmp_path / "est", k)
    assert sorted(p.name for p in written) == ["est.npy", "est.png"]
    assert np.allclose(load_kernel(tmp_path / "est.npy"), k, atol=1e-7)
    # 16 bits: the faint tail survives (8-bit would round 0.5/3 of the peak coarser).
    assert np.allclose(load_kernel(tmp_path / "est.png"), k, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert save_kernel(tmp_path / "only.png", k) == [tmp_path / "only.png"]


@pytest.mark.parametrize("case, words", [
    ("text", "not an image or array"),
    ("nan", "NaN"),
    ("negative", "negative"),
    ("zero", "all zero"),
    ("big", "larger than the photo"),
    ("3d", "2-D"),
    ("missing", "cannot read"),
    ("broken_png", "broken PNG"),
])
def test_bad_files_have_clear_errors(tmp_path: Path, case: str, words: str) -> None:
    path = tmp_path / f"bad_{case}.npy"
    if case == "text":
        path.write_text("hello")
    elif case == "nan":
        k = _kernel()
        k[0, 0] = np.nan
        np.save(path, k)
    elif case == "negative":
        np.save(path, _kernel() - 0.1)
    elif case == "zero":
        np.save(path, np.zeros((5, 5)))
    elif case == "big":
        np.save(path, np.ones((41, 41)))
    elif case == "3d":
        np.save(path, np.ones((5, 5, 2)))
    elif case == "broken_png":
        path = tmp_path / "bad.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    elif case == "missing":
        path = tmp_path / "nope.png"
    with pytest.raises(KernelFileError) as err:
        load_kernel(path, max_size=(40, 60))
    assert str(path) in str(err.value)
    assert words in str(err.value)
    assert isinstance(err.value, ValueError)
