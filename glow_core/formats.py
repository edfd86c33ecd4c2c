"""The one table of image file formats GLOW reads and writes, with their options.

Every place that needs to know "which extensions are photos", "can this format hold
16 bits / alpha / EXIF", "does it take a quality setting", "what does the file dialog
offer" reads it here: the reader and writer (:mod:`glow_core.imageio`), the batch runner
and CLI (:mod:`glow_core.batch`), and the GUI's export dialog, batch panel and open dialog.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "OUTPUT_FORMATS",
    "RAW_EXTENSIONS",
    "ImageFormat",
    "extension_for",
    "file_dialog_filter",
    "format_for_path",
    "normalize_format",
    "save_dialog_filter",
]


@dataclass(frozen=True)
class ImageFormat:
    """One file format and what it can hold."""

    name: str  # the writer's name: "PNG", "JPEG", "TIFF", "WEBP", "BMP"
    label: str  # shown to people: "PNG", "JPEG", "TIFF", "WebP", "BMP"
    extensions: tuple[str, ...]  # lower case with the dot; the first is the one written
    alpha: bool  # an alpha channel is written back
    sixteen_bit: bool  # can hold 16 bits per channel
    quality: bool  # takes a lossy quality setting (1..100)
    metadata: bool  # EXIF and the ICC profile are written back
    batch: bool = True  # offered as a batch / CLI output format

    @property
    def extension(self) -> str:
        """The extension written for this format (``".jpg"``, ``".tif"``...)."""
        return self.extensions[0]

    @property
    def key(self) -> str:
        """Short lower-case name used by the CLI and the batch settings (``"jpg"``)."""
        return self.extension.lstrip(".")

    def dialog_filter(self) -> str:
        """A Qt file-dialog filter for this format alone: ``"JPEG (*.jpg *.jpeg *.jpe)"``."""
        return f"{self.label} ({' '.join('*' + e for e in self.extensions)})"


#: Every format, by writer name, in the order the GUI lists them.
FORMATS: dict[str, ImageFormat] = {f.name: f for f in (
    ImageFormat("JPEG", "JPEG", (".jpg", ".jpeg", ".jpe"), alpha=False, sixteen_bit=False,
                quality=True, metadata=True),
    ImageFormat("PNG", "PNG", (".png",), alpha=True, sixteen_bit=True, quality=False,
                metadata=True),
    ImageFormat("TIFF", "TIFF", (".tif", ".tiff"), alpha=True, sixteen_bit=True,
                quality=False, metadata=True),
    ImageFormat("WEBP", "WebP", (".webp",), alpha=True, sixteen_bit=False, quality=True,
                metadata=True),
    ImageFormat("BMP", "BMP", (".bmp",), alpha=True, sixteen_bit=False, quality=False,
                metadata=False, batch=False),
    # HEIC through pillow-heif, AVIF through Pillow (glow_core.heif); 8-bit output.
    ImageFormat("HEIF", "HEIC", (".heic", ".heif", ".hif"), alpha=True, sixteen_bit=False,
                quality=True, metadata=True),
    ImageFormat("AVIF", "AVIF", (".avif",), alpha=True, sixteen_bit=False, quality=True,
                metadata=True),
)}

#: Camera RAW extensions: read (glow_core.rawio, developed to 16-bit), never written.
RAW_EXTENSIONS: tuple[str, ...] = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf",
    ".orf", ".rw2", ".pef", ".srw", ".3fr", ".iiq", ".erf", ".kdc", ".mrw", ".x3f",
)

#: Format written when nothing else decides (no extension, unknown source format).
DEFAULT_FORMAT = "PNG"

#: Batch / CLI output formats by short key (``"png"``, ``"jpg"``, ``"tif"``, ``"webp"``).
OUTPUT_FORMATS: dict[str, ImageFormat] = {f.key: f for f in FORMATS.values() if f.batch}

#: Extensions of the formats GLOW writes, mapped to the format name.
WRITABLE_EXTENSIONS: dict[str, str] = {
    ext: f.name for f in FORMATS.values() for ext in f.extensions}

#: File extensions treated as images (reading, folder scans), mapped to the format name
#: (``"RAW"`` for camera RAW, which is read only).
IMAGE_EXTENSIONS: dict[str, str] = {
    **WRITABLE_EXTENSIONS, **{ext: "RAW" for ext in RAW_EXTENSIONS}}

#: The readable formats as a person reads them, for error messages: "JPEG, PNG, ... or
#: camera RAW" (derived from the table so a message never lists a stale set).
READABLE_LABELS: str = ", ".join(f.label for f in FORMATS.values()) + " or camera RAW"

_ALIASES: dict[str, str] = {
    **{f.name: f.name for f in FORMATS.values()},
    **{ext.lstrip(".").upper(): f.name for f in FORMATS.values() for ext in f.extensions},
}


def normalize_format(name: str | None) -> str | None:
    """``"jpg"``, ``".JPEG"``, ``"tif"``, ``"WebP"`` -> the writer name; ``None`` if unknown."""
    if not name:
        return None
    return _ALIASES.get(name.upper().lstrip("."))


def format_for_path(path: str | os.PathLike[str]) -> str | None:
    """Writer format implied by a file name's extension (``None`` when unknown)."""
    return WRITABLE_EXTENSIONS.get(Path(path).suffix.lower())


def extension_for(name: str) -> str:
    """The extension written for a format name or key (PNG's for an unknown one)."""
    return FORMATS[normalize_format(name) or DEFAULT_FORMAT].extension


def file_dialog_filter(label: str = "Photos") -> str:
    """The open dialog's filter: every readable extension, then "All files"."""
    patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
    return f"{label} ({patterns});;All files (*)"


def save_dialog_filter() -> str:
    """The save dialog's filter: one entry per format, then "All files"."""
    return ";;".join([f.dialog_filter() for f in FORMATS.values()] + ["All files (*)"])
