"""Saving restored photos: suggested names, format/bit-depth/quality, and the save dialog.

Rules a photographer relies on: the default name sits beside the original as
``<stem>_deblurred.<ext>`` and never overwrites anything (``_2``, ``_3``... are added);
EXIF and the ICC profile travel with the pixels (``glow_core.imageio`` writes them); the
bit depth defaults to the source's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from glow_core.formats import (
    DEFAULT_FORMAT,
    FORMATS,
    extension_for,
    format_for_path,
    normalize_format,
    save_dialog_filter,
)

SUFFIX = "_deblurred"


@dataclass
class ExportOptions:
    format: str = "PNG"
    bit_depth: int = 8
    quality: int = 95


def unique_path(path: Path) -> Path:
    """``path`` if free, else ``stem_2.ext``, ``stem_3.ext``..."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def suggested_path(source: Path, fmt: str | None = None) -> Path:
    """``<folder>/<stem>_deblurred.<ext>`` beside the original, never an existing file."""
    source = Path(source)
    if fmt is not None:
        ext = extension_for(fmt)
    elif format_for_path(source) is not None:
        ext = source.suffix
    else:
        ext = FORMATS[DEFAULT_FORMAT].extension
    return unique_path(source.with_name(f"{source.stem}{SUFFIX}{ext}"))


def default_options(source_format: str | None, source_bit_depth: int,
                    remembered: ExportOptions | None = None) -> ExportOptions:
    """Same format and bit depth as the source unless the user chose otherwise before."""
    fmt = normalize_format(source_format) or DEFAULT_FORMAT
    depth = source_bit_depth if FORMATS[fmt].sixteen_bit else 8
    quality = remembered.quality if remembered else 95
    return ExportOptions(fmt, depth if depth in (8, 16) else 8, quality)


def remembered_options(source_format: str | None, source_bit_depth: int,
                       settings: Any) -> ExportOptions:
    """:func:`default_options` with the user's last choices (an :class:`app.settings.Settings`)."""
    options = default_options(source_format, source_bit_depth,
                              ExportOptions(quality=settings.export_quality))
    if settings.export_format != "same":
        options.format = normalize_format(settings.export_format) or options.format
    if getattr(settings, "export_bit_depth", 0) in (8, 16):  # a preset's bit depth
        options.bit_depth = settings.export_bit_depth if FORMATS[options.format].sixteen_bit \
            else 8
    return options


def save_image(path: Path, source_image: object, pixels: np.ndarray,
               options: ExportOptions, caption: str | None = None) -> Path:
    """Write ``pixels`` with the metadata (EXIF, ICC, alpha) of ``source_image``.

    ``source_image`` is the :class:`glow_core.imageio.ImageData` that was opened;
    ``caption`` (the one the restoration ran with; None: not recorded) goes into EXIF.
    """
    from glow_core.imageio import with_caption, write_image

    fmt = normalize_format(options.format) or options.format.upper()
    if options.bit_depth == 16 and not (fmt in FORMATS and FORMATS[fmt].sixteen_bit):
        raise ValueError(f"{fmt} cannot hold 16 bits per channel; choose PNG or TIFF")
    data = dataclasses.replace(source_image, pixels=np.clip(pixels, 0.0, 1.0).astype(np.float32))
    if caption is not None:
        data = with_caption(data, caption)
    return write_image(Path(path), data, format=fmt, bit_depth=options.bit_depth,
                       quality=options.quality)


class ExportDialog(QDialog):
    """Destination + format + bit depth + JPEG/WebP quality, with the metadata note."""

    def __init__(self, path: Path, options: ExportOptions, *, has_exif: bool,
                 has_icc: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save restored photo")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSpacing(12)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(str(path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("Save to", row)
        self.format_combo = QComboBox()
        for f in FORMATS.values():
            self.format_combo.addItem(f.label, f.name)
        self.format_combo.setCurrentIndex(max(self.format_combo.findData(options.format), 0))
        form.addRow("Format", self.format_combo)
        self.depth_combo = QComboBox()
        self.depth_combo.addItem("8 bits per channel", 8)
        self.depth_combo.addItem("16 bits per channel", 16)
        self.depth_combo.setCurrentIndex(1 if options.bit_depth == 16 else 0)
        form.addRow("Bit depth", self.depth_combo)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(options.quality)
        self.quality.setSuffix(" %")
        form.addRow("Quality", self.quality)
        layout.addLayout(form)
        kept = [name for name, ok in (("EXIF", has_exif), ("ICC colour profile", has_icc)) if ok]
        note = QLabel(("Kept from the original: " + " and ".join(kept) + "." if kept else
                       "The original has no EXIF or colour profile to keep.")
                      + " The original file is never overwritten.")
        note.setObjectName("hint")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.format_combo.currentIndexChanged.connect(self._on_format)
        self._on_format()

    def _on_format(self) -> None:
        fmt = self.format_combo.currentData()
        sixteen = FORMATS[fmt].sixteen_bit
        item = self.depth_combo.model().item(1)
        item.setEnabled(sixteen)
        if not sixteen:
            self.depth_combo.setCurrentIndex(0)
        self.quality.setEnabled(FORMATS[fmt].quality)
        path = Path(self.path_edit.text())
        if path.suffix and format_for_path(path) != fmt:
            self.path_edit.setText(str(path.with_suffix(extension_for(fmt))))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save restored photo", self.path_edit.text())
        if path:
            self.path_edit.setText(path)
            fmt = format_for_path(path)
            if fmt:
                self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))

    def result_path(self) -> Path:
        return Path(self.path_edit.text()).expanduser()

    def options(self) -> ExportOptions:
        return ExportOptions(self.format_combo.currentData(), self.depth_combo.currentData(),
                             self.quality.value())


class ExportFlow(QObject):
    """Ctrl+S and Save As for a window: remembered options, a name that overwrites nothing,
    the dialog, then the write.

    ``chosen(path, options)`` hands the confirmed choice back to the window, so the pixels
    written are the ones restored when the user clicks Save, not when the dialog opened.
    """

    chosen = Signal(object, object)  # Path, ExportOptions

    def __init__(self, store: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self.store = store
        self.parent_widget = parent
        self.dialog: ExportDialog | None = None

    def ask(self, image: Any, source: Path, *, choose_place: bool = False) -> None:
        """Open the export dialog for ``image`` (first a file dialog with ``choose_place``)."""
        options = remembered_options(image.format, image.bit_depth, self.store.values)
        target = suggested_path(source, options.format)
        if choose_place:
            start = self.store.get("last_save_dir") or str(source.parent)
            path, _ = QFileDialog.getSaveFileName(
                self.parent_widget, "Save restored photo as", str(Path(start) / target.name),
                save_dialog_filter(), FORMATS[options.format].dialog_filter())
            if not path:
                return
            target = Path(path)
            options.format = format_for_path(target) or options.format
        dialog = ExportDialog(target, options, has_exif=bool(image.exif),
                              has_icc=bool(image.icc_profile), parent=self.parent_widget)
        dialog.accepted.connect(lambda: self.chosen.emit(dialog.result_path(), dialog.options()))
        dialog.open()
        self.dialog = dialog

    def write(self, path: Path, image: Any, pixels: np.ndarray, options: ExportOptions,
              caption: str | None = None) -> Path:
        """:func:`save_image`, then remember the folder and quality (raises when it fails)."""
        written = save_image(Path(path), image, pixels, options, caption)
        self.store.set("last_save_dir", str(written.parent))
        self.store.set("export_quality", options.quality)
        return written
