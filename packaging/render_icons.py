"""Render the app icon SVG to PNGs, a Windows .ico and a macOS .icns.

Why a script and committed outputs: builds on Windows/macOS/CI must not depend on an SVG
renderer being present, and the raster files are reviewable in git. Qt's own QSvgRenderer
(PySide6-Essentials ships QtSvg) draws the SVG, so no extra dependency is needed; Pillow
assembles the multi-size .ico and .icns.

    python packaging/render_icons.py            # writes resources/icons/...
    python packaging/render_icons.py --check    # exit 1 if outputs are missing/stale sizes
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = ROOT / "resources" / "icons"
SVG = ICON_DIR / "glow-deblur.svg"
PNG_DIR = ICON_DIR / "png"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # 256 is the largest size Windows uses
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def png_path(size: int) -> Path:
    return PNG_DIR / f"glow-deblur-{size}.png"


def render_svg(svg: Path, size: int):
    """Render ``svg`` to a square ``size`` px Pillow RGBA image with Qt."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise RuntimeError(f"Qt could not parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def render_all(svg: Path = SVG, out_dir: Path = ICON_DIR) -> list[Path]:
    """Write every PNG size plus .ico and .icns next to the SVG; return the written paths."""
    png_dir = out_dir / "png"
    png_dir.mkdir(parents=True, exist_ok=True)
    images = {size: render_svg(svg, size) for size in sorted(set(SIZES) | set(ICNS_SIZES))}
    written = []
    for size in SIZES:
        path = png_dir / f"glow-deblur-{size}.png"
        images[size].save(path, optimize=True)
        written.append(path)
    ico = out_dir / "glow-deblur.ico"
    big = images[ICO_SIZES[-1]]
    big.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES],
             append_images=[images[s] for s in ICO_SIZES[:-1]])
    written.append(ico)
    icns = out_dir / "glow-deblur.icns"
    images[1024].save(icns, format="ICNS",
                      append_images=[images[s] for s in ICNS_SIZES[:-1]])
    written.append(icns)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify outputs exist")
    args = parser.parse_args(argv)
    if args.check:
        expected = [png_path(s) for s in SIZES]
        expected += [ICON_DIR / "glow-deblur.ico", ICON_DIR / "glow-deblur.icns"]
        missing = [str(p) for p in expected if not p.is_file()]
        if missing:
            print("missing icon files:\n  " + "\n  ".join(missing), file=sys.stderr)
            return 1
        print("icons complete")
        return 0
    for path in render_all():
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
