"""Presets in the GUI: the "Presets" panel and menu of the main window, and the batch
dialog's preset and "Use saved masks" row.

A preset (:class:`glow_core.presets.Preset`) captures the controls (mode, steps, strength,
tiling), the caption, the output format / bit depth / quality the save dialog offers
first, and the colour space RAW photos are developed into. Applying one sets all of
them; "Save as…" captures the current ones. The same file backs ``--preset`` on the CLI.
"""

from __future__ import annotations

import types
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from glow_core import rawio
from glow_core.formats import FORMATS, OUTPUT_FORMATS, RAW_EXTENSIONS, normalize_format
from glow_core.presets import COLOUR_SPACES, Preset, PresetError, PresetStore

COLOUR_LABELS = {"srgb": "sRGB", "adobe-rgb": "Adobe RGB (1998)"}


def _format_key(writer_name: str) -> str:
    name = normalize_format(writer_name)
    return FORMATS[name].key if name and FORMATS[name].key in OUTPUT_FORMATS else "png"


class PresetsPanel(QGroupBox):
    """Choose / save / rename / delete presets, and the RAW colour space."""

    applied = Signal(str)  # a preset was applied (its name)
    listChanged = Signal()

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__("Presets", parent)
        self.window_ = window
        self.store = PresetStore()
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setToolTip("Saved sets of controls, output format and colour space")
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(lambda: self.apply(self.combo.currentText()))
        row.addWidget(self.combo, 1)
        row.addWidget(self.apply_button)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save as…")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.save_button.clicked.connect(self._ask_save)
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self._ask_delete)
        for b in (self.save_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        form = QFormLayout()
        saved = window.store.values.raw_colour_space
        if saved in COLOUR_SPACES:  # the last session's choice (a bad value: the default)
            rawio.set_colour_space(saved)
        self.colour = QComboBox()
        for key in COLOUR_SPACES:
            self.colour.addItem(COLOUR_LABELS[key], key)
        self.colour.setCurrentIndex(max(self.colour.findData(rawio.current_colour_space()), 0))
        self.colour.setToolTip("Colour space camera RAW photos are developed into; the "
                               "saved file carries its ICC profile")
        self.colour.currentIndexChanged.connect(self._on_colour)
        form.addRow("RAW colour space", self.colour)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.refresh()

    # ----- list ----------------------------------------------------------------------------
    def names(self) -> list[str]:
        return self.store.names()

    def refresh(self, select: str | None = None) -> None:
        current = select or self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        names = self.names()
        self.combo.addItems(names)
        if current in names:
            self.combo.setCurrentText(current)
        self.combo.blockSignals(False)
        has = bool(names)
        for b in (self.apply_button, self.rename_button, self.delete_button):
            b.setEnabled(has)
        self.listChanged.emit()

    # ----- capture / apply -----------------------------------------------------------------
    def current_preset(self) -> Preset:
        win = self.window_
        v = win.controls.values()
        s = win.store.values
        fmt = s.export_format if s.export_format != "same" else (
            win.image.format if win.image is not None and win.image.format else "PNG")
        return Preset(mode=v["mode"], steps=v["steps"], strength=v["strength"], tile=v["tile"],
                      overlap=v["overlap"], caption=win.caption_panel.caption(),
                      format=_format_key(fmt), bit_depth=s.export_bit_depth or None,
                      quality=s.export_quality, colour_space=self.colour.currentData())

    def apply(self, name: str) -> bool:
        try:
            p = self.store.get(name)
        except PresetError as exc:
            self.message.setText(str(exc))
            return False
        win = self.window_
        values = dict(vars(win.store.values))
        values.update(mode=p.mode, steps=p.steps, strength=p.strength,
                      tile_auto=p.tile is None, overlap=p.overlap)
        if p.tile is not None:
            values["tile"] = p.tile
        win.controls.apply_settings(types.SimpleNamespace(**values))
        win.controls.store_settings(win.store)
        win.caption_panel.set_caption(p.caption)
        win.store.set("export_format", OUTPUT_FORMATS[p.format].name)
        win.store.set("export_bit_depth", p.bit_depth or 0)
        win.store.set("export_quality", p.quality)
        self.colour.setCurrentIndex(max(self.colour.findData(p.colour_space), 0))
        self.combo.setCurrentText(name)
        self.message.setText(f"Applied “{name}”.")
        self.applied.emit(name)
        return True

    def save_as(self, name: str) -> bool:
        try:
            self.store.save(name, self.current_preset())
        except PresetError as exc:
            self.message.setText(str(exc))
            return False
        self.refresh(select=name.strip())
        self.message.setText(f"Saved “{name.strip()}”.")
        return True

    def rename(self, old: str, new: str) -> bool:
        try:
            self.store.rename(old, new)
        except PresetError as exc:
            self.message.setText(str(exc))
            return False
        self.refresh(select=new.strip())
        return True

    def delete(self, name: str) -> bool:
        try:
            self.store.delete(name)
        except PresetError as exc:
            self.message.setText(str(exc))
            return False
        self.refresh()
        return True

    def _on_colour(self) -> None:
        rawio.set_colour_space(self.colour.currentData())
        self.window_.store.set("raw_colour_space", self.colour.currentData())
        win = self.window_
        # A RAW that is open is developed again in the new colour space.
        if win.path is not None and win.path.suffix.lower() in RAW_EXTENSIONS:
            win.open_path(win.path)

    # ----- dialogs -------------------------------------------------------------------------
    def _ask_save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:",
                                        text=self.combo.currentText())
        if ok and name.strip():
            if name.strip() in self.names() and QMessageBox.question(
                    self, "Save preset", f"Replace the preset “{name.strip()}”?") != \
                    QMessageBox.StandardButton.Yes:
                return
            self.save_as(name)

    def _ask_rename(self) -> None:
        old = self.combo.currentText()
        if not old:
            return
        name, ok = QInputDialog.getText(self, "Rename preset", "New name:", text=old)
        if ok and name.strip():
            self.rename(old, name)

    def _ask_delete(self) -> None:
        name = self.combo.currentText()
        if name and QMessageBox.question(self, "Delete preset", f"Delete the preset “{name}”?") \
                == QMessageBox.StandardButton.Yes:
            self.delete(name)

    # ----- menu ----------------------------------------------------------------------------
    def fill_menu(self, menu: QMenu) -> None:
        """The main window's Presets menu: one entry per preset, then the management items."""
        menu.clear()
        names = self.names()
        if not names:
            empty = menu.addAction("No presets saved yet")
            empty.setEnabled(False)
        for name in names:
            menu.addAction(name, lambda n=name: self.apply(n))
        menu.addSeparator()
        menu.addAction("Save current settings as preset…", self._ask_save)
        rename = menu.addAction("Rename preset…", self._ask_rename)
        delete = menu.addAction("Delete preset…", self._ask_delete)
        rename.setEnabled(bool(names))
        delete.setEnabled(bool(names))


