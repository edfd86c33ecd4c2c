"""Caption panel: the scene description that steers the restoration (semantic guidance).

The caption is part of the options; editing it and restoring again keeps the seed, so the
difference the user sees comes from the words alone. "Suggest caption" asks the optional
captioner; when none is installed the button is greyed out and its tooltip says why.
"""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_CAPTION_CHARS = 400


def captioner_status() -> tuple[Any, str]:
    """``(get_captioner, "")`` when captioner weights are installed, else ``(None, why)``.

    Only looks for the weights file (cheap); the model itself loads in a worker on first
    use, where :class:`CaptionerUnavailable` is still handled.
    """
    try:
        from glow_core.text.captions import captioner
    except ImportError as exc:
        return None, f"Caption suggestions are unavailable in this build ({exc})."
    try:
        found = captioner.find_captioner_weights()
    except Exception as exc:  # any failure means "not available"
        return None, f"Caption suggestions are unavailable: {exc}"
    if found is None:
        return None, "Caption suggestions are unavailable: " + captioner.install_hint()
    return functools.cache(captioner.get_captioner), ""  # load the model once


def run_captioner(factory: Any, pixels: Any) -> str:
    """Load the captioner (cached by the caller's factory) and suggest a caption."""
    model = factory()
    suggest = getattr(model, "suggest", None) or getattr(model, "caption", None)
    if not callable(suggest):
        raise TypeError("captioner has no suggest() method")
    return str(suggest(pixels)).strip()


class CaptionPanel(QWidget):
    """Editable caption + suggestion button."""

    changed = Signal(str)
    suggestRequested = Signal()  # Qt naming

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 0, 10, 6)
        box = QGroupBox("Scene caption")
        inner = QVBoxLayout(box)
        inner.setSpacing(6)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText("e.g. a man riding a bicycle on a city street at dusk")
        self.edit.setToolTip("Describe what is in the photo. The restoration uses it as "
                             "semantic guidance; leave empty to restore without it.")
        self.edit.setFixedHeight(72)
        self.edit.textChanged.connect(self._on_text)
        inner.addWidget(self.edit)
        row = QHBoxLayout()
        self.hint = QLabel("Edit and restore again: the seed is kept.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.suggest = QPushButton("Suggest caption")
        self.suggest.clicked.connect(self.suggestRequested)
        row.addWidget(self.hint, 1)
        row.addWidget(self.suggest)
        inner.addLayout(row)
        layout.addWidget(box)
        self.factory: Any = None
        self.unavailable_reason = ""

    def _on_text(self) -> None:
        text = self.caption()
        if len(text) > MAX_CAPTION_CHARS:
            self.edit.setPlainText(text[:MAX_CAPTION_CHARS])
            return
        self.changed.emit(text)

    def caption(self) -> str:
        return " ".join(self.edit.toPlainText().split())

    def set_caption(self, text: str) -> None:
        self.edit.setPlainText(text)

    def set_captioner(self, factory: Any, reason: str = "") -> None:
        """Enable "Suggest caption" for a captioner factory, or grey it out with ``reason``."""
        self.factory = factory
        self.unavailable_reason = reason
        self.suggest.setEnabled(factory is not None)
        self.suggest.setToolTip(
            "Describe the photo automatically (you can edit the result)" if factory is not None
            else reason or "No captioner is available")

    def set_busy(self, busy: bool) -> None:
        self.suggest.setEnabled(not busy and self.factory is not None)
        self.suggest.setText("Describing…" if busy else "Suggest caption")
