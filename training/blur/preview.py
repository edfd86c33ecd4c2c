"""Contact sheet of every blur pattern: blurry crop, kernel inset, motion-field inset.

Used to eyeball the simulator (``python -m training.blur preview``): each tile shows
one pattern's blurry image, its kernel (top right, peak-normalised) when the blur is
uniform, and the motion field (bottom right: hue = 2θ, brightness = extent).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .camera import CameraConfig
from .motion import field_to_rgb
from .simulate import BlurConfig, BlurPattern, simulate

__all__ = ["load_preview_image", "render_sheet", "write_sheet"]

FIELD_SCALE = 30.0  # px of extent shown at full brightness, common to all tiles


def load_preview_image(path: str | Path, size: int) -> np.ndarray:
    """Read an image, centre-crop to a square and area-resize to ``size`` (float RGB)."""
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read image {path}")
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return img[..., ::-1].astype(np.float32) / 255.0


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    strip = np.full((20, tile.shape[1], 3), 24, np.uint8)
    cv2.putText(
        strip, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA
    )
    return np.concatenate([strip, tile], 0)


def _inset(tile: np.ndarray, inset: np.ndarray, corner: str) -> None:
    ih, iw = inset.shape[:2]
    y = 3 if corner[0] == "t" else tile.shape[0] - ih - 3
    x = tile.shape[1] - iw - 3
    tile[y - 1 : y + ih + 1, x - 1 : x + iw + 1] = 255
    tile[y : y + ih, x : x + iw] = inset


def render_sheet(image: np.ndarray | None = None, seed: int = 0, size: int = 256) -> np.ndarray:
    """uint8 RGB contact sheet of all patterns on ``image`` (dead leaves when None)."""
    rng = np.random.default_rng(seed)
    if image is None:
        from ..sources import dead_leaves

        image = dead_leaves(rng, size)
    image = np.asarray(image, np.float32)[:size, :size]
    camera = CameraConfig(
        linear_prob=1.0,
        highlight_prob=0.5,
        noise_prob=0.3,
        shot_noise=(0.0, 0.002),
        read_noise_std=(0.0, 0.003),
        jpeg_prob=0.0,
        tone_weights={"srgb": 1.0},
    )
    tiles = [_label((image * 255 + 0.5).astype(np.uint8), "sharp")]
    inset_px = max(40, size // 4)
    for pattern in BlurPattern:
        cfg = BlurConfig.only(pattern, camera=camera)
        s = simulate(image, rng, cfg)
        tile = (np.clip(s.blurry, 0, 1) * 255 + 0.5).astype(np.uint8)
        if s.kernel is not None and s.kernel.size > 1:
            k = s.kernel / s.kernel.max()
            k = cv2.resize(k, (inset_px, inset_px), interpolation=cv2.INTER_NEAREST)
            _inset(tile, (np.repeat(k[..., None], 3, 2) * 255).astype(np.uint8), "tr")
        field = cv2.resize(s.motion, (inset_px, inset_px), interpolation=cv2.INTER_AREA)
        _inset(tile, field_to_rgb(field, FIELD_SCALE), "br")
        ext = float(np.hypot(s.motion[..., 0], s.motion[..., 1]).max())
        iso = float(s.motion[..., 2].max())
        tiles.append(_label(tile, f"{pattern.value}  ext<={ext:.0f}px iso<={iso:.1f}"))
    cols = 4
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + cols], 1) for i in range(0, len(tiles), cols)]
    return np.concatenate(rows, 0)


def write_sheet(
    path: str | Path, image: np.ndarray | None = None, seed: int = 0, size: int = 256
) -> Path:
    sheet = render_sheet(image, seed, size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    path.write_bytes(buf.tobytes())
    return path
