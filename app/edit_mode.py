"""Edit mode: ``glow-deblur edit PATH``, the "Edit In…" hand-off from Lightroom or Photoshop.

The host application writes a copy of the photo (usually a 16-bit TIFF, or a JPEG) for an
external editor and waits for that file to change. In this mode, and only here, Save
writes the restored photo back to that same file: atomically (temporary file + rename, so
the host never sees half a file), in the file's own format and bit depth, with its EXIF
and ICC profile. The title bar says so. Everywhere else the app never writes over the
photo it opened (:func:`glow_core.imageio.write_image` refuses).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from glow_core.formats import FORMATS, format_for_path

TITLE_NOTE = "Edit mode: Save writes back to this file"


class EditSession(QObject):
    """Attached to a window as ``window.edit_session``; its :meth:`save` replaces Ctrl+S."""

    def __init__(self, window: Any, path: str | Path) -> None:
        super().__init__(window)
        self.window_ = window
        self.path = Path(path).expanduser().resolve()
        self.saved_count = 0
        window.edit_session = self
        window.imageLoaded.connect(self._on_loaded)
        self._title()

    def _title(self) -> None:
        from app.settings import APP_NAME

        self.window_.setWindowTitle(f"{self.path.name} — {TITLE_NOTE} — {APP_NAME}")

    def _on_loaded(self, _image: Any) -> None:
        self._title()

    def is_edited_file(self) -> bool:
        path = self.window_.path
        return path is not None and Path(path).resolve() == self.path

    def save(self) -> Path | None:
        """Write the restored photo over the file being edited; None (and a message) if not."""
        win = self.window_
        if win.image is None or not self.is_edited_file():
            win.statusBar().showMessage(
                f"Edit mode saves only {self.path.name}; use Save As for other photos", 6000)
            return None
        if win.result is None:
            win.statusBar().showMessage("Restore the whole photo first: previews are not "
                                        "saved", 5000)
            return None
        fmt = format_for_path(self.path)
        if fmt is None:
            win.banner.show_message(
                f"Cannot write back to {self.path.name}: GLOW does not write this format. "
                "Set the host's external editor file format to TIFF.", "error")
            return None
        from glow_core.imageio import write_image

        image = win.image
        depth = image.bit_depth if FORMATS[fmt].sixteen_bit else 8
        data = dataclasses.replace(image, pixels=np.clip(win.result.image, 0, 1)
                                   .astype(np.float32), source=None)
        try:
            written = write_image(self.path, data, format=fmt, bit_depth=depth,
                                  quality=win.store.get("export_quality"))
        except Exception as exc:  # shown, not raised
            win.banner.show_message(f"Could not save {self.path.name}: {exc}", "error")
            return None
        self.saved_count += 1
        win.last_saved = written
        win.statusBar().showMessage(f"Saved back to {written}; return to the host "
                                    "application to see it", 8000)
        return written


def start_edit(window: Any, path: str | Path) -> EditSession:
    """Open ``path`` in ``window`` in edit mode."""
    session = EditSession(window, path)
    window.open_path(session.path)
    return session
