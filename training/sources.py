"""Sharp image sources: folders of photos, procedural dead-leaves images, and mixes.

Every source has ``sample(rng, size) -> float32 H x W x 3 in [0, 1]`` and is
deterministic given the rng (file lists are sorted, all randomness comes from ``rng``).
The standard split keeps ``sharp/kodak24`` for validation, never trained on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from glow_core import formats
from training.imread import decode_rgb

__all__ = [
    "DEFAULT_DATA_ROOT",
    "IMAGE_EXTENSIONS",
    "VALIDATION_FOLDERS",
    "DeadLeavesParams",
    "DeadLeavesSource",
    "MixedSource",
    "PhotoFolderSource",
    "SharpSource",
    "dead_leaves",
    "list_images",
    "training_folders",
    "training_source",
    "validation_files",
    "validation_folders",
]

DEFAULT_DATA_ROOT: Path = (Path(__file__).parents[1] / ".." / "shared" / "data").resolve()
#: The app's photo extensions plus PPM, which some research sets use (training only).
IMAGE_EXTENSIONS: tuple[str, ...] = (*formats.IMAGE_EXTENSIONS, ".ppm")
VALIDATION_FOLDERS: tuple[str, ...] = ("kodak24",)

Size = int | tuple[int, int]


def _hw(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


class SharpSource(Protocol):
    def sample(self, rng: np.random.Generator, size: Size) -> np.ndarray: ...


# ----------------------------------------------------------------------------- splits


def validation_folders(data_root: str | Path | None = None) -> list[Path]:
    """Held-out photo folders (``sharp/kodak24``)."""
    root = Path(data_root) if data_root is not None else DEFAULT_DATA_ROOT
    return [root / "sharp" / name for name in VALIDATION_FOLDERS]


def training_folders(data_root: str | Path | None = None) -> list[Path]:
    """Every folder under ``sharp/`` except the validation ones (sorted)."""
    root = Path(data_root) if data_root is not None else DEFAULT_DATA_ROOT
    sharp = root / "sharp"
    if not sharp.is_dir():
        raise FileNotFoundError(f"no sharp photo folder at {sharp}")
    return sorted(p for p in sharp.iterdir() if p.is_dir() and p.name not in VALIDATION_FOLDERS)


def validation_files(data_root: str | Path | None = None) -> list[Path]:
    return list_images(validation_folders(data_root))


def training_source(
    data_root: str | Path | None = None, cache_bytes: int | None = 2 << 30
) -> PhotoFolderSource:
    """Photos of the training split (validation folders excluded by construction)."""
    return PhotoFolderSource(
        training_folders(data_root), exclude=validation_folders(data_root), cache_bytes=cache_bytes
    )


# ----------------------------------------------------------------------------- photos


def list_images(roots: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Image files under ``roots`` (recursive, sorted), minus anything under ``exclude``."""
    excl = [Path(e).resolve() for e in exclude]
    out: set[Path] = set()
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else root.rglob("*")
        for f in files:
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                r = f.resolve()
                if not any(r == e or e in r.parents for e in excl):
                    out.add(f)
    return sorted(out)


