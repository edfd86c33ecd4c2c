"""The blur trace: each region's estimated blur kernel drawn over the photo.

Like Photoshop's Shake Reduction, the kernel is shown as a small image, a bright trace on a
dark square, at the place of the region it was estimated in, with its confidence below.
A single kernel (a 1 x 1 field) is drawn at the centre of the region it came from. The
legend says the kernel size and how far the estimate is trusted; when the stage backed off
(a sharp photo) it says so instead. After a restore, the parts of the photo where the
acceptance test held the deconvolution back (the kernel does not explain them) are hatched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

TRACE_MIN_PX = 56  # the drawn kernel's side on screen: readable ...
TRACE_MAX_PX = 150  # ... without hiding the photo
TRACE_SHARE = 0.55  # of the region's shorter side on screen
LOW_CONFIDENCE = 0.5  # below: the square's frame is dimmed (region pulled to neighbours)


def kernel_qimage(kernel: np.ndarray) -> QImage:
    """A kernel as an 8-bit grey image: peak white, square-root tone so tails show."""
    k = np.clip(np.asarray(kernel, dtype=np.float64), 0.0, None)
    k = k / max(float(k.max()), 1e-12)
    grey = np.ascontiguousarray(np.round(np.sqrt(k) * 255.0).astype(np.uint8))
    h, w = grey.shape
    image = QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8)
    return image.copy()  # own the pixels: ``grey`` goes out of scope


def _traces(kernel_field: Any) -> list[tuple[tuple[int, int, int, int], QImage, float]]:
    """(box, image, confidence) per region, cached on the field object."""
    cached = getattr(kernel_field, "_qt_traces", None)
    if cached is not None:
        return cached
    out = []
    gy, gx = kernel_field.grid
    # The estimator's own confidence per region (before regularisation pulled weak regions
    # towards their neighbours); the regularised share is 1 for every trusted region.
    own = getattr(kernel_field, "raw_confidences", None)
    if own is None:
        own = kernel_field.confidences
    for i in range(gy):
        for j in range(gx):
            box = tuple(int(v) for v in kernel_field.boxes[i, j])
            conf = float(np.asarray(own)[i, j])
            out.append((box, kernel_qimage(kernel_field.kernels[i, j]), conf))
    kernel_field._qt_traces = out
    return out


def paint_blur_trace(canvas: Any, painter: QPainter, kernel_field: Any) -> None:
    """Draw ``kernel_field`` over ``canvas`` (an ImageCanvas: image_to_widget, state.zoom)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp pixels
    zoom = canvas.state.zoom
    metrics = painter.fontMetrics()
    backed_off = bool(getattr(kernel_field, "backs_off", False))
    _paint_held_back(canvas, painter, kernel_field)
    for (y0, x0, y1, x1), image, conf in _traces(kernel_field):
        side = TRACE_SHARE * min(y1 - y0, x1 - x0) * zoom
        side = float(np.clip(side, TRACE_MIN_PX, TRACE_MAX_PX))
        c = canvas.image_to_widget(QPointF(0.5 * (x0 + x1), 0.5 * (y0 + y1)))
        square = QRectF(c.x() - side / 2, c.y() - side / 2, side, side)
        if not square.intersects(QRectF(canvas.rect())):
            continue
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(8, 8, 8, 225))
        painter.drawRoundedRect(square.adjusted(-4, -4, 4, 4 + metrics.height()), 5, 5)
        painter.drawImage(square, image)
        strong = conf >= LOW_CONFIDENCE and not backed_off
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(255, 214, 64, 200 if strong else 90), 1))
        painter.drawRect(square)
        painter.setPen(QColor(235, 235, 235) if strong else QColor(160, 160, 160))
        label = QRectF(square.left(), square.bottom() + 1, square.width(), metrics.height())
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, f"{conf:.2f}")
    _legend(canvas, painter, kernel_field, backed_off)
    painter.restore()


def held_back(kernel_field: Any) -> list[tuple[tuple[float, float, float, float], float]]:
    """((y0, x0, y1, x1), share) of each part of the photo where the restore's acceptance
    test held the deconvolution back (share < 1; engine: ``accept.cell_strengths`` for one
    kernel, ``region_strengths`` for a field), on the even grid the engine reads its
    residuals on; empty before a restore (an estimate alone is not judged yet)."""
    shares = _shares(kernel_field)
    if shares is None or getattr(kernel_field, "backs_off", False):
        return []
    h, w = kernel_field.image_size
    gy, gx = shares.shape
    ys, xs = np.linspace(0, h, gy + 1), np.linspace(0, w, gx + 1)
    return [((float(ys[i]), float(xs[j]), float(ys[i + 1]), float(xs[j + 1])),
             float(shares[i, j])) for i in range(gy) for j in range(gx) if shares[i, j] < 1.0]


def _shares(kernel_field: Any) -> np.ndarray | None:
    """The acceptance's per-part shares (engine: ``Acceptance.part_shares``), or None."""
    return getattr(getattr(kernel_field, "acceptance", None), "part_shares", None)


def _paint_held_back(canvas: Any, painter: QPainter, kernel_field: Any) -> None:
    """Hatch the parts the deconvolution was held back in, darker the less of it they
    kept, so a softer patch in the result reads as the engine's choice."""
    painter.setPen(Qt.PenStyle.NoPen)
    for (y0, x0, y1, x1), share in held_back(kernel_field):
        rect = QRectF(canvas.image_to_widget(QPointF(x0, y0)),
                      canvas.image_to_widget(QPointF(x1, y1)))
        if not rect.intersects(QRectF(canvas.rect())):
            continue
        painter.setBrush(QColor(0, 0, 0, int(round(120 * (1.0 - share)))))
        painter.drawRect(rect)
        painter.setBrush(QBrush(QColor(255, 214, 64, int(round(90 * (1.0 - share)))),
                                Qt.BrushStyle.BDiagPattern))
        painter.drawRect(rect)


def legend_text(kernel_field: Any) -> str:
    """The legend's words for a field: size, grid, confidence, or that it backed off."""
    size = int(kernel_field.kernels.shape[-1])
    conf = float(kernel_field.global_confidence)
    gy, gx = kernel_field.grid
    if getattr(kernel_field, "backs_off", False):
        return (f"No clear blur found (confidence {conf:.2f}): the photo is restored "
                "without deconvolution")
    where = f"{gy} × {gx} regions" if (gy, gx) != (1, 1) else "one kernel"
    text = f"Blur trace  ·  {size} px  ·  {where}  ·  confidence {conf:.2f}"
    held = held_back(kernel_field)
    if held:
        text += f"  ·  held back in {len(held)} of {_shares(kernel_field).size} parts (hatched)"
    return text


def _legend(canvas: Any, painter: QPainter, kernel_field: Any, backed_off: bool) -> None:
    text = legend_text(kernel_field)
    metrics = painter.fontMetrics()
    w = metrics.horizontalAdvance(text) + 24
    rect = QRectF(12, canvas.height() - 40, max(w, 200), 28)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(20, 20, 20, 200))
    painter.drawRoundedRect(rect, 6, 6)
    painter.setPen(QColor(255, 214, 64) if not backed_off else QColor(220, 220, 220))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
