"""Render the mask tool and the Presets menu into ``docs/screenshots/`` (headless).

    QT_QPA_PLATFORM=offscreen python -m app.tools.roundtrip_screenshots [--out DIR]

Uses the bundled blurry sample photo and the bundled weights (a tiny random checkpoint
when none ship, as :mod:`app.tools.screenshots`): a subject is marked for restoration with
an ellipse, the background protected (tinted red), the photo restored through the mask;
then two presets are saved and the Presets menu is opened over the window.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.tools.screenshots import (  # noqa: E402
    ROOT,
    _wait,
    screenshot_app,
    screenshot_window,
)


def render(out_dir: Path) -> list[Path]:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QPainter

    from app.views.mask_tool import RESTORE
    from glow_core.presets import Preset, PresetStore
    from glow_core.resources import sample_image_path

    app, tmp = screenshot_app(out_dir)
    window = screenshot_window(tmp)
    window.open_path(sample_image_path())
    _wait(app, window)
    tool = window.mask_tool
    panel = window.roundtrip.mask_panel
    panel.paint_button.setChecked(True)
    next(b for b in panel.tool_buttons.buttons() if b.property("tool") == "ellipse").click()
    panel.target.setCurrentIndex(panel.target.findData(RESTORE))
    panel.feather.setValue(24)
    h, w = tool.layer.shape
    tool.press(QPointF(w * 0.22, h * 0.18))
    tool.move(QPointF(w * 0.5, h * 0.5))
    tool.release(QPointF(w * 0.78, h * 0.95))
    window.dock.widget().ensureWidgetVisible(panel)
    window.restore_whole()
    _wait(app, window)
    window.view.set_divider(0.5)
    window.view.zoom_fit()
    shots: list[Path] = []

    def settle() -> None:
        for _ in range(8):
            app.processEvents()

    settle()
    path = out_dir / "mask_tool.png"
    window.grab().save(str(path))
    shots.append(path)

    store = PresetStore()
    store.save("Wildlife TIFF (Adobe RGB)", Preset(mode="full", steps=8, format="tif",
                                                   bit_depth=16, colour_space="adobe-rgb"))
    store.save("Phone snapshots", Preset(format="heic", quality=90))
    store.save("Quick JPEG", Preset(format="jpg", strength=0.8))
    presets = window.roundtrip.presets_panel
    presets.refresh(select="Wildlife TIFF (Adobe RGB)")
    window.dock.widget().ensureWidgetVisible(presets)
    menu = window.roundtrip.presets_menu
    presets.fill_menu(menu)
    bar = window.menuBar()
    anchor = bar.actionGeometry(menu.menuAction()).bottomLeft()
    menu.popup(bar.mapToGlobal(anchor))
    settle()
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(bar.mapTo(window, anchor) + QPoint(0, 0), menu.grab())
    painter.end()
    menu.hide()
    path = out_dir / "presets_menu.png"
    shot.save(str(path))
    shots.append(path)
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    for path in render(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