def _read_rgb_u8(path: Path) -> np.ndarray:
    """Decode to uint8 RGB (greyscale and 16-bit handled), H x W x 3."""
    img = decode_rgb(path)
    if img.dtype == np.uint16:
        return (img / 257.0 + 0.5).astype(np.uint8)
    if img.dtype != np.uint8:
        return np.clip(img.astype(np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return img


@dataclass
class Augment:
    """Random crop augmentation of :class:`PhotoFolderSource`."""

    scale: tuple[float, float] = (0.5, 1.0)  # rescale factor (area interpolation)
    flips: bool = True  # flips and rot90
    brightness: float = 0.1  # multiplicative, +-
    contrast: float = 0.1
    saturation: float = 0.15


class PhotoFolderSource:
    """Random crops from the photos under some folders, decoded once and cached.

    Crops get a random rescale (area interpolation, so no aliasing enters the "sharp"
    target), flips/rot90 and a mild colour jitter. Images too small for the requested
    crop are skipped; if none fits, the crop is upscaled from the chosen image instead.
    """

    def __init__(
        self,
        roots: Sequence[str | Path] | str | Path,
        exclude: Iterable[str | Path] = (),
        cache_bytes: int | None = 1 << 30,
        augment: Augment | None = None,
    ):
        roots = [roots] if isinstance(roots, str | Path) else list(roots)
        self.files = list_images(roots, exclude)
        if not self.files:
            raise FileNotFoundError(f"no images under {roots}")
        self.cache_bytes = cache_bytes
        self.augment = augment or Augment()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cached_bytes = 0

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> np.ndarray:
        """The decoded uint8 RGB image ``index`` (LRU-cached up to ``cache_bytes``)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        img = _read_rgb_u8(self.files[index])
        if self.cache_bytes is None or img.nbytes <= self.cache_bytes:
            self._cache[index] = img
            self._cached_bytes += img.nbytes
            while self.cache_bytes is not None and self._cached_bytes > self.cache_bytes:
                _, old = self._cache.popitem(last=False)
                self._cached_bytes -= old.nbytes
        return img

    def sample(self, rng: np.random.Generator, size: Size) -> np.ndarray:
        return self.sample_item(rng, size)[0]

    def sample_item(self, rng: np.random.Generator, size: Size) -> tuple[np.ndarray, Path]:
        """A random crop and the photo it came from (so its caption can follow it)."""
        h, w = _hw(size)
        aug = self.augment
        img = None
        for _ in range(8):
            index = int(rng.integers(len(self.files)))
            cand = self.load(index)
            if cand.shape[0] >= h and cand.shape[1] >= w:
                img = cand
                break
        if img is None:  # nothing large enough: upscale the last candidate to fit
            s = max(h / cand.shape[0], w / cand.shape[1])
            img = cv2.resize(
                cand,
                (max(w, round(cand.shape[1] * s + 0.5)), max(h, round(cand.shape[0] * s + 0.5))),
                interpolation=cv2.INTER_LINEAR,
            )
        ih, iw = img.shape[:2]
        lo = max(aug.scale[0], h / ih, w / iw)
        s = float(rng.uniform(lo, max(lo, aug.scale[1])))
        ch, cw = min(ih, int(np.ceil(h / s))), min(iw, int(np.ceil(w / s)))
        y0 = int(rng.integers(0, ih - ch + 1))
        x0 = int(rng.integers(0, iw - cw + 1))
        crop = img[y0 : y0 + ch, x0 : x0 + cw]
        if (ch, cw) != (h, w):
            crop = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        out = crop.astype(np.float32) / 255.0
        if aug.flips:
            if rng.random() < 0.5:
                out = out[:, ::-1]
            if h == w:
                out = np.rot90(out, int(rng.integers(4)))
            elif rng.random() < 0.5:
                out = out[::-1, ::-1]
        return _jitter(np.ascontiguousarray(out), rng, aug), self.files[index]


def _jitter(img: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    """Mild brightness/contrast/saturation jitter (sharp targets stay plausible photos)."""
    b = 1.0 + rng.uniform(-aug.brightness, aug.brightness)
    c = 1.0 + rng.uniform(-aug.contrast, aug.contrast)
    s = 1.0 + rng.uniform(-aug.saturation, aug.saturation)
    grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = grey[..., None] + s * (img - grey[..., None])
    mean = float(grey.mean())
    img = (img - mean) * c + mean
    return np.clip(img * b, 0.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- dead leaves


@dataclass
class DeadLeavesParams:
    """Shape of the procedural images."""

    leaves: int = 400  # shapes drawn per 256 x 256 (scaled with area)
    radius: tuple[float, float] = (0.01, 0.25)  # min/max radius, fraction of the short side
    alpha: float = 3.0  # power law: p(r) ~ r**-alpha (scale invariance)
    texture_prob: float = 0.35  # stripes / noise / gradient inside a leaf
    rect_prob: float = 0.35
    glyphs: tuple[int, int] = (2, 10)  # text-like strokes drawn on top
    lines: tuple[int, int] = (2, 8)  # thin straight edges


def _power_law(rng: np.random.Generator, lo: float, hi: float, alpha: float, n: int) -> np.ndarray:
    a = 1.0 - alpha
    u = rng.random(n)
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _texture(rng: np.random.Generator, h: int, w: int, color: np.ndarray) -> np.ndarray:
    """A random texture patch (h x w x 3) around ``color``."""
    kind = int(rng.integers(3))
    other = rng.random(3).astype(np.float32)
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    u = xs * np.cos(a) + ys * np.sin(a)
    if kind == 0:  # stripes, sometimes hard-edged
        period = rng.uniform(2.0, 16.0)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * u / period)
        if rng.random() < 0.5:
            t = (t > 0.5).astype(np.float32)
    elif kind == 1:  # band-limited noise
        small = rng.random((max(2, h // int(rng.integers(1, 6))), max(2, w // 3))).astype(
            np.float32
        )
        t = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    else:  # gradient
        t = (u - u.min()) / max(float(np.ptp(u)), 1e-6)
    t = t[..., None]
    return (color * (1 - t) + other * t).astype(np.float32)


def dead_leaves(
    rng: np.random.Generator, size: Size, params: DeadLeavesParams | None = None
) -> np.ndarray:
    """A dead-leaves image: occluding discs/rectangles with power-law radii, textures,
    glyph strokes and sharp edges (statistics close to natural images, edges at every
    scale and orientation: exactly what a deblurrer must restore)."""
    p = params or DeadLeavesParams()
    h, w = _hw(size)
    short = min(h, w)
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.random(3)
    n = max(20, int(p.leaves * h * w / 65536))
    radii = _power_law(rng, max(1.0, p.radius[0] * short), p.radius[1] * short, p.alpha, n)
    radii = np.sort(radii)[::-1]
    # Draw the largest first, like leaves falling: small ones mostly stay visible on top.
    for r in radii:
        color = rng.random(3).astype(np.float32)
        cx, cy = float(rng.uniform(-r, w + r)), float(rng.uniform(-r, h + r))
        # Draw into the leaf's bounding box only: a full-frame mask per leaf is slow.
        x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
        y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        lx, ly = cx - x0, cy - y0
        if rng.random() < p.rect_prob:
            box = cv2.boxPoints(
                ((lx, ly), (2 * r, 2 * r * rng.uniform(0.3, 1.0)), float(rng.uniform(0, 180)))
            )
            cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
        else:
            cv2.circle(mask, (round(lx), round(ly)), max(1, round(r)), 1, -1)
        sub = mask.astype(bool)
        if not sub.any():
            continue
        if r > 4 and rng.random() < p.texture_prob:
            img[y0:y1, x0:x1][sub] = _texture(rng, y1 - y0, x1 - x0, color)[sub]
        else:
            img[y0:y1, x0:x1][sub] = color
    for _ in range(int(rng.integers(p.lines[0], p.lines[1] + 1))):
        pts = rng.uniform(0, 1, 4) * np.array([w, h, w, h])
        cv2.line(
            img,
            (int(pts[0]), int(pts[1])),
            (int(pts[2]), int(pts[3])),
            tuple(float(c) for c in rng.random(3)),
            int(rng.integers(1, 4)),
        )
    letters = "ABCDEFGHKMNPRSTWXYZ0123456789"
    for _ in range(int(rng.integers(p.glyphs[0], p.glyphs[1] + 1))):
        text = "".join(letters[int(i)] for i in rng.integers(0, len(letters), rng.integers(1, 6)))
        scale = float(rng.uniform(0.3, 1.5)) * short / 256
        org = (int(rng.integers(0, max(1, w - 20))), int(rng.integers(10, h)))
        # OpenCV draws text on 8-bit images only: draw a coverage mask, then composite.
        cover = np.zeros((h, w), np.uint8)
        cv2.putText(
            cover,
            text,
            org,
            int(rng.choice([0, 2, 3, 4])),
            scale,
            255,
            max(1, int(rng.integers(1, 3))),
            cv2.LINE_AA,
        )
        a = cover.astype(np.float32)[..., None] / 255.0
        img = img * (1.0 - a) + rng.random(3).astype(np.float32) * a
    return np.clip(img, 0.0, 1.0)


class DeadLeavesSource:
    """Procedural sharp images: no files, infinite variety, sharp edges everywhere."""

    def __init__(self, params: DeadLeavesParams | None = None):
        self.params = params or DeadLeavesParams()

    def sample(self, rng: np.random.Generator, size: Size) -> np.ndarray:
        return dead_leaves(rng, size, self.params)


class MixedSource:
    """Draw from several sources with given weights."""

    def __init__(self, sources: Sequence[tuple[SharpSource, float]]):
        if not sources:
            raise ValueError("no sources")
        self.sources = [s for s, _ in sources]
        p = np.array([w for _, w in sources], float)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        self.p = p / p.sum()

    def sample(self, rng: np.random.Generator, size: Size) -> np.ndarray:
        i = int(rng.choice(len(self.sources), p=self.p))
        return self.sources[i].sample(rng, size)
