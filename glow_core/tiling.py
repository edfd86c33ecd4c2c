"""Tile plans, smooth blending weights, automatic tile size, out-of-memory detection.

A large photo is restored in overlapping tiles. Each tile is processed with a margin of
real image around it (the *context*), so the network sees what it would see on the
whole photo, and only the tile's core is kept; neighbouring cores overlap by `overlap`
pixels and are cross-faded with raised-cosine weights, so no seam shows. Every coordinate
is a multiple of the model's pixel multiple, so the tiles' downsampling grids (and their
latent grids) coincide with the whole photo's.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class Tile:
    """Core [y0:y1, x0:x1] is kept; window [wy0:wy1, wx0:wx1] (core + context) is processed."""

    y0: int
    y1: int
    x0: int
    x1: int
    wy0: int
    wy1: int
    wx0: int
    wx1: int

    @property
    def core_in_window(self) -> tuple[slice, slice]:
        return (slice(self.y0 - self.wy0, self.y1 - self.wy0),
                slice(self.x0 - self.wx0, self.x1 - self.wx0))


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def round_down(value: int, multiple: int) -> int:
    return max(multiple, value // multiple * multiple)


def _starts(size: int, tile: int, overlap: int, multiple: int) -> list[int]:
    if size <= tile:
        return [0]
    stride = round_down(tile - overlap, multiple)
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def plan_tiles(height: int, width: int, tile: int, overlap: int, context: int,
               multiple: int) -> list[Tile]:
    """Cover a (padded) canvas whose sides are multiples of `multiple` with aligned tiles."""
    if height % multiple or width % multiple:
        raise ValueError(f"canvas {height}x{width} is not a multiple of {multiple}")
    tile = round_down(tile, multiple)
    overlap = min(round_up(max(overlap, 0), multiple), tile - multiple) if tile > multiple else 0
    context = round_up(max(context, 0), multiple)
    tiles = []
    for y in _starts(height, tile, overlap, multiple):
        for x in _starts(width, tile, overlap, multiple):
            y1, x1 = min(y + tile, height), min(x + tile, width)
            tiles.append(Tile(y, y1, x, x1, max(0, y - context), min(height, y1 + context),
                              max(0, x - context), min(width, x1 + context)))
    return tiles


def _ramp(length: int, start_fade: int, end_fade: int) -> np.ndarray:
    w = np.ones(length, dtype=np.float32)
    if start_fade:
        i = np.arange(start_fade, dtype=np.float32)
        w[:start_fade] = np.sin(0.5 * math.pi * (i + 0.5) / start_fade) ** 2
    if end_fade:
        i = np.arange(end_fade, dtype=np.float32)[::-1]
        w[length - end_fade:] *= np.sin(0.5 * math.pi * (i + 0.5) / end_fade) ** 2
    return w


def blend_weights(tile: Tile, tiles: list[Tile]) -> np.ndarray:
    """Weights over a tile's core: 1 inside, raised-cosine fades where a neighbour overlaps.

    Fades span the actual overlap with the neighbour, so they are never narrower than the
    plan asked for; weights stay strictly positive, and the caller normalises by their sum.
    """
    top = bottom = left = right = 0
    for other in tiles:
        if other is tile:
            continue
        rows_overlap = other.y0 < tile.y1 and tile.y0 < other.y1
        cols_overlap = other.x0 < tile.x1 and tile.x0 < other.x1
        if cols_overlap and other.y0 < tile.y0 < other.y1 and other.x0 <= tile.x0:
            top = max(top, other.y1 - tile.y0)
        if cols_overlap and other.y0 < tile.y1 < other.y1 and other.x0 >= tile.x0:
            bottom = max(bottom, tile.y1 - other.y0)
        if rows_overlap and other.x0 < tile.x0 < other.x1 and other.y0 <= tile.y0:
            left = max(left, other.x1 - tile.x0)
        if rows_overlap and other.x0 < tile.x1 < other.x1 and other.y0 >= tile.y0:
            right = max(right, tile.x1 - other.x0)
    h, w = tile.y1 - tile.y0, tile.x1 - tile.x0
    top, bottom = min(top, h), min(bottom, h)
    left, right = min(left, w), min(right, w)
    return np.outer(_ramp(h, top, bottom), _ramp(w, left, right))


# ------------------------------------------------------------------------ memory
def available_memory(device: torch.device) -> int:
    """Bytes that a restoration may reasonably use on `device` right now."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def auto_tile_size(bytes_per_pixel: float, free_bytes: int, multiple: int, context: int,
                   fraction: float = 0.4, min_tile: int = 128, max_tile: int = 2048) -> int:
    """Largest aligned tile whose window (tile + 2*context)^2 fits `fraction` of free memory."""
    budget = free_bytes * fraction
    side = int(math.sqrt(max(budget, 0) / max(bytes_per_pixel, 1e-9))) - 2 * context
    side = max(min_tile, min(max_tile, side))
    return round_down(side, multiple)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
        or "failed to allocate" in text
    )
