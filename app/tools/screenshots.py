"""Render the app's screenshots headlessly into ``docs/screenshots/``.

    QT_QPA_PLATFORM=offscreen python -m app.tools.screenshots [--photo PATH] [--out DIR]

A sharp photo (Kodak set by default) is blurred with a linear motion kernel
(``cv2.filter2D``), restored with the bundled weights when there are any, otherwise with a
random-weight tiny checkpoint (the screenshot then shows the UI, not the quality), and
the main window, the motion overlay, the side-by-side view and the batch dialog are
grabbed with ``QWidget.grab()``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_PHOTO = Path("/work/shared/data/sharp/kodak24/kodim05.png")
ROOT = Path(__file__).resolve().parents[2]


def motion_kernel(length: int = 17, angle_deg: float = 25.0) -> np.ndarray:
    """A normalised line kernel: straight camera shake of ``length`` px at ``angle_deg``."""
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    t = np.deg2rad(angle_deg)
    for s in np.linspace(-(length - 1) / 2, (length - 1) / 2, length * 4):
        x, y = c + s * np.cos(t), c - s * np.sin(t)
        kernel[int(round(y)), int(round(x))] = 1.0
    return kernel / kernel.sum()


def blurred_copy(photo: Path, out: Path, length: int = 17, angle: float = 25.0) -> Path:
    """Write ``photo`` blurred by a motion kernel (JPEG, as a camera would)."""
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read {photo}")
    blurred = cv2.filter2D(image, -1, motion_kernel(length, angle),
                           borderType=cv2.BORDER_REFLECT)
    cv2.imwrite(str(out), blurred, [cv2.IMWRITE_JPEG_QUALITY, 94])
    return out


def checkpoint_for_screenshots(tmp: Path) -> tuple[str | None, str]:
    """The bundled default checkpoint, or a tiny random one (and a note saying which)."""
    from glow_core.engine import resolve_checkpoint
    from glow_core.errors import MissingCheckpointError

    try:
        path, _ = resolve_checkpoint(None)
        return None, f"bundled weights {path.name}"
    except MissingCheckpointError:
        pass
    import torch

    from glow_core.checkpoint import save_checkpoint
    from glow_core.config import PRESETS
    from glow_core.models import PARTS, GlowDeblur

    torch.manual_seed(0)
    path = tmp / "tiny-random.safetensors"
    save_checkpoint(path, GlowDeblur(PRESETS["tiny"]), stages=list(PARTS))
    return str(path), "tiny random checkpoint (no trained weights bundled yet)"


def _wait(app, window, timeout: float = 600.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        app.processEvents()
        if not window.runner.active and window.current is None:
            break
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()


def screenshot_app(out_dir: Path):  # noqa: ANN201
    """The themed QApplication and a temporary folder (settings go there, not the user's)."""
    from PySide6.QtWidgets import QApplication

    from app.theme import apply_theme
    from app.window import app_icon

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="glow-shots-"))
    os.environ["GLOW_DEBLUR_CONFIG_DIR"] = str(tmp / "config")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("GLOW Deblur Studio")
    apply_theme(app)
    app.setWindowIcon(app_icon())
    return app, tmp


def screenshot_window(tmp: Path):  # noqa: ANN201
    """A 1440 x 900 main window with the engine loaded (bundled or tiny random weights)."""
    from app.settings import SettingsStore
    from app.window import MainWindow

    checkpoint, note = checkpoint_for_screenshots(tmp)
    print(f"restoring with {note}")
    window = MainWindow(SettingsStore(), checkpoint=checkpoint, load_engine=False)
    window.resize(1440, 900)
    window.show()
    window.load_engine(wait=True)
    if window.engine is None:
        raise SystemExit(f"engine failed: {window.host.error}")
    return window


def render(photo: Path, out_dir: Path) -> list[Path]:
    app, tmp = screenshot_app(out_dir)
    blurry = blurred_copy(photo, tmp / f"{photo.stem}_shake.jpg")
    window = screenshot_window(tmp)
    window.caption_panel.set_caption("two motorbikes parked on a dirt track, riders in "
                                     "helmets, daylight")
    window.open_path(blurry)
    _wait(app, window)
    window.restore_whole()
    _wait(app, window)
    window.view.set_divider(0.5)
    window.view.zoom_fit()
    for _ in range(5):
        app.processEvents()
    shots: list[Path] = []

    def grab(widget, name: str) -> None:
        for _ in range(5):
            app.processEvents()
        path = out_dir / name
        widget.grab().save(str(path))
        shots.append(path)

    grab(window, "main_window.png")
    window.act_motion.setChecked(True)
    _wait(app, window)
    grab(window, "motion_overlay.png")
    window.act_motion.setChecked(False)
    window.set_compare_mode("side")
    window.view.zoom_to(2.0)  # 200 %: both panes show the same detail, in sync
    grab(window, "side_by_side.png")
    window.set_compare_mode("split")

    # Batch: a small folder of blurred shots, one of them corrupt.
    src = tmp / "shoot"
    (src / "day2").mkdir(parents=True)
    kodak = photo.parent
    for i, name in enumerate(("kodim03.png", "kodim07.png", "kodim23.png")):
        if (kodak / name).exists():
            folder = src if i < 2 else src / "day2"
            blurred_copy(kodak / name, folder / f"IMG_{4100 + i}.jpg", 13 + 4 * i, 10 + 40 * i)
    (src / "IMG_4199.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    dialog = window.open_batch()
    dialog.recursive.setChecked(True)
    dialog.set_input(src)
    dialog.set_output(tmp / "restored")
    dialog.start()
    while dialog.task is not None:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()
    grab(dialog, "batch_dialog.png")
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    for path in render(args.photo, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
