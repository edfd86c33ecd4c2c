"""Paired real blur datasets: the folder layouts the public benchmarks ship, and a mixer.

Stage II of Blur Pattern Pretraining fine-tunes on *real* captured pairs mixed with
simulated data, and evaluation measures on real pairs; both read them through here.

Layouts (``layout="auto"`` detects which one ``root`` holds, in this order):

``gopro``
    ``root/{train,test}/<sequence>/{blur,blur_gamma,sharp}/NAME.png``. ``blur`` is the
    standard input (``blur_gamma`` was averaged in gamma-corrected values; choose it with
    ``gopro_blur="blur_gamma"``).
``hide``
    ``root/{train,test}/**/NAME.png`` blurry (the test split has ``test-close-ups`` and
    ``test-long-shot`` subfolders), ground truth ``root/GT/NAME.png`` by file name.
``realblur``
    list files ``root/RealBlur*_{train,test}_list.txt`` (the release names them
    ``RealBlur_J_train_list.txt`` etc.) whose lines are ``gt_path blur_path [...]``
    relative to ``root``; without list files, every ``sceneNNN/{gt,blur}/gt_K.png,
    blur_K.png`` under ``root`` (both splits, as the folders do not say which is which).
``rsblur``
    list files ``root/RSBlur_real_{train,val,test}.txt`` whose lines are
    ``sharp_path blur_path`` relative to ``root``; the release's own lists read
    ``RSBlur/0001/000022/gt/gt_sharp.png RSBlur/0001/000022/real_blur/real_blur.png``
    (checked against rimchang/RSBlur ``datalist/RSBlur``). Without list files, every
    ``<scene>/<seq>/{gt,GT}/*`` beside ``{real_blur,Blur,blur}/*`` two levels under
    ``root`` (or under ``root/RSBlur``), paired by sorted order, all splits.
``plain``
    ``root/blur/`` beside ``root/sharp/`` with matching file names (also the
    ``input``/``target`` and ``blur``/``gt`` spellings many repositories use), optionally
    per split: ``root/<split>/blur`` ... This is ``pairs/gopro_frameavg``'s layout.

Every pair is checked for matching size when read: a mismatch raises
:class:`PairedDataError` naming both files, since a silently resized or cropped target
would teach the network to shift images.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from glow_core import formats
from training.imread import decode_rgb

__all__ = [
    "GOPRO_FRAMEAVG_HELDOUT",
    "LAYOUTS",
    "MixedDataset",
    "Pair",
    "PairedDataError",
    "PairedFolderDataset",
    "center_crop_pair",
    "detect_layout",
    "find_pairs",
    "gopro_frameavg_split",
    "read_rgb",
]

Layout = Literal["auto", "gopro", "hide", "realblur", "rsblur", "plain"]
LAYOUTS: tuple[str, ...] = ("gopro", "hide", "realblur", "rsblur", "plain")
IMAGE_EXTENSIONS: tuple[str, ...] = tuple(formats.IMAGE_EXTENSIONS)

# Names (file stems) of the ``pairs/gopro_frameavg`` pairs kept out of training. One per
# recording and chosen to differ: strong camera pan over a bicycle and embroidered towels;
# a crowd outside a white building (mild blur; the only frame of its sub-clip); parked cars
# and tower blocks (medium); basketball players (object motion on a static camera). Each
# lies far in time from the training frames of its recording.
GOPRO_FRAMEAVG_HELDOUT: tuple[str, ...] = (
    "GOPR0374_11_00_st_frame-614_n_avg-8",
    "GOPR0384_11_02_st_frame-698_n_avg-8",
    "GOPR0410_11_00_st_frame-1193_n_avg-8",
    "GOPR0477_11_00_st_frame-792_n_avg-8",
)

# Folder-name spellings for the plain layout: (blurry, sharp).
_PLAIN_NAMES: tuple[tuple[str, str], ...] = (
    ("blur", "sharp"),
    ("input", "target"),
    ("blur", "gt"),
    ("blurry", "sharp"),
)


class PairedDataError(Exception):
    """A paired dataset that cannot be read as asked, with a message naming the files."""


@dataclass(frozen=True)
class Pair:
    """One blurry/sharp pair of files."""

    blurry: Path
    sharp: Path
    name: str = ""  # unique within its dataset; defaults to the blurry file's stem

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.blurry.stem)


# ----------------------------------------------------------------------------- reading


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image to float32 RGB H x W x 3 in [0, 1] (16-bit kept at full precision)."""
    try:
        img = decode_rgb(path)
    except OSError as exc:
        raise PairedDataError(str(exc)) from None
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def _images(folder: Path, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(f for f in files if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)


def _by_stem(files: Iterable[Path]) -> dict[str, Path]:
    return {f.stem: f for f in files}


# ----------------------------------------------------------------------------- layouts


def _plain_dirs(root: Path, split: str | None) -> tuple[Path, Path] | None:
    bases = ([root / split] if split else []) + [root]
    for base in bases:
        for b, s in _PLAIN_NAMES:
            if (base / b).is_dir() and (base / s).is_dir():
                return base / b, base / s
    return None


def _realblur_lists(root: Path, split: str) -> list[Path]:
    return sorted(root.glob(f"RealBlur*_{split}_list.txt"))


def _rsblur_lists(root: Path, split: str) -> list[Path]:
    return sorted(root.glob(f"RSBlur_real_{split}.txt"))


def _is_gopro(root: Path) -> bool:
    for split in ("train", "test"):
        d = root / split
        if d.is_dir() and any((s / "sharp").is_dir() and (s / "blur").is_dir()
                              for s in d.iterdir() if s.is_dir()):
            return True
    return False


def _is_hide(root: Path) -> bool:
    return (root / "GT").is_dir() and ((root / "train").is_dir() or (root / "test").is_dir())


def _is_realblur(root: Path) -> bool:
    if list(root.glob("RealBlur*_list.txt")):
        return True
    return any(root.glob("*/scene*/gt")) or any(root.glob("scene*/gt"))


def _rsblur_seq_dirs(root: Path) -> list[Path]:
    out = []
    for base in (root, root / "RSBlur"):
        if not base.is_dir():
            continue
        for seq in sorted(base.glob("*/*")):
            if seq.is_dir() and _rsblur_pair_dirs(seq) is not None:
                out.append(seq)
        if out:
            break
    return out


def _rsblur_pair_dirs(seq: Path) -> tuple[Path, Path] | None:
    for b in ("real_blur", "Blur", "blur"):
        for s in ("gt", "GT"):
            if (seq / b).is_dir() and (seq / s).is_dir():
                return seq / b, seq / s
    return None


def _is_rsblur(root: Path) -> bool:
    return bool(list(root.glob("RSBlur_real_*.txt"))) or bool(_rsblur_seq_dirs(root))


def detect_layout(root: str | Path) -> str:
    """Which of :data:`LAYOUTS` ``root`` holds; :class:`PairedDataError` if none."""
    root = Path(root)
    if not root.is_dir():
        raise PairedDataError(f"paired dataset folder not found: {root}")
    if _is_gopro(root):
        return "gopro"
    if _is_hide(root):
        return "hide"
    if _is_realblur(root):
        return "realblur"
    if _is_rsblur(root):
        return "rsblur"
    if _plain_dirs(root, None) is not None or any(
        _plain_dirs(root, s) is not None for s in ("train", "test", "val")
    ):
        return "plain"
    raise PairedDataError(
        f"{root} holds no paired layout this loader knows: expected GoPro "
        "({train,test}/<seq>/{blur,sharp}), HIDE ({train,test}/ + GT/), RealBlur "
        "(RealBlur*_{train,test}_list.txt or scene*/{blur,gt}), RSBlur (RSBlur_real_*.txt "
        "or <scene>/<seq>/{real_blur,gt}) or plain blur/ + sharp/ folders"
    )


def _pair_by_name(blur_files: Iterable[Path], sharp_dir: Path, where: str) -> list[Pair]:
    sharp = _by_stem(_images(sharp_dir))
    pairs, missing = [], []
    for f in blur_files:
        s = sharp.get(f.stem)
        if s is None:
            missing.append(f.name)
        else:
            pairs.append(Pair(f, s))
    if missing:
        raise PairedDataError(
            f"{where}: {len(missing)} blurry image(s) have no sharp image of the same name in "
            f"{sharp_dir} (e.g. {missing[:3]})"
        )
    return pairs


def _gopro(root: Path, split: str, blur: str) -> list[Pair]:
    base = root / split
    if not base.is_dir():
        raise PairedDataError(f"GoPro layout: no {split!r} split at {base}")
    pairs: list[Pair] = []
    for seq in sorted(p for p in base.iterdir() if p.is_dir()):
        if not (seq / blur).is_dir():
            continue
        pairs += _pair_by_name(_images(seq / blur), seq / "sharp", f"GoPro {seq}")
    return pairs


def _hide(root: Path, split: str) -> list[Pair]:
    base = root / split
    if not base.is_dir():
        raise PairedDataError(f"HIDE layout: no {split!r} split at {base}")
    return _pair_by_name(_images(base, recursive=True), root / "GT", f"HIDE {base}")


def _read_list(root: Path, lists: Sequence[Path], kind: str) -> list[Pair]:
    """Lines ``sharp_path blur_path [...]`` relative to ``root``."""
    pairs = []
    for lst in lists:
        for n, line in enumerate(lst.read_text(encoding="utf-8").splitlines(), 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) < 2:
                raise PairedDataError(f"{lst}:{n}: expected 'sharp_path blur_path', got {line!r}")
            sharp, blurry = root / parts[0], root / parts[1]
            for f in (sharp, blurry):
                if not f.is_file():
                    raise PairedDataError(f"{kind} list {lst}:{n} names a missing file {f}")
            pairs.append(Pair(blurry, sharp))
    return pairs


def _scene_number(path: Path) -> tuple[str, int, str]:
    m = re.search(r"(\d+)$", path.stem)
    return (str(path.parent.parent), int(m.group(1)) if m else -1, path.stem)


def _realblur(root: Path, split: str) -> list[Pair]:
    lists = _realblur_lists(root, split)
    if lists:
        return _read_list(root, lists, "RealBlur")
    if list(root.glob("RealBlur*_list.txt")):
        raise PairedDataError(f"RealBlur layout at {root} has no list for split {split!r}")
    pairs = []
    gts = sorted({*root.glob("scene*/gt/*"), *root.glob("*/scene*/gt/*")}, key=_scene_number)
    for gt in gts:
        if gt.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        name = re.sub(r"^gt", "blur", gt.name)
        blurry = gt.parent.parent / "blur" / name
        if not blurry.is_file():
            raise PairedDataError(f"RealBlur layout: {gt} has no blurry partner {blurry}")
        pairs.append(Pair(blurry, gt))
    return pairs


def _rsblur(root: Path, split: str) -> list[Pair]:
    lists = _rsblur_lists(root, split)
    if lists:
        return _read_list(root, lists, "RSBlur")
    if list(root.glob("RSBlur_real_*.txt")):
        raise PairedDataError(f"RSBlur layout at {root} has no list for split {split!r}")
    pairs: list[Pair] = []
    for seq in _rsblur_seq_dirs(root):
        bdir, sdir = _rsblur_pair_dirs(seq)  # type: ignore[misc]
        b, s = _images(bdir), _images(sdir)
        if len(b) != len(s):
            raise PairedDataError(f"RSBlur layout: {seq} has {len(b)} blurry but {len(s)} "
                                  "sharp images")
        pairs += [Pair(x, y) for x, y in zip(b, s)]
    return pairs


def _plain(root: Path, split: str) -> list[Pair]:
    dirs = _plain_dirs(root, split)
    if dirs is None:
        raise PairedDataError(f"plain layout: no blur/ + sharp/ folders at {root} or "
                              f"{root / split}")
    return _pair_by_name(_images(dirs[0]), dirs[1], f"{dirs[0]}")


def find_pairs(root: str | Path, layout: Layout = "auto", split: str = "train",
               gopro_blur: str = "blur") -> list[Pair]:
    """Every (blurry, sharp) pair of ``split`` under ``root``, in a stable order."""
    root = Path(root)
    kind = detect_layout(root) if layout == "auto" else layout
    if kind == "gopro":
        pairs = _gopro(root, split, gopro_blur)
    elif kind == "hide":
        pairs = _hide(root, split)
    elif kind == "realblur":
        pairs = _realblur(root, split)
    elif kind == "rsblur":
        pairs = _rsblur(root, split)
    elif kind == "plain":
        pairs = _plain(root, split)
    else:
        raise PairedDataError(f"unknown layout {layout!r}; choose one of {('auto', *LAYOUTS)}")
    if not pairs:
        raise PairedDataError(f"no {split!r} pairs found under {root} ({kind} layout)")
    if kind != "plain":  # file stems repeat across sequences/scenes: name by relative path
        pairs = [Pair(p.blurry, p.sharp, _relative_name(p.blurry, root)) for p in pairs]
    return pairs


def _relative_name(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return path.stem
    return rel.with_suffix("").as_posix()


def gopro_frameavg_split(data_root: str | Path | None = None,
                         split: Literal["train", "heldout"] = "train") -> list[Pair]:
    """Pairs of ``pairs/gopro_frameavg``: training ones, or :data:`GOPRO_FRAMEAVG_HELDOUT`."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    if data_root is None:
        from training.sources import DEFAULT_DATA_ROOT

        data_root = DEFAULT_DATA_ROOT
    pairs = find_pairs(Path(data_root) / "pairs" / "gopro_frameavg", layout="plain")
    held = set(GOPRO_FRAMEAVG_HELDOUT)
    chosen = [p for p in pairs if (p.name in held) == (split == "heldout")]
    if split == "heldout" and len(chosen) != len(held):
        found = {p.name for p in chosen}
        raise PairedDataError(f"held-out pairs missing from {data_root}: {sorted(held - found)}")
    return chosen


# ----------------------------------------------------------------------------- datasets


def _check_sizes(blurry: np.ndarray, sharp: np.ndarray, pair: Pair) -> None:
    if blurry.shape != sharp.shape:
        raise PairedDataError(
            f"pair sizes differ: {pair.blurry} is {blurry.shape[1]}x{blurry.shape[0]} but "
            f"{pair.sharp} is {sharp.shape[1]}x{sharp.shape[0]}"
        )


def center_crop_pair(blurry: np.ndarray, sharp: np.ndarray,
                     size: int) -> tuple[np.ndarray, np.ndarray]:
    """The same centred ``size x size`` window of both (smaller sides kept whole)."""
    h, w = blurry.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return (blurry[y0:y0 + ch, x0:x0 + cw], sharp[y0:y0 + ch, x0:x0 + cw])


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))


class PairedFolderDataset(Dataset):
    """Real blurry/sharp pairs from a benchmark folder (see the module docstring).

    Items are dicts: ``blurry`` and ``sharp`` float32 ``3 x H x W`` tensors in [0, 1],
    ``path`` (the blurry file) and ``name``. With ``crop``, each item is a random aligned
    ``crop x crop`` window (the same in both images) with random horizontal/vertical flips
    and transposition, drawn from ``(seed, index)`` alone: the same index gives the same
    crop in every epoch and worker, and changing ``seed`` changes them all. Images
    smaller than ``crop`` are reflect-padded (both alike). Decoded images are kept in an
    LRU cache of ``cache_bytes`` (per process), as small real sets are read over and over.
    """

    def __init__(self, root: str | Path | None = None, layout: Layout = "auto",
                 split: str = "train", crop: int | None = None, seed: int = 0, *,
                 pairs: Sequence[Pair] | None = None, gopro_blur: str = "blur",
                 flips: bool = True, cache_bytes: int = 512 << 20) -> None:
        if pairs is None:
            if root is None:
                raise ValueError("give a root folder or a list of pairs")
            pairs = find_pairs(root, layout, split, gopro_blur)
        if not pairs:
            raise PairedDataError("no pairs given")
        if crop is not None and crop <= 0:
            raise ValueError("crop must be a positive number of pixels or None")
        self.root = Path(root) if root is not None else None
        self.pairs: list[Pair] = list(pairs)
        self.crop = crop
        self.seed = int(seed)
        self.flips = flips
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0

    @classmethod
    def from_pairs(cls, pairs: Sequence[Pair], crop: int | None = None, seed: int = 0,
                   **kw: Any) -> PairedFolderDataset:
        return cls(None, pairs=pairs, crop=crop, seed=seed, **kw)

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Full-size (blurry, sharp) float32 H x W x 3 arrays of pair ``index``."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        pair = self.pairs[index]
        blurry, sharp = read_rgb(pair.blurry), read_rgb(pair.sharp)
        _check_sizes(blurry, sharp, pair)
        size = blurry.nbytes + sharp.nbytes
        if size <= self.cache_bytes:
            self._cache[index] = (blurry, sharp)
            self._cached += size
            while self._cached > self.cache_bytes:
                _, (b, s) = self._cache.popitem(last=False)
                self._cached -= b.nbytes + s.nbytes
        return blurry, sharp

    def _random_crop(self, index: int, blurry: np.ndarray,
                     sharp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = int(self.crop)  # type: ignore[arg-type]
        rng = np.random.default_rng([self.seed, index])
        h, w = blurry.shape[:2]
        if h < c or w < c:
            pad = ((0, max(0, c - h)), (0, max(0, c - w)), (0, 0))
            mode = "reflect" if c - h < h and c - w < w else "edge"
            blurry, sharp = np.pad(blurry, pad, mode=mode), np.pad(sharp, pad, mode=mode)
            h, w = blurry.shape[:2]
        y0 = int(rng.integers(0, h - c + 1))
        x0 = int(rng.integers(0, w - c + 1))
        b, s = blurry[y0:y0 + c, x0:x0 + c], sharp[y0:y0 + c, x0:x0 + c]
        if self.flips:
            hflip, vflip, transpose = rng.random(3) < 0.5
            if hflip:
                b, s = b[:, ::-1], s[:, ::-1]
            if vflip:
                b, s = b[::-1], s[::-1]
            if transpose:
                b, s = b.transpose(1, 0, 2), s.transpose(1, 0, 2)
        return b, s

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        blurry, sharp = self.load(index)
        if self.crop is not None:
            blurry, sharp = self._random_crop(index, blurry, sharp)
        pair = self.pairs[index]
        return {"blurry": _to_tensor(blurry), "sharp": _to_tensor(sharp),
                "path": str(pair.blurry), "name": pair.name}


class MixedDataset(Dataset):
    """Draw items from several datasets by weight, deterministically per index.

    Item ``i`` comes from dataset ``j`` with probability ``weight_j / sum(weights)`` and
    from a uniformly drawn index inside it, both drawn from ``(seed, i)``: the mix is
    reproducible across epochs, workers and ranks (a DistributedSampler only shards the
    indices). ``length`` is the epoch length, independent of the datasets' sizes: stage II
    mixes a few real pairs with unlimited simulated data. The datasets must return items
    a DataLoader can collate together (the same keys and shapes).
    """

    def __init__(self, datasets: Sequence[tuple[Dataset, float]], length: int,
                 seed: int = 0) -> None:
        if not datasets:
            raise ValueError("MixedDataset needs at least one (dataset, weight)")
        weights = np.array([float(w) for _, w in datasets])
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum, got "
                             f"{weights.tolist()}")
        self.datasets = [d for d, _ in datasets]
        for d, w in zip(self.datasets, weights):
            if w > 0 and len(d) == 0:  # type: ignore[arg-type]
                raise ValueError(f"dataset {d!r} is empty but has weight {w}")
        if length <= 0:
            raise ValueError("length must be positive")
        self.p = weights / weights.sum()
        self.length = int(length)
        self.seed = int(seed)

    def __len__(self) -> int:
        return self.length

    def choose(self, index: int) -> tuple[int, int]:
        """(dataset number, index inside it) that item ``index`` reads."""
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, index, 0x4D4958])
        j = int(rng.choice(len(self.datasets), p=self.p))
        k = int(rng.integers(len(self.datasets[j])))  # type: ignore[arg-type]
        return j, k

    def __getitem__(self, index: int) -> Any:
        j, k = self.choose(index)
        return self.datasets[j][k]
