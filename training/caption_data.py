"""Captions for the training photos, read from ``training/captions/*.jsonl``.

Why this exists: the diffusion model takes a caption of the scene as semantic guidance,
and it only learns to use words if it is trained on captions that really describe its
training photos. The captions were written by people looking at each photo; this module
only reads them and hands one out per sample, with light augmentation so the model sees
both short and long phrasings, plus caption dropout so it also works with an empty caption.

Files (one JSON object per line, UTF-8):

- ``<source>.jsonl``: ``{"path": "sharp/kodak24/kodim01.png", "caption": "...", "short": "..."}``
  with ``path`` relative to the data root (``../shared/data`` from the project root).
- ``folders.jsonl``: ``{"folder": "sharp/bsds500", "caption": "...", "short": "..."}``, the
  fallback for photos without their own caption (the nearest enclosing folder wins).
- ``procedural.jsonl``: ``{"caption": "..."}``, generic captions for procedural images
  (dead leaves and other synthetic patterns).

It deliberately imports nothing from the rest of ``training`` or ``glow_core``, so the
data pipeline, tests and tools can use it on their own.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

CAPTIONS_DIR = Path(__file__).resolve().parent / "captions"
"""Where the caption files live (shipped as package data)."""

FOLDERS_FILE = "folders.jsonl"
PROCEDURAL_FILE = "procedural.jsonl"

# Pairs datasets keep the same file name under blur/ and sharp/: a blurred frame shows
# the same scene as its sharp partner, so it borrows that caption.
_PAIR_DIRS = ("blur", "sharp")

# Clause boundaries for truncation: a comma or semicolon followed by a space.
_CLAUSE_SPLIT = re.compile(r"[,;]\s+")


def default_data_root() -> Path:
    """The data root: ``$GLOW_DATA_ROOT`` if set, else ``../shared/data`` from the project root."""
    env = os.environ.get("GLOW_DATA_ROOT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


class RandomLike(Protocol):
    """Anything with ``random() -> float`` in [0, 1): ``random.Random``, numpy ``Generator``."""

    def random(self) -> float: ...


def _uniform(rng: RandomLike) -> float:
    return float(rng.random())


def _index(rng: RandomLike, n: int) -> int:
    """Uniform integer in [0, n) from ``rng.random()``, so both rng kinds behave the same."""
    return min(int(_uniform(rng) * n), n - 1)


@dataclass(frozen=True)
class CaptionEntry:
    """One caption: the long description and a 5-10 word short form."""

    caption: str
    short: str = ""


@dataclass(frozen=True)
class AugmentConfig:
    """How often each variant of a caption is handed out (the rest: the long caption)."""

    p_short: float = 0.25
    p_truncate: float = 0.25


@dataclass(frozen=True)
class Coverage:
    """How many photos have their own caption, per source folder."""

    per_folder: dict[str, int]
    total: int
    folders_with_fallback: int
    procedural: int

    @property
    def n_folders(self) -> int:
        return len(self.per_folder)


@dataclass
class CaptionBank:
    """All captions, indexed by data-root-relative POSIX path and by folder."""

    photos: dict[str, CaptionEntry] = field(default_factory=dict)
    folders: dict[str, CaptionEntry] = field(default_factory=dict)
    procedural_captions: list[str] = field(default_factory=list)
    data_root: Path | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        captions_dir: str | Path | None = None,
        data_root: str | Path | None = None,
        augment: AugmentConfig | None = None,
    ) -> CaptionBank:
        """Read every ``*.jsonl`` in ``captions_dir``; raise ``ValueError`` naming a bad line."""
        cdir = Path(captions_dir) if captions_dir is not None else CAPTIONS_DIR
        root = Path(data_root) if data_root is not None else default_data_root()
        bank = cls(data_root=root, augment=augment or AugmentConfig())
        for file in sorted(cdir.glob("*.jsonl")):
            for lineno, obj in _read_jsonl(file):
                where = f"{file.name}:{lineno}"
                if file.name == PROCEDURAL_FILE:
                    bank.procedural_captions.append(_text(obj, "caption", where))
                elif file.name == FOLDERS_FILE:
                    key = _norm_rel(_text(obj, "folder", where))
                    bank.folders[key] = CaptionEntry(
                        _text(obj, "caption", where), str(obj.get("short", ""))
                    )
                else:
                    key = _norm_rel(_text(obj, "path", where))
                    if key in bank.photos:
                        raise ValueError(f"{where}: duplicate caption for {key}")
                    bank.photos[key] = CaptionEntry(
                        _text(obj, "caption", where), str(obj.get("short", ""))
                    )
        return bank

    # ---------------------------------------------------------------- lookup
    def relpath(self, path: str | os.PathLike[str]) -> str:
        """Data-root-relative POSIX path of ``path`` (absolute, relative, or under another root).

        An absolute path outside ``data_root`` still resolves when some tail of it is a
        known caption path or folder, so a copy of the data elsewhere keeps its captions.
        """
        p = Path(path)
        if p.is_absolute() and self.data_root is not None:
            try:
                return p.relative_to(self.data_root).as_posix()
            except ValueError:
                pass
            try:
                return p.resolve().relative_to(self.data_root.resolve()).as_posix()
            except (ValueError, OSError):
                pass
        parts = PurePosixPath(p.as_posix()).parts
        if p.is_absolute():
            for i in range(1, len(parts)):
                tail = "/".join(parts[i:])
                if tail in self.photos or self._folder_of(tail) is not None:
                    return tail
        return _norm_rel(p.as_posix())

    def entry_for(self, path: str | os.PathLike[str]) -> CaptionEntry | None:
        """The photo's own caption, else that of its nearest captioned folder, else None."""
        rel = self.relpath(path)
        own = self.photos.get(rel) or self.photos.get(_pair_partner(rel) or "")
        if own is not None:
            return own
        folder = self._folder_of(rel)
        return self.folders[folder] if folder is not None else None

    def has_own_caption(self, path: str | os.PathLike[str]) -> bool:
        rel = self.relpath(path)
        return rel in self.photos or (_pair_partner(rel) or "") in self.photos

    def caption_for(self, path: str | os.PathLike[str], rng: RandomLike) -> str:
        """A caption for the photo at ``path``, lightly augmented; "" when none is known."""
        entry = self.entry_for(path)
        if entry is None:
            return ""
        return self.augment_caption(entry, rng)

    def augment_caption(self, entry: CaptionEntry, rng: RandomLike) -> str:
        """The long caption, the short one, or the long one cut at a clause boundary."""
        u = _uniform(rng)
        if u < self.augment.p_short and entry.short:
            return entry.short
        if u < self.augment.p_short + self.augment.p_truncate:
            cut = truncate_at_clause(entry.caption, rng)
            if cut:
                return cut
        return entry.caption

    def procedural(self, rng: RandomLike) -> str:
        """A generic caption for a procedural (synthetic) image; "" when none are loaded."""
        if not self.procedural_captions:
            return ""
        return self.procedural_captions[_index(rng, len(self.procedural_captions))]

    @staticmethod
    def with_dropout(caption: str, rng: RandomLike, p: float) -> str:
        """``""`` with probability ``p`` (caption dropout), else ``caption`` unchanged."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        return "" if _uniform(rng) < p else caption

    # ---------------------------------------------------------------- stats
    def coverage(self) -> Coverage:
        """Captioned photos per source folder (the folder holding the file)."""
        per = Counter(str(PurePosixPath(k).parent) for k in self.photos)
        return Coverage(
            per_folder=dict(sorted(per.items())),
            total=len(self.photos),
            folders_with_fallback=len(self.folders),
            procedural=len(self.procedural_captions),
        )

    def missing_files(self) -> list[str]:
        """Caption paths that do not exist under ``data_root`` (empty if it is absent)."""
        if self.data_root is None or not self.data_root.is_dir():
            return []
        return sorted(k for k in self.photos if not (self.data_root / k).is_file())

    def _folder_of(self, rel: str) -> str | None:
        parent = PurePosixPath(rel).parent
        while str(parent) not in ("", ".") and parent != parent.parent:
            if str(parent) in self.folders:
                return str(parent)
            parent = parent.parent
        return None


# -------------------------------------------------------------------- helpers
def truncate_at_clause(caption: str, rng: RandomLike) -> str:
    """Keep the first k of n comma-separated clauses (1 <= k < n); "" if there is only one."""
    clauses = _CLAUSE_SPLIT.split(caption.strip())
    if len(clauses) < 2:
        return ""
    k = 1 + _index(rng, len(clauses) - 1)
    return ", ".join(clauses[:k])


def _pair_partner(rel: str) -> str | None:
    """``x/blur/name`` -> ``x/sharp/name`` (paired datasets share the scene)."""
    parts = list(PurePosixPath(rel).parts)
    if len(parts) >= 2 and parts[-2] == _PAIR_DIRS[0]:
        parts[-2] = _PAIR_DIRS[1]
        return "/".join(parts)
    return None


def _norm_rel(path: str) -> str:
    p = path.replace("\\", "/").strip()
    while p.startswith("./"):
        p = p[2:]
    return str(PurePosixPath(p))


def _read_jsonl(file: Path):
    with file.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file.name}:{lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise ValueError(f"{file.name}:{lineno}: expected a JSON object")
            yield lineno, obj


def _text(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: missing or empty '{key}'")
    return value.strip()
