"""Portraits: keep a shallow depth of field as it is.

A portrait's background is defocused on purpose. The kernel field
(:func:`glow_core.kernel.estimate_kernel_field`) sees it as regions whose blur differs
from the subject's (the global kernel comes from the most textured region: the face and
hair), and deconvolving them with their own (disk-like) kernels turns smooth bokeh into
busy mush. :func:`preserve_defocus` blends those regions back to the blurry photo: per
region, ``keep = strength * clip(2 (similarity - s) / similarity, 0, 1)`` with ``s`` the
region kernel's normalised similarity to the subject's, interpolated smoothly between
region centres. Regions with the subject's blur are untouched.
"""

from __future__ import annotations

import numpy as np


def defocus_keep_map(field: object, strength: float = 1.0, similarity: float = 0.6
                     ) -> np.ndarray:
    """H x W map in [0, 1]: how much of the blurry photo to keep at each pixel."""
    from glow_core.kernel import kernel_similarity

    kernels = np.asarray(field.kernels)  # type: ignore[attr-defined]
    boxes = np.asarray(field.boxes)  # type: ignore[attr-defined]
    h, w = field.image_size  # type: ignore[attr-defined]
    gk = np.asarray(field.global_kernel)  # type: ignore[attr-defined]
    gy, gx = kernels.shape[:2]
    keep = np.zeros((gy, gx))
    for i in range(gy):
        for j in range(gx):
            s = kernel_similarity(kernels[i, j], gk)
            keep[i, j] = strength * np.clip(2.0 * (similarity - s) / similarity, 0.0, 1.0)
    cy = (boxes[:, 0, 0] + boxes[:, 0, 2]) / 2.0
    cx = (boxes[0, :, 1] + boxes[0, :, 3]) / 2.0
    ys, xs = np.arange(h), np.arange(w)
    # Separable linear interpolation between region centres (constant beyond them).
    rows = np.stack([np.interp(xs, cx, keep[i]) for i in range(gy)]) if gx > 1 else \
        np.repeat(keep[:, :1], w, axis=1)
    out = np.stack([np.interp(ys, cy, rows[:, x]) for x in range(w)], axis=1) if gy > 1 \
        else np.repeat(rows[:1], h, axis=0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def preserve_defocus(blurry: np.ndarray, restored: np.ndarray, field: object,
                     strength: float = 1.0, similarity: float = 0.6) -> np.ndarray:
    """``restored`` with the regions blurred unlike the subject blended back to ``blurry``."""
    if strength <= 0 or getattr(field, "uniform", False):
        return restored
    keep = defocus_keep_map(field, strength, similarity)
    if float(keep.max()) <= 0:
        return restored
    k = keep[:, :, None] if restored.ndim == 3 else keep
    return (restored * (1.0 - k) + np.asarray(blurry, dtype=restored.dtype) * k).astype(
        restored.dtype)
