"""An inline message strip above the photo: errors and missing pieces, never a frozen modal.

Why inline: a modal box during a batch or after a failed restore blocks the whole window;
a banner says what happened, offers the details, and lets the user carry on.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget


class Banner(QFrame):
    """Hidden until :meth:`show_message`; ``level`` is "error", "warning" or "info"."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("level", "info")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 8, 8)
        layout.setSpacing(10)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self._show_details)
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.close_button)
        self.details = ""
        self.level = "info"
        self.hide()

    def show_message(self, text: str, level: str = "error", details: str = "",
                     closable: bool = True) -> None:
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.details = details
        self.details_button.setVisible(bool(details))
        self.close_button.setVisible(closable)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    def _show_details(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Details")
        box.setIcon(QMessageBox.Icon.Information)
        box.setText(self.label.text())
        box.setDetailedText(self.details)
        box.open()
