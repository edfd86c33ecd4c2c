"""One image decoder for the training package (photo sources and paired datasets)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def decode_rgb(path: str | Path) -> np.ndarray:
    """RGB H x W x 3 in the file's own depth (uint8, uint16 or float); OSError if unreadable.

    OpenCV keeps 16-bit PNG/TIFF at full depth, which Pillow would cut to 8 bits; greyscale
    becomes RGB and alpha is dropped (training pairs never carry meaningful alpha).
    """
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR) if data.size else None
    if img is None:
        raise OSError(f"cannot decode image {path}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(img)
