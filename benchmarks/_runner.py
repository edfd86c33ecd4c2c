"""What the per-photo benchmarks share: their common options and a process pool that
prints each row as it comes (a long run shows progress and leaves its rows in the log)."""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def photo_parser(doc: str | None, crop: int = 512) -> argparse.ArgumentParser:
    """A parser with ``--data``, ``--crop``, ``--jobs``, ``--threads`` and ``--json``."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--crop", type=int, default=crop)
    ap.add_argument("--jobs", type=int, default=1, help="processes (one case each at a time)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--json", type=Path, default=None)
    return ap


@functools.cache
def process_engine(checkpoint: str | None = None) -> Any:
    """One CPU engine per process and checkpoint (None: the default one, as the app loads
    it): loading the weights once, not once per photo."""
    from glow_core.engine import Engine

    return Engine(checkpoint, device="cpu")


def run_threaded(fn: Callable[..., dict], args: tuple) -> dict:
    """``fn(*case)`` with torch at ``threads`` threads, for ``args = (*case, threads)``: the
    per-photo benchmarks' pool worker (``functools.partial(run_threaded, run_case)`` pickles
    for a spawned pool, as a closure would not)."""
    import torch

    *case, threads = args
    torch.set_num_threads(threads)
    return fn(*case)


def run_rows(worker: Callable[[tuple], dict], cases: Sequence[tuple], jobs: int) -> list[dict]:
    """``worker`` on every case, in order, over ``jobs`` spawned processes (1: here)."""
    rows: list[dict] = []
    if jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(jobs) as pool:
            for row in pool.imap(worker, cases):
                rows.append(row)
                print(json.dumps(row), flush=True)
        return rows
    for case in cases:
        rows.append(worker(case))
        print(json.dumps(rows[-1]), flush=True)
    return rows