class BatchExtras:
    """The batch dialog's "Preset" and "Use saved masks" rows (hooked into its form)."""

    CURRENT = "Current controls"

    def __init__(self, dialog: Any, form: QFormLayout) -> None:
        self.dialog = dialog
        self.store = PresetStore()
        self.preset = QComboBox()
        self.preset.setToolTip("Restore with a saved preset instead of the main window's "
                               "controls (its format and quality are set here too)")
        self.refresh()
        self.preset.currentIndexChanged.connect(self._on_preset)
        form.addRow("Preset", self.preset)
        self.use_masks = QCheckBox("Use saved masks (<photo>.glowmask.png): restore only the "
                                   "painted parts")
        form.addRow("", self.use_masks)

    def refresh(self) -> None:
        current = self.preset.currentText()
        self.preset.blockSignals(True)
        self.preset.clear()
        self.preset.addItem(self.CURRENT, None)
        for name in self.store.names():
            self.preset.addItem(name, name)
        index = self.preset.findText(current)
        self.preset.setCurrentIndex(max(index, 0))
        self.preset.blockSignals(False)

    def chosen(self) -> Preset | None:
        name = self.preset.currentData()
        if not name:
            return None
        try:
            return self.store.get(name)
        except PresetError:
            return None

    def _on_preset(self) -> None:
        p = self.chosen()
        if p is None:
            return
        d = self.dialog
        d.format.setCurrentIndex(max(d.format.findData(p.format), 0))
        d.depth.setCurrentIndex(max(d.depth.findData(p.bit_depth), 0))
        d.quality.setValue(p.quality)

    def options(self, options: Any) -> Any:
        """The restore options of the batch: the preset's, else the main window's."""
        p = self.chosen()
        if p is None:
            return options
        import dataclasses

        rawio.set_colour_space(p.colour_space)
        return dataclasses.replace(options, mode=p.mode, steps=p.steps, strength=p.strength,
                                   tile=p.tile, overlap=p.overlap, caption=p.caption)

    def wrap(self, restorer: Any) -> Any:
        if not self.use_masks.isChecked():
            return restorer
        from glow_core.mask import masked_restorer

        return masked_restorer(restorer)
