"""How :func:`glow_core.kernel.deconvolve` cuts a big photo into windows: a ring and inner tiles.

Why: the free boundary (and the one-sided data term of clipped pixels) needs the ADMM
data split, four inner iterations of four FFTs per continuation level; without it a level
is one FFT solve of two FFTs (:mod:`._solver`). A window only needs the free boundary
where its border is the *photo's* border. A window that has real photo data for a context
margin all round its core can be extended periodically instead: the error of that wrong
boundary dies out in the margin, which is thrown away (the same reason the tiles of a
big photo never needed more than a context margin to meet without seams).

So a photo larger than one tile is cut into

* a **ring** along the photo's border, ``margin + overlap`` pixels wide, solved with the
  free boundary (split) as strips, themselves cut at ``tile`` (their cut is inside the
  photo, with context, as between today's tiles);
* **inner tiles** covering the rest from ``margin`` px off the border: each has the full
  context margin inside the photo, so it is solved periodically unless its window holds
  a clipped pixel (then it too takes the split, with the free boundary, as before).

The two solves do not give the same image (different approximations of the same
minimiser: per pixel up to a few grey levels next to strong edges), so where they meet a
hard cut could show. The inner solution is faded in over the ``overlap`` band next to
the ring with a raised cosine (:func:`inner_weight`), separable in y and x so it is
continuous at the corners too.
"""

from __future__ import annotations

import math

import numpy as np

Box = tuple[int, int, int, int]

__all__ = ["blend_width", "inner_weight", "ring_layout", "tile_boxes"]


def tile_boxes(h: int, w: int, tile: int) -> list[Box]:
    """Boxes (y0, x0, y1, x1) covering H x W with cores of at most ``tile`` (no overlap)."""
    ny, nx = max(1, math.ceil(h / tile)), max(1, math.ceil(w / tile))
    ys = np.linspace(0, h, ny + 1).round().astype(int)
    xs = np.linspace(0, w, nx + 1).round().astype(int)
    return [(int(ys[i]), int(xs[j]), int(ys[i + 1]), int(xs[j + 1]))
            for i in range(ny) for j in range(nx)]


def blend_width(margin: int) -> int:
    """Width of the band where the inner solution fades in over the ring's."""
    return max(8, margin // 2)


def _shifted(boxes: list[Box], dy: int, dx: int) -> list[Box]:
    return [(y0 + dy, x0 + dx, y1 + dy, x1 + dx) for y0, x0, y1, x1 in boxes]


def ring_layout(h: int, w: int, margin: int, tile: int, inner_tile: int | None = None
                ) -> tuple[list[Box], list[Box]] | None:
    """(ring boxes, inner boxes) for an H x W photo, or None to keep plain tiles.

    None when the photo fits one tile (one free-boundary window is then cheaper than a
    ring around a small middle) or is too small for a ring and a middle. Ring boxes
    partition the band of ``margin + overlap`` px along the border; inner boxes partition
    ``[margin, H - margin) x [margin, W - margin)`` (the first ``overlap`` px of it
    overlap the ring: :func:`inner_weight`).
    """
    b = margin + blend_width(margin)
    if (h <= tile and w <= tile) or min(h, w) <= 4 * b:
        return None
    ring = (tile_boxes(b, w, tile) + _shifted(tile_boxes(b, w, tile), h - b, 0)
            + _shifted(tile_boxes(h - 2 * b, b, tile), b, 0)
            + _shifted(tile_boxes(h - 2 * b, b, tile), b, w - b))
    inner = _shifted(tile_boxes(h - 2 * margin, w - 2 * margin, inner_tile or tile),
                     margin, margin)
    return ring, inner


def _ramp(n: int, margin: int) -> np.ndarray:
    """1-D inner weight along an axis of ``n`` px: 0 in the margin, a raised-cosine rise
    over the overlap, 1 beyond (and the mirror at the far end)."""
    o = blend_width(margin)
    s = np.ones(n, dtype=np.float32)
    s[:margin] = 0.0
    s[n - margin:] = 0.0
    rise = (np.sin(0.5 * np.pi * (np.arange(o) + 0.5) / o) ** 2).astype(np.float32)
    s[margin:margin + o] = rise
    s[n - margin - o:n - margin] = rise[::-1]
    return s


def inner_weight(h: int, w: int, margin: int, box: Box) -> np.ndarray | None:
    """Weight (y1-y0, x1-x0, 1) of an inner box's solution over the ring's; None: all 1."""
    y0, x0, y1, x1 = box
    sy = _ramp(h, margin)[y0:y1]
    sx = _ramp(w, margin)[x0:x1]
    if sy.min() >= 1.0 and sx.min() >= 1.0:
        return None
    return (sy[:, None] * sx[None, :])[:, :, None]
