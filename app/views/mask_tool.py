"""The region mask tool: paint, erase or drag shapes over the parts to restore or protect.

:class:`MaskLayer` is the model (numpy, testable without a mouse): a hard mask (255 =
restore, 0 = protect) painted with brush strokes, rectangles and ellipses, feathered into
the soft mask the result is blended through (:mod:`glow_core.mask`). :class:`MaskTool`
puts it on the compare view: while "Paint mask" is on, the left mouse button paints on
the canvas (the wheel still zooms), and protected parts are tinted red over the photo.
:class:`MaskPanel` holds the controls. The window hook (:mod:`app.roundtrip`) blends the
restored photo through the mask, saves the mask beside the photo
(``<photo>.glowmask.png``) and loads it again when the photo is opened.

``MaskTool.region()`` is the mask's bounding box ``(y0, x0, y1, x1)``, for the kernel
estimation that takes its region from this tool.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from glow_core import mask as maskmod

TOOLS = ("brush", "eraser", "rect", "ellipse")
TOOL_LABELS = {"brush": "Brush", "eraser": "Eraser", "rect": "Rectangle", "ellipse": "Ellipse"}
RESTORE, PROTECT = 255, 0
#: Undo steps kept. Each is the hard mask bit-packed (1 bit per pixel: 3 MB for 24 MP).
MAX_UNDO = 30


class MaskLayer:
    """A hard mask painted in image pixels plus the feather radius that softens it."""

    def __init__(self, height: int, width: int, feather: int = 8) -> None:
        self.hard = np.zeros((height, width), np.uint8)
        self.feather = int(feather)
        self.empty = True  # nothing painted: the whole photo is restored
        self._undo: list[tuple[np.ndarray, bool]] = []
        self._redo: list[tuple[np.ndarray, bool]] = []

    # ----- history: one step per stroke, shape, clear or invert ---------------------------
    def _snapshot(self) -> tuple[np.ndarray, bool]:
        return np.packbits(self.hard >= 128), self.empty

    def _apply(self, snap: tuple[np.ndarray, bool]) -> None:
        bits, empty = snap
        flat = np.unpackbits(bits, count=self.hard.size).astype(bool)
        self.hard = np.where(flat, RESTORE, PROTECT).astype(np.uint8).reshape(self.hard.shape)
        self.empty = empty

    def checkpoint(self) -> None:
        """Remember the mask as it is, before an edit (clears what could be redone)."""
        self._undo.append(self._snapshot())
        del self._undo[:-MAX_UNDO]
        self._redo.clear()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def _step(self, back: list, forth: list) -> bool:
        """Restore the last state of ``back``, keeping the current one on ``forth``."""
        if not back:
            return False
        forth.append(self._snapshot())
        self._apply(back.pop())
        return True

    def undo(self) -> bool:
        return self._step(self._undo, self._redo)

    def redo(self) -> bool:
        return self._step(self._redo, self._undo)

    @property
    def shape(self) -> tuple[int, int]:
        return self.hard.shape  # type: ignore[return-value]

    def _begin(self, value: int) -> None:
        if self.empty:  # first touch: protecting starts from "restore everything"
            self.hard[:] = RESTORE if value == PROTECT else PROTECT
            self.empty = False

    def rect(self, x0: float, y0: float, x1: float, y1: float, value: int) -> None:
        self._begin(value)
        xa, xb = sorted((int(round(x0)), int(round(x1))))
        ya, yb = sorted((int(round(y0)), int(round(y1))))
        cv2.rectangle(self.hard, (xa, ya), (xb - 1, yb - 1), int(value), thickness=-1)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, value: int) -> None:
        self._begin(value)
        center = (int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2)))
        axes = (max(int(round(abs(x1 - x0) / 2)), 1), max(int(round(abs(y1 - y0) / 2)), 1))
        cv2.ellipse(self.hard, center, axes, 0, 0, 360, int(value), thickness=-1)

    def stroke(self, points: list[tuple[float, float]], radius: float, value: int) -> None:
        self._begin(value)
        r = max(int(round(radius)), 1)
        pts = [(int(round(x)), int(round(y))) for x, y in points]
        for a, b in zip(pts, pts[1:] or pts):
            cv2.line(self.hard, a, b, int(value), thickness=2 * r, lineType=cv2.LINE_8)
            cv2.circle(self.hard, b, r, int(value), thickness=-1)

    def invert(self) -> None:
        if self.empty:
            self.hard[:] = RESTORE
            self.empty = False
        self.hard[:] = 255 - self.hard

    def clear(self) -> None:
        self.hard[:] = 0
        self.empty = True

    def set_soft(self, soft: np.ndarray) -> None:
        """Take a saved (already feathered) mask as the painted one."""
        self.hard = np.where(soft > 0.5, RESTORE, PROTECT).astype(np.uint8)
        self.empty = False

    def soft(self) -> np.ndarray | None:
        """The feathered mask (float32, 1 = restore), or None when nothing is painted."""
        if self.empty:
            return None
        return maskmod.feather(self.hard.astype(np.float32) / 255.0, self.feather)


class _Overlay(QWidget):
    """Draws the mask tint and the shape being dragged over one canvas."""

    def __init__(self, tool: MaskTool, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.tool = tool
        self.canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.resize(canvas.size())
        canvas.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt API
        if event.type() == QEvent.Type.Resize:
            self.resize(self.canvas.size())
        return False

    def paintEvent(self, event) -> None:  # Qt API
        tint = self.tool.tint_image()
        if tint is None and self.tool.drag_rect() is None:
            return
        painter = QPainter(self)
        h, w = self.tool.layer.shape if self.tool.layer is not None else (0, 0)
        top_left = self.canvas.image_to_widget(QPointF(0, 0))
        bottom_right = self.canvas.image_to_widget(QPointF(w, h))
        if tint is not None and self.tool.show_overlay:
            painter.drawImage(QRectF(top_left, bottom_right), tint)
        drag = self.tool.drag_rect()
        if drag is not None:
            a = self.canvas.image_to_widget(drag.topLeft())
            b = self.canvas.image_to_widget(drag.bottomRight())
            painter.setPen(QPen(QColor("#ffd54f"), 1.5, Qt.PenStyle.DashLine))
            if self.tool.tool == "ellipse":
                painter.drawEllipse(QRectF(a, b))
            else:
                painter.drawRect(QRectF(a, b))
        painter.end()


class MaskTool(QObject):
    """Puts a :class:`MaskLayer` on a ``CompareView``'s canvases."""

    changed = Signal()  # the mask changed (painted, cleared, loaded)
    activeChanged = Signal(bool)

    def __init__(self, view: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.layer: MaskLayer | None = None
        self.active = False
        self.tool = "brush"
        self.target = RESTORE  # what brush / shapes paint; the eraser paints the other
        self.brush_size = 40
        self.feather = 8
        self.show_overlay = True
        self._tint: QImage | None = None
        self._points: list[tuple[float, float]] = []
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self.overlays = []
        for canvas in (view.split_canvas, view.before_canvas, view.after_canvas):
            canvas.installEventFilter(self)
            self.overlays.append(_Overlay(self, canvas))

    # ----- model ---------------------------------------------------------------------------
    def set_image_size(self, height: int, width: int) -> None:
        self.layer = MaskLayer(height, width, self.feather)
        self._changed()

    def has_mask(self) -> bool:
        return self.layer is not None and not self.layer.empty

    def soft(self) -> np.ndarray | None:
        return None if self.layer is None else self.layer.soft()

    def region(self) -> tuple[int, int, int, int] | None:
        """Bounding box ``(y0, x0, y1, x1)`` of the restored area (None: no mask)."""
        return None if not self.has_mask() else maskmod.mask_region(self.layer.hard)

    def set_feather(self, radius: int) -> None:
        self.feather = int(radius)
        if self.layer is not None:
            self.layer.feather = self.feather
            if not self.layer.empty:
                self._changed()

    def clear(self) -> None:
        if self.layer is not None and not self.layer.empty:
            self.layer.checkpoint()
            self.layer.clear()
            self._changed()

    def invert(self) -> None:
        if self.layer is not None:
            self.layer.checkpoint()
            self.layer.invert()
            self._changed()

    def undo(self) -> None:
        """Take back the last stroke, shape, clear or invert."""
        if self.layer is not None and self.layer.undo():
            self._changed()

    def redo(self) -> None:
        if self.layer is not None and self.layer.redo():
            self._changed()

    def can_undo(self) -> bool:
        return self.layer is not None and self.layer.can_undo()

    def can_redo(self) -> bool:
        return self.layer is not None and self.layer.can_redo()

    def load(self, path: Path, shape: tuple[int, ...]) -> None:
        """Take the mask saved at ``path`` (raises MaskError for a wrong size)."""
        soft = maskmod.load_mask(path, shape)
        self.layer = MaskLayer(int(shape[0]), int(shape[1]), self.feather)
        self.layer.set_soft(soft)
        self._changed()

    def save(self, photo: Path) -> Path | None:
        soft = self.soft()
        if soft is None:
            return None
        return maskmod.save_mask(maskmod.mask_path(photo), soft)

    def _changed(self) -> None:
        self._tint = None
        self.changed.emit()
        self._repaint()

    def _repaint(self) -> None:
        for overlay in self.overlays:
            overlay.update()

    def tint_image(self) -> QImage | None:
        """Red over the protected parts (half the feathered weight over the edge)."""
        if not self.has_mask():
            return None
        if self._tint is None:
            keep = 1.0 - self.layer.soft()
            h, w = keep.shape
            rgba = np.zeros((h, w, 4), np.uint8)
            rgba[..., 0] = 230
            rgba[..., 1] = 40
            rgba[..., 2] = 40
            rgba[..., 3] = np.rint(keep * 110).astype(np.uint8)
            self._tint = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        return self._tint

    def drag_rect(self) -> QRectF | None:
        if self._start is None or self._end is None or self.tool not in ("rect", "ellipse"):
            return None
        return QRectF(self._start, self._end).normalized()

    # ----- interaction ---------------------------------------------------------------------
    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        for canvas in (self.view.split_canvas, self.view.before_canvas, self.view.after_canvas):
            if on:
                canvas.setCursor(Qt.CursorShape.CrossCursor)
            else:
                canvas.unsetCursor()
        self.activeChanged.emit(on)

    def value(self) -> int:
        if self.tool == "eraser":
            return PROTECT if self.target == RESTORE else RESTORE
        return self.target

    def press(self, p: QPointF) -> None:
        if self.layer is None:
            return
        if self.tool in ("brush", "eraser"):
            self.layer.checkpoint()  # the whole stroke is one undo step
            self._points = [(p.x(), p.y())]
            self.layer.stroke(self._points, self.brush_size / 2, self.value())
            self._changed()
        else:
            self._start = self._end = QPointF(p)
            self._repaint()

    def move(self, p: QPointF) -> None:
        if self.layer is None:
            return
        if self.tool in ("brush", "eraser") and self._points:
            self._points.append((p.x(), p.y()))
            self.layer.stroke(self._points[-2:], self.brush_size / 2, self.value())
            self._changed()
        elif self._start is not None:
            self._end = QPointF(p)
            self._repaint()

    def release(self, p: QPointF) -> None:
        if self.layer is None:
            return
        if self.tool in ("rect", "ellipse") and self._start is not None:
            a, b = self._start, QPointF(p)
            paint = self.layer.rect if self.tool == "rect" else self.layer.ellipse
            if abs(a.x() - b.x()) >= 1 and abs(a.y() - b.y()) >= 1:
                self.layer.checkpoint()
                paint(a.x(), a.y(), b.x(), b.y(), self.value())
            self._start = self._end = None
            self._changed()
        self._points = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt API
        if not self.active or self.layer is None:
            return False
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                        QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick):
            return False
        if kind == QEvent.Type.MouseMove and not (event.buttons() & Qt.MouseButton.LeftButton):
            return False
        if kind != QEvent.Type.MouseMove and event.button() != Qt.MouseButton.LeftButton:
            return False
        p = obj.widget_to_image(event.position())
        if kind == QEvent.Type.MouseButtonPress:
            self.press(p)
        elif kind == QEvent.Type.MouseMove:
            self.move(p)
        elif kind == QEvent.Type.MouseButtonRelease:
            self.release(p)
        return True


