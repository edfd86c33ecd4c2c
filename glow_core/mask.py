"""Region masks: restore only part of a photo, keep the rest bit-for-bit.

A mask is a float32 ``H x W`` array in [0, 1] in the upright photo's pixel grid:
``1`` = take the restored pixel, ``0`` = keep the original, values in between blend
(the feathered edge). The result is ``mask * restored + (1 - mask) * original``, computed
so that where the mask is exactly 0 the original float value is returned untouched (and
therefore writes back to the very same 8- or 16-bit integers), and where it is exactly 1
the restored one.

On disk a mask is an 8-bit greyscale PNG beside the photo: ``<photo>.glowmask.png``
(``shot.jpg`` -> ``shot.jpg.glowmask.png``), never the photo itself. The stored mask is
the final, already feathered one, so batch runs reuse it without further parameters.

:func:`feather` softens a hard mask *inside* the restored area only (a distance ramp), so a
protected region stays exactly protected up to its edge. :func:`mask_region` gives the
mask's bounding box, for tools (the kernel estimation) that want "the region the user
marked".
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glow_core.errors import ImageReadError
from glow_core.fsutil import atomic_write_bytes

__all__ = [
    "MASK_SUFFIX",
    "MaskError",
    "blend",
    "feather",
    "load_mask",
    "mask_path",
    "mask_region",
    "masked_restorer",
    "save_mask",
]

MASK_SUFFIX = ".glowmask.png"


class MaskError(ImageReadError):
    """A mask file that cannot be used (unreadable, wrong size); the message names it."""


def mask_path(photo: str | os.PathLike[str]) -> Path:
    """Where the mask of ``photo`` lives: ``<photo>.glowmask.png`` beside it."""
    photo = Path(photo)
    return photo.with_name(photo.name + MASK_SUFFIX)


def feather(hard: np.ndarray, radius: float) -> np.ndarray:
    """Soften the edge of ``hard`` (anything > 0.5 is "restore") over ``radius`` pixels.

    The ramp runs from 0 at the boundary to 1 at ``radius`` pixels inside the restored
    area (smoothstep), so protected pixels stay exactly 0.
    """
    inside = np.asarray(hard) > 0.5
    if radius <= 0 or not inside.any() or inside.all():
        return inside.astype(np.float32)
    import cv2

    # Distance of every restored pixel to the nearest protected one (image border
    # excluded: a mask touching the frame edge stays fully on there).
    padded = np.pad(inside, 1, mode="edge").astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    t = np.clip(dist / float(radius), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def blend(original: np.ndarray, restored: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``mask * restored + (1 - mask) * original``, exact where the mask is 0 or 1."""
    original = np.asarray(original, dtype=np.float32)
    restored = np.asarray(restored, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if original.shape != restored.shape:
        raise ValueError(f"restored shape {restored.shape} != original {original.shape}")
    if mask.shape != original.shape[:2]:
        raise ValueError(f"mask is {mask.shape[1]} x {mask.shape[0]} px but the photo is "
                         f"{original.shape[1]} x {original.shape[0]} px")
    m = np.clip(mask, 0.0, 1.0)[:, :, None]
    mixed = m * restored + (1.0 - m) * original
    out = np.where(m <= 0.0, original, np.where(m >= 1.0, restored, mixed))
    return out.astype(np.float32)


def mask_region(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box ``(y0, x0, y1, x1)`` (end exclusive) of the mask's non-zero pixels.

    ``None`` for an empty mask.
    """
    on = np.asarray(mask) > 0
    rows = np.flatnonzero(on.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(on.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def save_mask(path: str | os.PathLike[str], mask: np.ndarray) -> Path:
    """Write ``mask`` (floats in [0, 1]) as an 8-bit greyscale PNG, atomically."""
    from PIL import Image

    path = Path(path)
    if not path.name.endswith(MASK_SUFFIX):
        raise ValueError(f"{path}: a mask file name must end with {MASK_SUFFIX}")
    data = np.rint(np.clip(np.asarray(mask, dtype=np.float32), 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(data, "L").save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def load_mask(path: str | os.PathLike[str], shape: tuple[int, ...] | None = None
              ) -> np.ndarray:
    """Read a mask PNG as float32 in [0, 1]; checks it matches ``shape`` (H, W[, C]).

    Raises :class:`MaskError` naming the file when it cannot be read or has the wrong size.
    """
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            grey = im.convert("L") if im.mode not in ("L", "I;16", "I") else im
            arr = np.asarray(grey)
    except FileNotFoundError as exc:
        raise MaskError(f"{path}: mask file does not exist") from exc
    except Exception as exc:
        raise MaskError(f"{path}: mask could not be read ({exc})") from exc
    top = 65535.0 if arr.dtype != np.uint8 else 255.0
    mask = np.clip(arr.astype(np.float32) / top, 0.0, 1.0)
    if shape is not None and tuple(mask.shape) != tuple(shape[:2]):
        raise MaskError(f"{path}: mask is {mask.shape[1]} x {mask.shape[0]} px but the photo "
                        f"is {shape[1]} x {shape[0]} px; paint the mask again for this photo")
    return mask


def masked_restorer(restorer: Callable[[Any], np.ndarray], *, required: bool = False
                    ) -> Callable[[Any], np.ndarray]:
    """Wrap a batch restorer so photos with a ``<photo>.glowmask.png`` are blended through it.

    Photos without a mask are restored whole (or fail, with ``required``). A mask of the
    wrong size fails that photo with a :class:`MaskError` naming the mask file; it is
    checked before the (slow) restoration.
    """

    def restore(image: Any) -> np.ndarray:
        source = getattr(image, "source", None)
        path = mask_path(source) if source is not None else None
        if path is None or not path.exists():
            if required:
                raise MaskError(f"{source}: no mask {path.name if path else ''} beside it")
            return restorer(image)
        mask = load_mask(path, image.pixels.shape)
        out = restorer(image)
        if isinstance(out, tuple):  # (pixels, caption in force)
            return blend(image.pixels, out[0], mask), *out[1:]
        return blend(image.pixels, out, mask)

    return restore
