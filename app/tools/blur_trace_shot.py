"""Render ``docs/screenshots/blur_trace.png``: the blur trace over a shaken photo, headless.

    QT_QPA_PLATFORM=offscreen python -m app.tools.blur_trace_shot [--photo P] [--kernel K]
                                                                  [--field] [--out FILE]

A Kodak photo is blurred in linear light with a measured real shake kernel (Levin et al.'s
``usrnet12_k10`` by default) plus 1 % noise, opened in the main window, and "Estimate blur"
is run (with ``--field``: "Blur varies across the photo" ticked, a kernel per region). The true
kernel is drawn small in the top-right corner for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from app.tools.screenshots import DEFAULT_PHOTO, ROOT, _wait  # noqa: E402

DATA = Path("/work/shared/data")
DEFAULT_KERNEL = DATA / "kernels" / "usrnet12" / "usrnet12_k10.npy"


def shaken_copy(photo: Path, kernel: np.ndarray, out: Path) -> Path:
    from PIL import Image

    from benchmarks.kernels import blur_photo, read_rgb

    blurry = blur_photo(read_rgb(photo), kernel / kernel.sum(), noise=0.01)
    Image.fromarray((blurry * 255).round().astype(np.uint8)).save(out)
    return out


def render(photo: Path, kernel_path: Path, out: Path, field: bool) -> Path:
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QColor, QPainter
    from PySide6.QtWidgets import QApplication

    from app.settings import SettingsStore
    from app.theme import apply_theme
    from app.views.blur_trace import kernel_qimage
    from app.window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="glow-trace-"))
    os.environ["GLOW_DEBLUR_CONFIG_DIR"] = str(tmp / "config")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_theme(app)
    kernel = np.load(kernel_path).astype(np.float64)
    blurry = shaken_copy(photo, kernel, tmp / f"{photo.stem}_shake.png")
    window = MainWindow(SettingsStore(), load_engine=False)
    window.resize(1440, 900)
    window.show()
    window.load_engine(wait=True)
    window.open_path(blurry)
    _wait(app, window)
    window.kernel.panel.varying.setChecked(field)  # "Blur varies across the photo"
    window.kernel.estimate()
    _wait(app, window)
    window.view.zoom_fit()
    for _ in range(5):
        app.processEvents()
    image = window.grab().toImage()
    # The true kernel, small, top right of the photo area: what the trace should look like.
    canvas = window.view.primary_canvas()
    top_left = canvas.mapTo(window, canvas.rect().topRight())
    painter = QPainter(image)
    box = QRectF(top_left.x() - 132, top_left.y() + 12, 112, 112)
    painter.fillRect(box.adjusted(-4, -4, 4, 22), QColor(8, 8, 8, 230))
    painter.drawImage(box, kernel_qimage(kernel))
    painter.setPen(QColor(235, 235, 235))
    painter.drawText(QPointF(box.left() + 4, box.bottom() + 15), "true kernel")
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(out))
    info = window.view.kernel_field
    print(f"kernel {info.kernels.shape[-1]} px, grid {info.grid}, confidence "
          f"{info.global_confidence:.2f}")
    window.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--kernel", type=Path, default=DEFAULT_KERNEL)
    parser.add_argument("--field", action="store_true", help="a kernel per region")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" /
                        "blur_trace.png")
    args = parser.parse_args(argv)
    print(render(args.photo, args.kernel, args.out, args.field))
    return 0


if __name__ == "__main__":
    sys.exit(main())