class MaskPanel(QGroupBox):
    """Controls of the mask tool: on/off, tool, target, size, feather, clear/invert/save."""

    saveRequested = Signal()

    def __init__(self, tool: MaskTool, parent: QWidget | None = None) -> None:
        super().__init__("Region mask", parent)
        self.tool = tool
        layout = QVBoxLayout(self)
        self.paint_button = QToolButton()
        self.paint_button.setText("Paint mask")
        self.paint_button.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Fixed)
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip("Paint on the photo with the left mouse button; "
                                     "turn off to pan again")
        self.paint_button.toggled.connect(tool.set_active)
        tool.activeChanged.connect(self.paint_button.setChecked)
        layout.addWidget(self.paint_button)
        row = QGridLayout()
        self.tool_buttons = QButtonGroup(self)
        self.tool_buttons.setExclusive(True)
        for i, name in enumerate(TOOLS):
            b = QToolButton()
            b.setText(TOOL_LABELS[name])
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setCheckable(True)
            b.setChecked(name == tool.tool)
            b.setProperty("tool", name)
            self.tool_buttons.addButton(b)
            row.addWidget(b, i // 2, i % 2)
        self.tool_buttons.buttonToggled.connect(self._on_tool)
        layout.addLayout(row)
        form = QFormLayout()
        self.target = QComboBox()
        self.target.addItem("Restore what I paint", RESTORE)
        self.target.addItem("Protect what I paint", PROTECT)
        self.target.currentIndexChanged.connect(
            lambda _: setattr(tool, "target", self.target.currentData()))
        form.addRow("Brush and shapes", self.target)
        self.size = QSpinBox()
        self.size.setRange(2, 1000)
        self.size.setValue(tool.brush_size)
        self.size.setSuffix(" px")
        self.size.valueChanged.connect(lambda v: setattr(tool, "brush_size", v))
        form.addRow("Brush size", self.size)
        self.feather = QSpinBox()
        self.feather.setRange(0, 500)
        self.feather.setValue(tool.feather)
        self.feather.setSuffix(" px")
        self.feather.setToolTip("Soft edge inside the restored area; protected parts stay "
                                "exactly as shot")
        self.feather.valueChanged.connect(tool.set_feather)
        form.addRow("Feather", self.feather)
        layout.addLayout(form)
        history = QHBoxLayout()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip(f"Take back the last stroke or shape "
                                    f"({QKeySequence(QKeySequence.StandardKey.Undo).toString()})")
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip(
            f"Redo ({QKeySequence(QKeySequence.StandardKey.Redo).toString()})")
        self.undo_button.clicked.connect(tool.undo)
        self.redo_button.clicked.connect(tool.redo)
        for b in (self.undo_button, self.redo_button):
            history.addWidget(b)
        layout.addLayout(history)
        # Ctrl+Z / Ctrl+Shift+Z anywhere in the window while a mask exists.
        for key, slot in ((QKeySequence.StandardKey.Undo, tool.undo),
                          (QKeySequence.StandardKey.Redo, tool.redo)):
            shortcut = QShortcut(QKeySequence(key), tool.view)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
        buttons = QHBoxLayout()
        self.clear_button = QPushButton("Clear")
        self.invert_button = QPushButton("Invert")
        self.save_button = QPushButton("Save mask")
        self.save_button.setToolTip("Save beside the photo as <photo>.glowmask.png, for "
                                    "batch runs with 'Use saved masks'")
        self.clear_button.clicked.connect(tool.clear)
        self.invert_button.clicked.connect(tool.invert)
        self.save_button.clicked.connect(self.saveRequested.emit)
        for b in (self.clear_button, self.invert_button, self.save_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.note = QLabel("No mask: the whole photo is restored.")
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        tool.changed.connect(self._update_note)
        self._update_note()

    def _on_tool(self, button: QToolButton, checked: bool) -> None:
        if checked:
            self.tool.tool = button.property("tool")

    def _update_note(self) -> None:
        self.undo_button.setEnabled(self.tool.can_undo())
        self.redo_button.setEnabled(self.tool.can_redo())
        region = self.tool.region()
        if not self.tool.has_mask():
            self.note.setText("No mask: the whole photo is restored.")
        elif region is None:
            self.note.setText("Everything is protected: restoring changes nothing.")
        else:
            y0, x0, y1, x1 = region
            self.note.setText(f"Restoring only the unshaded part ({x1 - x0} × {y1 - y0} px "
                              "box); red parts stay exactly as shot.")
