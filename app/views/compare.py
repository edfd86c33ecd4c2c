"""Before/after comparison: split view with a draggable divider, or side by side.

Both layouts paint from one shared :class:`ViewState` (zoom, centre, cursor), so zoom, pan
and the loupe are in sync by construction rather than by copying values between views.
Painting is done by hand (QPainter) instead of QGraphicsView: we need per-pixel control of
the split, a 1:1 loupe and the motion overlay, and it keeps large photos fast by drawing
only the visible part from a cached reduced-size pyramid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QFont,
    QImage,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QStackedLayout, QWidget

from app.imaging import extent_colour, latent_cell, motion_segments
from app.theme import ACCENT, CANVAS_BG
from app.views.blur_trace import paint_blur_trace

MIN_ZOOM = 0.02
MAX_ZOOM = 32.0
ZOOM_STEP = 1.25
FIT_MARGIN = 12
LOUPE_SIZE = 180
DIVIDER_GRAB_PX = 8


class ViewState:
    """Zoom and centre (in image pixels) shared by every canvas of a CompareView."""

    def __init__(self) -> None:
        self.zoom = 1.0
        self.center = QPointF(0, 0)
        self.fit = True
        self.divider = 0.5  # fraction of the split canvas width
        self.cursor: QPointF | None = None  # image coordinates, for the loupe
        self.show_original = False
        self.show_motion = False
        self.loupe = False


class _Pyramid:
    """Halved copies of an image, built lazily, so zoomed-out drawing is fast and smooth."""

    def __init__(self, image: QImage) -> None:
        self.levels: list[QImage] = [image]

    def level_for(self, zoom: float) -> tuple[QImage, float]:
        """The smallest level still at least as large as the screen needs, and its scale."""
        scale = 1.0
        index = 0
        while scale / 2 >= zoom and min(self.levels[index].width(),
                                          self.levels[index].height()) > 64:
            index += 1
            scale /= 2
            if index >= len(self.levels):
                prev = self.levels[-1]
                self.levels.append(prev.scaled(max(1, prev.width() // 2),
                                               max(1, prev.height() // 2),
                                               Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        return self.levels[index], scale


class ImageCanvas(QWidget):
    """One painted surface. ``role`` is "split", "before" or "after"."""

    def __init__(self, view: CompareView, role: str) -> None:
        super().__init__(view)
        self.view = view
        self.role = role
        self.setMouseTracking(True)
        self.setMinimumSize(120, 90)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._drag: str | None = None
        self._drag_start = QPointF()
        self._center_start = QPointF()

    # ----- geometry -------------------------------------------------------------------------
    @property
    def state(self) -> ViewState:
        return self.view.state

    def image_to_widget(self, p: QPointF) -> QPointF:
        s = self.state
        return QPointF((p.x() - s.center.x()) * s.zoom + self.width() / 2,
                       (p.y() - s.center.y()) * s.zoom + self.height() / 2)

    def widget_to_image(self, p: QPointF) -> QPointF:
        s = self.state
        return QPointF((p.x() - self.width() / 2) / s.zoom + s.center.x(),
                       (p.y() - self.height() / 2) / s.zoom + s.center.y())

    def visible_image_rect(self) -> QRectF:
        """The part of the image (image pixel coordinates) this canvas shows."""
        size = self.view.image_size()
        if size.isEmpty():
            return QRectF()
        top_left = self.widget_to_image(QPointF(0, 0))
        bottom_right = self.widget_to_image(QPointF(self.width(), self.height()))
        return QRectF(top_left, bottom_right).intersected(
            QRectF(0, 0, size.width(), size.height()))

    def divider_x(self) -> float:
        return self.state.divider * self.width()

    # ----- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), CANVAS_BG)
        view = self.view
        if view.original is None:
            self._paint_placeholder(painter)
            painter.end()
            return
        state = self.state
        show_restored = view.restored is not None and not state.show_original
        if self.role == "split":
            if show_restored:
                dx = int(round(self.divider_x()))
                painter.save()
                painter.setClipRect(QRect(0, 0, dx, self.height()))
                self._paint_image(painter, "original")
                painter.restore()
                painter.save()
                painter.setClipRect(QRect(dx, 0, self.width() - dx, self.height()))
                self._paint_image(painter, "restored")
                painter.restore()
            else:
                self._paint_image(painter, "original")
        elif self.role == "after" and show_restored:
            self._paint_image(painter, "restored")
        else:
            self._paint_image(painter, "original")
        self._paint_preview_rect(painter)
        if state.show_motion and (self.role != "after" or not show_restored):
            if view.kernel_field is not None:  # the blur trace replaces the motion axes
                paint_blur_trace(self, painter, view.kernel_field)
            elif view.motion is not None:
                self._paint_motion(painter)
        for overlay in view.overlays:  # tools drawing over the photo (the blur region)
            overlay(self, painter)
        if self.role == "split" and show_restored:
            self._paint_divider(painter)
        self._paint_labels(painter, show_restored)
        if state.loupe and state.cursor is not None:
            self._paint_loupe(painter, show_restored)
        painter.end()

    def _paint_placeholder(self, painter: QPainter) -> None:
        if self.role == "before" and self.view.mode == "side":
            return
        painter.setPen(QColor(150, 150, 150))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        text = self.view.placeholder_text
        painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def _paint_image(self, painter: QPainter, which: str) -> None:
        pyramid = self.view.pyramid(which)
        if pyramid is None:
            return
        zoom = self.state.zoom
        level, level_scale = pyramid.level_for(zoom)
        visible = self.visible_image_rect()
        if visible.isEmpty():
            return
        # Whole pixels of the source level, a margin so edges never show gaps.
        src = QRectF(math.floor(visible.left() * level_scale) - 1,
                     math.floor(visible.top() * level_scale) - 1,
                     math.ceil(visible.width() * level_scale) + 3,
                     math.ceil(visible.height() * level_scale) + 3).intersected(
            QRectF(0, 0, level.width(), level.height()))
        target = QRectF(self.image_to_widget(QPointF(src.left() / level_scale,
                                                     src.top() / level_scale)),
                        self.image_to_widget(QPointF(src.right() / level_scale,
                                                     src.bottom() / level_scale)))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 1.0)
        painter.drawImage(target, level, src)

    def _paint_preview_rect(self, painter: QPainter) -> None:
        rect = self.view.preview_rect
        if rect is None or self.state.show_original or self.role == "before":
            return
        r = QRectF(self.image_to_widget(QPointF(rect.left(), rect.top())),
                   self.image_to_widget(QPointF(rect.right() + 1, rect.bottom() + 1)))
        pen = QPen(QColor(ACCENT), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(r)

    def _paint_divider(self, painter: QPainter) -> None:
        x = self.divider_x()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(0, 0, 0, 120), 3))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setPen(QPen(QColor(240, 240, 240), 1.5))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        cy = self.height() / 2
        painter.setBrush(QColor(245, 245, 245))
        painter.setPen(QPen(QColor(0, 0, 0, 140), 1))
        painter.drawEllipse(QPointF(x, cy), 11, 11)
        painter.setPen(QPen(QColor(60, 60, 60), 1.6))
        for sign in (-1, 1):
            tip = x + sign * 7
            base = x + sign * 2.5
            painter.drawLine(QPointF(base, cy - 4), QPointF(tip, cy))
            painter.drawLine(QPointF(base, cy + 4), QPointF(tip, cy))

    def _pill(self, painter: QPainter, text: str, anchor: str) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        w = metrics.horizontalAdvance(text) + 18
        h = metrics.height() + 8
        size = self.view.image_size()
        shown = QRectF(self.image_to_widget(QPointF(0, 0)),
                       self.image_to_widget(QPointF(size.width(), size.height())))
        left = max(12.0, shown.left() + 12)
        right = min(self.width() - 12.0, shown.right() - 12)
        top = max(12.0, shown.top() + 12)
        x = left if anchor == "left" else right - w
        rect = QRectF(x, top, w, h)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 20, 170))
        painter.drawRoundedRect(rect, h / 2, h / 2)
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_labels(self, painter: QPainter, show_restored: bool) -> None:
        view = self.view
        after = "Preview" if view.preview_rect is not None else "After"
        if self.state.show_original:
            self._pill(painter, "Original (held)", "left")
        elif self.role == "split":
            self._pill(painter, "Before", "left")
            if show_restored:
                self._pill(painter, after, "right")
        elif self.role == "before":
            self._pill(painter, "Before", "left")
        else:
            self._pill(painter, after if show_restored else "After: not restored yet", "left")

    def _paint_motion(self, painter: QPainter) -> None:
        motion = self.view.motion
        size = self.view.image_size()
        gh, gw = motion.shape[:2]
        cell = latent_cell(size.height(), size.width(), gh, gw)
        cell_screen = cell * self.state.zoom
        stride = max(1, math.ceil(30.0 / max(cell_screen, 1e-6)))
        segments = motion_segments(motion, size.height(), size.width(), stride=stride)
        if not segments:
            return
        max_extent = max(max(s.extent for s in segments), 1e-6)
        max_defocus = max(s.defocus for s in segments)
        # Length proportional to extent; the longest fills 90 % of a drawn cell.
        k = 0.9 * cell_screen * stride / max_extent
        visible = self.visible_image_rect().adjusted(-cell, -cell, cell, cell)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for seg in segments:
            if not visible.contains(QPointF(seg.cx, seg.cy)):
                continue
            c = self.image_to_widget(QPointF(seg.cx, seg.cy))
            if seg.defocus > 0.5 and seg.defocus > 0.5 * seg.extent:
                r = 0.4 * cell_screen * stride * seg.defocus / max(max_defocus, 1e-6)
                painter.setPen(QPen(QColor(255, 255, 255, 60), 1))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(c, r, r)
            dx, dy = seg.dx * k, seg.dy * k
            colour = extent_colour(seg.extent, max_extent)
            painter.setPen(QPen(QColor(0, 0, 0, 150), 4, Qt.PenStyle.SolidLine,
                                Qt.PenCapStyle.RoundCap))
            painter.drawLine(QPointF(c.x() - dx, c.y() - dy), QPointF(c.x() + dx, c.y() + dy))
            painter.setPen(QPen(colour, 2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawLine(QPointF(c.x() - dx, c.y() - dy), QPointF(c.x() + dx, c.y() + dy))
        self._paint_motion_legend(painter, max_extent, max_defocus)

    def _paint_motion_legend(self, painter: QPainter, max_extent: float,
                             max_defocus: float) -> None:
        text = f"Blur motion  ·  longest ≈ {max_extent:.1f} px"
        if max_defocus > 0:
            text += f"  ·  defocus ≤ {max_defocus:.1f} px"
        metrics = painter.fontMetrics()
        w = metrics.horizontalAdvance(text) + 24
        rect = QRectF(12, self.height() - 52, max(w, 200), 40)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 20, 190))
        painter.drawRoundedRect(rect, 6, 6)
        painter.setPen(QColor(230, 230, 230))
        painter.drawText(rect.adjusted(12, 4, -12, -18), Qt.AlignmentFlag.AlignLeft, text)
        ramp = QRectF(rect.left() + 12, rect.bottom() - 13, rect.width() - 24, 5)
        gradient = QLinearGradient(ramp.topLeft(), ramp.topRight())
        for t in (0.0, 0.5, 1.0):
            gradient.setColorAt(t, extent_colour(t, 1.0))
        painter.setBrush(QBrush(gradient))
        painter.drawRoundedRect(ramp, 2, 2)

    def _paint_loupe(self, painter: QPainter, show_restored: bool) -> None:
        cursor = self.state.cursor
        size = self.view.image_size()
        if not QRectF(0, 0, size.width(), size.height()).contains(cursor):
            return
        at = self.image_to_widget(cursor)
        if self.role == "split":
            which = "restored" if show_restored and at.x() >= self.divider_x() else "original"
        elif self.role == "after" and show_restored:
            which = "restored"
        else:
            which = "original"
        image = self.view.images[which]
        half = LOUPE_SIZE / 2
        src = QRectF(cursor.x() - half, cursor.y() - half, LOUPE_SIZE, LOUPE_SIZE)
        x = at.x() + 24 if at.x() + 24 + LOUPE_SIZE < self.width() else at.x() - 24 - LOUPE_SIZE
        y = at.y() + 24 if at.y() + 24 + LOUPE_SIZE < self.height() else at.y() - 24 - LOUPE_SIZE
        target = QRectF(x, y, LOUPE_SIZE, LOUPE_SIZE)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.fillRect(target, CANVAS_BG)
        painter.setClipRect(target)
        painter.drawImage(target, image, src)  # 1:1, nearest: true pixels
        painter.restore()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(240, 240, 240), 1.5))
        painter.drawRect(target)
        painter.setPen(QColor(240, 240, 240))
        painter.drawText(target.adjusted(6, 4, -6, -4),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
                         "1:1 " + ("after" if which == "restored" else "before"))

    # ----- interaction ----------------------------------------------------------------------
    def _near_divider(self, x: float) -> bool:
        return (self.role == "split" and self.view.restored is not None
                and abs(x - self.divider_x()) <= DIVIDER_GRAB_PX)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt API
        if event.button() != Qt.MouseButton.LeftButton or self.view.original is None:
            return super().mousePressEvent(event)
        pos = event.position()
        if self._near_divider(pos.x()):
            self._drag = "divider"
        else:
            self._drag = "pan"
            self._drag_start = pos
            self._center_start = QPointF(self.state.center)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt API
        pos = event.position()
        if self.view.original is not None:
            self.state.cursor = self.widget_to_image(pos)
        if self._drag == "divider":
            self.view.set_divider(pos.x() / max(self.width(), 1))
        elif self._drag == "pan":
            delta = pos - self._drag_start
            zoom = self.state.zoom
            self.view.set_center(QPointF(self._center_start.x() - delta.x() / zoom,
                                         self._center_start.y() - delta.y() / zoom))
        else:
            shape = (Qt.CursorShape.SplitHCursor if self._near_divider(pos.x())
                     else Qt.CursorShape.OpenHandCursor if self.view.original is not None
                     else Qt.CursorShape.ArrowCursor)
            self.setCursor(QCursor(shape))
            if self.state.loupe:
                self.view.refresh()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # Qt API
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        event.accept()

    def leaveEvent(self, event) -> None:  # Qt API
        self.state.cursor = None
        if self.state.loupe:
            self.view.refresh()
        super().leaveEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # Qt API
        """Double click toggles fit and 100 % at the clicked point, as in most photo tools."""
        if self.view.original is None:
            return
        if self.state.fit:
            self.view.zoom_to(1.0, anchor=event.position(), canvas=self)
        else:
            self.view.zoom_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt API
        if self.view.original is None:
            return
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        self.view.zoom_to(self.state.zoom * (ZOOM_STEP ** steps), anchor=event.position(),
                          canvas=self)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt API
        super().resizeEvent(event)
        if self.state.fit:
            self.view.zoom_fit()


class CompareView(QWidget):
    """Split / side-by-side comparison of the original and the restored photo."""

    zoomChanged = Signal(float)  # Qt naming
    dividerChanged = Signal(float)
    modeChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = ViewState()
        self.mode = "split"
        self.original: QImage | None = None
        self.restored: QImage | None = None
        self.motion: np.ndarray | None = None
        self.kernel_field: Any = None  # glow_core.kernel.KernelField: the blur trace
        self.overlays: list[Callable[[ImageCanvas, QPainter], None]] = []
        self.preview_rect: QRect | None = None
        self.placeholder_text = "Open a photo (Ctrl+O) or drop it here"
        self._pyramids: dict[str, _Pyramid] = {}

        self.split_canvas = ImageCanvas(self, "split")
        self.before_canvas = ImageCanvas(self, "before")
        self.after_canvas = ImageCanvas(self, "after")
        side = QWidget(self)
        side_layout = QHBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(2)
        side_layout.addWidget(self.before_canvas, 1)
        side_layout.addWidget(self.after_canvas, 1)
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.split_canvas)
        self._stack.addWidget(side)

    # ----- content --------------------------------------------------------------------------
    @property
    def images(self) -> dict[str, QImage]:
        return {"original": self.original, "restored": self.restored}

    def pyramid(self, which: str) -> _Pyramid | None:
        image = self.images.get(which)
        if image is None:
            return None
        if which not in self._pyramids:
            self._pyramids[which] = _Pyramid(image)
        return self._pyramids[which]

    def image_size(self) -> QSize:
        return self.original.size() if self.original is not None else QSize()

    def set_original(self, image: QImage | None, *, keep_view: bool = False) -> None:
        """A new photo: clears the restored result and fits it to the window."""
        self.original = image
        self.restored = None
        self.motion = None
        self.kernel_field = None
        self.preview_rect = None
        self._pyramids.clear()
        if image is not None and not keep_view:
            self.zoom_fit()
        self.refresh()

    def set_restored(self, image: QImage | None, preview_rect: QRect | None = None) -> None:
        if image is not None and self.original is not None and image.size() != self.original.size():
            raise ValueError("restored image must have the size of the original")
        self.restored = image
        self.preview_rect = preview_rect
        self._pyramids.pop("restored", None)
        self.refresh()

    def set_motion(self, motion: np.ndarray | None) -> None:
        self.motion = motion
        self.refresh()

    def set_kernel_field(self, kernel_field: Any) -> None:
        """The estimated kernels to draw as the blur trace (None: the motion axes)."""
        self.kernel_field = kernel_field
        self.refresh()

    # ----- state changes --------------------------------------------------------------------
    def canvases(self) -> list[ImageCanvas]:
        if self.mode == "split":
            return [self.split_canvas]
        return [self.before_canvas, self.after_canvas]

    def primary_canvas(self) -> ImageCanvas:
        return self.split_canvas if self.mode == "split" else self.after_canvas

    def refresh(self) -> None:
        for canvas in (self.split_canvas, self.before_canvas, self.after_canvas):
            canvas.update()

    def set_mode(self, mode: str) -> None:
        if mode not in ("split", "side"):
            raise ValueError(f"unknown compare mode {mode!r}")
        if mode == self.mode:
            return
        self.mode = mode
        self._stack.setCurrentIndex(0 if mode == "split" else 1)
        # Layout of the new page happens lazily; make sizes right before fitting.
        self._stack.currentWidget().resize(self.size())
        self._stack.activate()
        if self.state.fit:
            self.zoom_fit()
        self.modeChanged.emit(mode)
        self.refresh()

    def toggle_mode(self) -> None:
        self.set_mode("side" if self.mode == "split" else "split")

    def set_divider(self, fraction: float) -> None:
        self.state.divider = min(max(fraction, 0.0), 1.0)
        self.dividerChanged.emit(self.state.divider)
        self.split_canvas.update()

    def set_show_original(self, on: bool) -> None:
        if self.state.show_original != on:
            self.state.show_original = on
            self.refresh()

    def set_show_motion(self, on: bool) -> None:
        self.state.show_motion = on
        self.refresh()

    def set_loupe(self, on: bool) -> None:
        self.state.loupe = on
        self.refresh()

    def _clamp_center(self, center: QPointF) -> QPointF:
        size = self.image_size()
        return QPointF(min(max(center.x(), 0.0), float(size.width())),
                       min(max(center.y(), 0.0), float(size.height())))

    def set_center(self, center: QPointF) -> None:
        self.state.center = self._clamp_center(center)
        self.state.fit = False
        self.refresh()

    def fit_zoom(self) -> float:
        size = self.image_size()
        canvas = self.primary_canvas()
        if size.isEmpty():
            return 1.0
        w = max(canvas.width() - 2 * FIT_MARGIN, 16)
        h = max(canvas.height() - 2 * FIT_MARGIN, 16)
        return min(w / size.width(), h / size.height())

    def zoom_fit(self) -> None:
        size = self.image_size()
        if size.isEmpty():
            return
        self.state.zoom = min(max(self.fit_zoom(), MIN_ZOOM), MAX_ZOOM)
        self.state.center = QPointF(size.width() / 2, size.height() / 2)
        self.state.fit = True
        self.zoomChanged.emit(self.state.zoom)
        self.refresh()

    def zoom_to(self, zoom: float, anchor: QPointF | None = None,
                canvas: ImageCanvas | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coords of ``canvas``) still."""
        if self.original is None:
            return
        canvas = canvas or self.primary_canvas()
        zoom = min(max(zoom, min(MIN_ZOOM, self.fit_zoom())), MAX_ZOOM)
        if anchor is None:
            anchor = QPointF(canvas.width() / 2, canvas.height() / 2)
        fixed = canvas.widget_to_image(anchor)
        self.state.zoom = zoom
        self.state.center = self._clamp_center(QPointF(
            fixed.x() - (anchor.x() - canvas.width() / 2) / zoom,
            fixed.y() - (anchor.y() - canvas.height() / 2) / zoom))
        self.state.fit = False
        self.zoomChanged.emit(zoom)
        self.refresh()

    def zoom_in(self) -> None:
        self.zoom_to(self.state.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_to(self.state.zoom / ZOOM_STEP)

    def zoom_actual(self) -> None:
        self.zoom_to(1.0)

    def visible_image_rect(self) -> QRect:
        """Integer image rectangle currently on screen (what "Restore visible region" uses)."""
        rect = self.primary_canvas().visible_image_rect()
        return rect.toAlignedRect().intersected(QRect(0, 0, self.image_size().width(),
                                                      self.image_size().height()))
