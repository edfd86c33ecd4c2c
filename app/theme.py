"""Dark neutral theme for photo work.

Why neutral grey and not a coloured dark theme: a tinted surround shifts how colours in the
photo are perceived. Everything here is mid-to-dark grey with one restrained accent.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4a90d9"
CANVAS_BG = QColor(38, 38, 38)

_PALETTE = {
    QPalette.ColorRole.Window: "#2b2b2b",
    QPalette.ColorRole.WindowText: "#dcdcdc",
    QPalette.ColorRole.Base: "#232323",
    QPalette.ColorRole.AlternateBase: "#2e2e2e",
    QPalette.ColorRole.ToolTipBase: "#3a3a3a",
    QPalette.ColorRole.ToolTipText: "#eeeeee",
    QPalette.ColorRole.Text: "#dcdcdc",
    QPalette.ColorRole.Button: "#353535",
    QPalette.ColorRole.ButtonText: "#dcdcdc",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: ACCENT,
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: ACCENT,
    QPalette.ColorRole.PlaceholderText: "#808080",
}

STYLESHEET = f"""
QMainWindow, QDialog {{ background: #2b2b2b; }}
QToolTip {{ color: #eeeeee; background: #3a3a3a; border: 1px solid #555; padding: 4px; }}
QDockWidget {{ color: #cfcfcf; font-weight: 600; }}
QDockWidget::title {{ background: #303030; padding: 6px 8px; border-bottom: 1px solid #1e1e1e; }}
QGroupBox {{
    border: 1px solid #3c3c3c; border-radius: 6px; margin-top: 14px; padding: 10px 8px 8px 8px;
    font-weight: 600; color: #bdbdbd;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
QLabel#hint {{ color: #9a9a9a; font-size: 11px; }}
QLabel#heading {{ font-size: 13px; font-weight: 600; color: #e6e6e6; }}
QPushButton {{
    background: #3a3a3a; border: 1px solid #4a4a4a; border-radius: 4px; padding: 5px 12px;
    color: #e0e0e0;
}}
QPushButton:hover {{ background: #444444; }}
QPushButton:pressed {{ background: #2f2f2f; }}
QPushButton:disabled {{ color: #777777; background: #313131; border-color: #3a3a3a; }}
QPushButton#primary {{ background: {ACCENT}; border-color: #3b7bbf;
    color: white; font-weight: 600; }}
QPushButton#primary:hover {{ background: #5a9de0; }}
QPushButton#primary:disabled {{ background: #3a4a5a; color: #9aa7b4; }}
QToolBar {{ background: #2f2f2f; border: none; border-bottom: 1px solid #1f1f1f; spacing: 4px;
    padding: 3px; }}
QToolButton {{ color: #dcdcdc; padding: 4px 8px; border-radius: 4px; }}
QToolButton:hover {{ background: #404040; }}
QToolButton:checked {{ background: #3d5a78; }}
QToolButton:disabled {{ color: #666666; }}
QStatusBar {{ background: #252525; color: #bdbdbd; border-top: 1px solid #1c1c1c; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QProgressBar {{ background: #232323; border: 1px solid #444; border-radius: 4px; height: 14px;
    text-align: center; color: #e0e0e0; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QLineEdit, QPlainTextEdit {{
    background: #232323; border: 1px solid #474747; border-radius: 4px; padding: 3px 6px;
    color: #e0e0e0; selection-background-color: {ACCENT};
}}
QLineEdit:focus, QPlainTextEdit:focus {{ border-color: {ACCENT}; }}
QLineEdit:disabled {{ color: #777; }}
QSlider::groove:horizontal {{ height: 4px; background: #474747; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: #d0d0d0; width: 12px;
    margin: -5px 0; border-radius: 6px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QTableWidget {{ gridline-color: #3a3a3a; background: #232323;
    alternate-background-color: #292929; }}
QHeaderView::section {{ background: #303030; color: #cfcfcf; border: none;
    border-right: 1px solid #3a3a3a; padding: 4px 6px; }}
QMenuBar {{ background: #2b2b2b; color: #dcdcdc; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: #3d5a78; }}
QMenu {{ background: #303030; color: #dcdcdc; border: 1px solid #444; }}
QScrollArea {{ border: none; }}
QFrame#banner[level="error"] {{ background: #5a2a2a; border-bottom: 1px solid #7a3a3a; }}
QFrame#banner[level="warning"] {{ background: #5a4a22; border-bottom: 1px solid #7a6530; }}
QFrame#banner[level="info"] {{ background: #2a4258; border-bottom: 1px solid #3a5a78; }}
QFrame#banner QLabel {{ color: #f2f2f2; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style + a neutral dark palette + a small stylesheet for spacing."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _PALETTE.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#777777"))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
