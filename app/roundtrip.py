"""The photographer's round trip in the main window: region mask, presets, edit mode.

:func:`install` is the one hook the window calls. It adds the mask and presets panels to
the Adjust dock, a Presets menu, and connects the mask to the restoration: the restored
photo is blended through the mask (``mask * restored + (1 - mask) * original``) as soon
as it arrives and again whenever the mask changes, so what is shown is what Save writes.
A mask saved beside the photo (``<photo>.glowmask.png``) is loaded when the photo opens.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from app.imaging import to_qimage
from app.panels.presets import PresetsPanel
from app.views.mask_tool import MaskPanel, MaskTool
from glow_core import mask as maskmod
from glow_core import rawio
from glow_core.formats import RAW_EXTENSIONS


class RoundTrip(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window_ = window
        self.unmasked: np.ndarray | None = None  # the whole restored photo, before the mask
        self.mask_tool = MaskTool(window.view, self)
        self.mask_panel = MaskPanel(self.mask_tool)
        self.presets_panel = PresetsPanel(window)
        column = window.dock.widget().widget().layout()
        column.addWidget(self.mask_panel)
        column.addWidget(self.presets_panel)
        menus = [a for a in window.menuBar().actions() if a.menu() is not None]
        self.presets_menu = window.menuBar().addMenu("&Presets")
        if menus:  # before Help
            window.menuBar().insertMenu(menus[-1], self.presets_menu)
        self.presets_menu.aboutToShow.connect(
            lambda: self.presets_panel.fill_menu(self.presets_menu))
        window.imageLoaded.connect(self._on_loaded)
        window.restoreFinished.connect(self._on_restored)
        self.mask_tool.changed.connect(self.reblend)
        self.mask_panel.saveRequested.connect(self.save_mask)

    # ----- mask ----------------------------------------------------------------------------
    def _on_loaded(self, image: Any) -> None:
        self.unmasked = None
        path = self.window_.path
        if path is not None and path.suffix.lower() in RAW_EXTENSIONS:
            space = {"srgb": "sRGB", "adobe-rgb": "Adobe RGB"}[rawio.current_colour_space()]
            self.window_.info_label.setText(
                f"{path.name}  ·  {image.width} × {image.height}  ·  RAW: camera white "
                f"balance, no tone curve, 16-bit {space}")
        self.mask_tool.set_image_size(image.height, image.width)
        path = maskmod.mask_path(self.window_.path)
        if path.exists():
            try:
                self.mask_tool.load(path, image.pixels.shape)
                self.window_.statusBar().showMessage(f"Loaded the mask {path.name}", 5000)
            except maskmod.MaskError as exc:
                self.window_.banner.show_message(f"Mask not used: {exc}", "warning")

    def _on_restored(self, result: Any) -> None:
        win = self.window_
        if win.result is result:
            self.unmasked = result.image
            self.reblend()
        elif win.preview_pixels is not None and self.mask_tool.has_mask():
            soft = self.mask_tool.soft()
            win.preview_pixels = maskmod.blend(win.image.pixels, win.preview_pixels, soft)
            win.view.set_restored(to_qimage(win.preview_pixels),
                                  preview_rect=win.view.preview_rect)

    def blended(self) -> np.ndarray | None:
        win = self.window_
        if self.unmasked is None or win.image is None:
            return None
        soft = self.mask_tool.soft()
        if soft is None or soft.shape != win.image.pixels.shape[:2]:
            return self.unmasked
        return maskmod.blend(win.image.pixels, self.unmasked, soft)

    def reblend(self) -> None:
        win = self.window_
        pixels = self.blended()
        if pixels is None or win.result is None:
            return
        win.result = dataclasses.replace(win.result, image=pixels)
        win.view.set_restored(to_qimage(pixels))

    def save_mask(self) -> Any:
        win = self.window_
        if win.path is None or not self.mask_tool.has_mask():
            win.statusBar().showMessage("Paint a mask first", 4000)
            return None
        try:
            written = self.mask_tool.save(win.path)
        except Exception as exc:
            win.banner.show_message(f"Could not save the mask: {exc}", "error")
            return None
        win.statusBar().showMessage(f"Saved the mask as {written}", 6000)
        return written


def install(window: Any) -> RoundTrip:
    window.roundtrip = RoundTrip(window)
    window.mask_tool = window.roundtrip.mask_tool
    return window.roundtrip
