"""The "blur region" tool: drag a rectangle on the photo to choose where the blur is estimated.

The camera-shake kernel is best estimated where the photo has strong edges in several
directions and no moving subject. While the mode is on, a left drag on any canvas of the
:class:`~app.views.compare.CompareView` draws a rectangle (in image pixels, clipped to
the photo) instead of panning; releasing the button emits :attr:`RegionTool.chosen` and
ends the mode. The chosen rectangle stays drawn (dashed) until it is cleared.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QPainter, QPen

from glow_core.limits import MIN_REGION

MIN_SIDE = MIN_REGION  # the engine's smallest estimation box


class RegionTool(QObject):
    """Owns the region mode of a CompareView: mouse handling and drawing of the box."""

    chosen = Signal(object)  # QRect in image pixels, or None when cleared
    activeChanged = Signal(bool)

    def __init__(self, view: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.active = False
        self.region: QRect | None = None
        self._start: QPointF | None = None
        self._current: QPointF | None = None
        for canvas in (view.split_canvas, view.before_canvas, view.after_canvas):
            canvas.installEventFilter(self)
        view.overlays.append(self.paint)

    # ----- state --------------------------------------------------------------------------
    def set_active(self, on: bool) -> None:
        on = bool(on) and self.view.original is not None
        if on == self.active:
            return
        self.active = on
        self._start = self._current = None
        shape = Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor
        for canvas in self.view.canvases():
            canvas.setCursor(QCursor(shape))
        self.activeChanged.emit(on)
        self.view.refresh()

    def set_region(self, region: QRect | None) -> None:
        self.region = region
        self.chosen.emit(region)
        self.view.refresh()

    def clear(self) -> None:
        self.set_active(False)
        if self.region is not None:
            self.set_region(None)

    def engine_region(self) -> tuple[int, int, int, int] | None:
        """The region as the engine wants it: (y0, x0, y1, x1), end exclusive."""
        r = self.region
        if r is None:
            return None
        return r.top(), r.left(), r.bottom() + 1, r.right() + 1

    # ----- mouse ----------------------------------------------------------------------------
    def _image_rect(self) -> QRect | None:
        if self._start is None or self._current is None:
            return None
        size = self.view.image_size()
        box = QRectF(self._start, self._current).normalized()
        rect = QRect(int(box.left()), int(box.top()), int(round(box.width())),
                     int(round(box.height())))
        return rect.intersected(QRect(0, 0, size.width(), size.height()))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt API
        if not self.active:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._start = self._current = obj.widget_to_image(event.position())
            return True
        if kind == QEvent.Type.MouseMove and self._start is not None:
            self._current = obj.widget_to_image(event.position())
            self.view.refresh()
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._start is not None:
            self._current = obj.widget_to_image(event.position())
            rect = self._image_rect()
            self._start = self._current = None
            if rect is not None and rect.width() >= MIN_SIDE and rect.height() >= MIN_SIDE:
                self.region = rect
                self.chosen.emit(rect)
            self.set_active(False)
            return True
        return kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick)

    # ----- drawing -------------------------------------------------------------------------
    def paint(self, canvas: Any, painter: QPainter) -> None:
        dragging = self._image_rect()
        rect = dragging if dragging is not None else self.region
        if rect is None or rect.isEmpty():
            return
        tl = canvas.image_to_widget(QPointF(rect.left(), rect.top()))
        br = canvas.image_to_widget(QPointF(rect.right() + 1, rect.bottom() + 1))
        box = QRectF(tl, br)
        painter.save()
        small = rect.width() < MIN_SIDE or rect.height() < MIN_SIDE
        colour = QColor(255, 120, 90) if small else QColor(255, 214, 64)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 3))
        painter.drawRect(box)
        pen = QPen(colour, 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(box)
        label = f"Blur region  {rect.width()} × {rect.height()}"
        if small:
            label += f"  (at least {MIN_SIDE} px)"
        painter.drawText(box.adjusted(6, 4, 0, 0).topLeft() + QPointF(0, 12), label)
        painter.restore()
