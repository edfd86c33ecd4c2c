"""Batch restoration bookkeeping shared by the CLI and the GUI's batch panel.

The engine restores one picture; everything around a *folder* of pictures lives here:
finding the images, deciding each output name (keeping sub-folders), never writing over
an input, skipping finished outputs so an interrupted batch resumes, capturing each
file's error without stopping the others, and a small JSON log (``.glow-batch.json`` in
the output folder, rewritten atomically after every file) that says what happened.

The restoration itself is a callable handed in (``Restorer``), so this module needs no
torch and the tests can drive it with fakes; several restorers (one per GPU) share the
work through a queue, one thread each (the heavy work releases the GIL inside torch).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from glow_core.cancel import CancelToken
from glow_core.formats import FORMATS, IMAGE_EXTENSIONS, OUTPUT_FORMATS, normalize_format
from glow_core.fsutil import atomic_write_text
from glow_core.imageio import (
    DEFAULT_MAX_PIXELS,
    ImageData,
    ImageReadError,
    ImageWriteError,
    read_image,
    with_caption,
    write_image,
)

__all__ = [
    "LOG_NAME",
    "OUTPUT_FORMATS",
    "BatchItem",
    "BatchLog",
    "BatchPlan",
    "BatchSettings",
    "BatchSummary",
    "Restorer",
    "find_images",
    "plan_batch",
    "run_batch",
]

LOG_NAME = ".glow-batch.json"

Status = Literal["pending", "done", "skipped", "failed"]

#: Restores one photo: gets the decoded image, returns RGB float32 H x W x 3 in [0, 1].
#: Returns the restored pixels, or ``(pixels, caption)`` to record the caption in force
#: in the output's metadata (EXIF ImageDescription, see ``imageio.with_caption``).
Restorer = Callable[[ImageData], "np.ndarray | tuple[np.ndarray, str]"]


@dataclass
class BatchSettings:
    """Where and how outputs are written."""

    out_dir: Path
    format: str = "png"  # a key of OUTPUT_FORMATS
    bit_depth: int | None = None  # None = as the source (8 for jpg/webp)
    quality: int = 95
    recursive: bool = False
    skip_existing: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        name = normalize_format(self.format)
        self.format = FORMATS[name].key if name else self.format.lower().lstrip(".")
        if self.format not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {sorted(OUTPUT_FORMATS)}, "
                             f"got {self.format!r}")
        if self.bit_depth not in (None, 8, 16):
            raise ValueError(f"bit depth must be 8 or 16, got {self.bit_depth}")
        if self.bit_depth == 16 and not OUTPUT_FORMATS[self.format].sixteen_bit:
            sixteen = " or ".join(k for k, f in OUTPUT_FORMATS.items() if f.sixteen_bit)
            raise ValueError(f"{self.format} holds 8 bits per channel only; "
                             f"choose {sixteen} for 16-bit output")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be between 1 and 100, got {self.quality}")


@dataclass
class BatchItem:
    """One input photo and what became of it."""

    source: Path
    output: Path
    relative: str  # output path relative to out_dir (POSIX style), the log key
    status: Status = "pending"
    reason: str = ""
    seconds: float = 0.0


@dataclass
class BatchPlan:
    items: list[BatchItem]  # every input, missing ones included (status "failed")
    settings: BatchSettings

    @property
    def found(self) -> list[BatchItem]:
        """Items for images that exist (whatever their status)."""
        return [item for item in self.items if item.output != Path()]


@dataclass
class BatchSummary:
    done: list[BatchItem] = field(default_factory=list)
    skipped: list[BatchItem] = field(default_factory=list)
    failed: list[BatchItem] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed


# ----------------------------------------------------------------------------- planning


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def find_images(inputs: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
                exclude: Path | None = None) -> tuple[list[tuple[Path, Path]], list[BatchItem]]:
    """Expand files and folders into ``(image, relative path)`` pairs.

    Folders contribute files with an image extension (sub-folders only when
    ``recursive``; the relative path then keeps their structure). Files named explicitly
    are taken whatever their extension (the reader says if they are not images). Hidden
    files and anything under ``exclude`` (the output folder) when it is a sub-folder of an
    input folder are left out, so such a batch never eats its own outputs.
    Returns the pairs and, for inputs that do not exist, failed items.
    """
    found: list[tuple[Path, Path]] = []
    missing: list[BatchItem] = []
    seen: set[Path] = set()

    def add(path: Path, relative: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append((path, relative))

    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            # Skip the output folder only when it is a sub-folder of this input.
            skip = exclude if exclude is not None and exclude.resolve() != path.resolve() \
                else None
            pattern = path.rglob("*") if recursive else path.glob("*")
            for file in sorted(pattern):
                rel = file.relative_to(path)
                if any(part.startswith(".") for part in rel.parts[:-1]):
                    continue
                if not file.is_file() or not _is_image_name(file):
                    continue
                if skip is not None and _inside(file, skip):
                    continue
                add(file, rel)
        elif path.is_file():
            add(path, Path(path.name))
        else:
            missing.append(BatchItem(source=path, output=Path(), relative=str(path),
                                     status="failed", reason="input does not exist"))
    return found, missing


def plan_batch(inputs: Iterable[str | os.PathLike[str]], settings: BatchSettings) -> BatchPlan:
    """Decide every output path; mark outputs that would overwrite an input as failed.

    Output: ``out_dir / <relative stem>.<ext>``. When two inputs would land on the same
    output (``a.jpg`` and ``a.png``), each colliding name gets its source extension
    (``a_jpg.png``, ``a_png.png``), deterministically, so a resumed batch finds them again.
    """
    out_dir = settings.out_dir
    pairs, missing = find_images(inputs, recursive=settings.recursive, exclude=out_dir)
    ext = OUTPUT_FORMATS[settings.format].extension

    def target(rel: Path, with_source_ext: bool) -> Path:
        stem = rel.stem + (f"_{rel.suffix.lstrip('.').lower()}" if with_source_ext else "")
        return rel.with_name(stem + ext)

    counts: dict[str, int] = {}
    for _, rel in pairs:
        key = target(rel, False).as_posix().lower()
        counts[key] = counts.get(key, 0) + 1
    inputs_resolved = {src.resolve() for src, _ in pairs}
    items: list[BatchItem] = list(missing)
    for src, rel in pairs:
        clash = counts[target(rel, False).as_posix().lower()] > 1
        out_rel = target(rel, clash)
        item = BatchItem(source=src, output=out_dir / out_rel, relative=out_rel.as_posix())
        if item.output.resolve() in inputs_resolved:
            item.status = "failed"
            item.reason = (f"output {item.output} would overwrite an input photo; "
                           "choose another output folder or format")
        items.append(item)
    return BatchPlan(items=items, settings=settings)


# ----------------------------------------------------------------------------- the log


class BatchLog:
    """The resume/summary log, ``OUTDIR/.glow-batch.json``, rewritten atomically.

    Entries from earlier runs are kept (keyed by output path) so the file describes the
    whole folder after a resumed batch, not only the last run.
    """

    def __init__(self, out_dir: Path, settings: dict | None = None) -> None:
        self.path = Path(out_dir) / LOG_NAME
        self._lock = threading.Lock()
        self.data: dict = {"version": 1, "items": {}}
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(old, dict) and isinstance(old.get("items"), dict):
                self.data["items"] = old["items"]
        self.data["started"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.data["settings"] = settings or {}

    def record(self, item: BatchItem) -> None:
        with self._lock:
            self.data["items"][item.relative] = {
                "source": str(item.source),
                "status": item.status,
                "reason": item.reason,
                "seconds": round(item.seconds, 3),
            }
            self._write()

    def finish(self, summary: BatchSummary) -> None:
        with self._lock:
            self.data["last_run"] = {
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "done": len(summary.done),
                "skipped": len(summary.skipped),
                "failed": len(summary.failed),
                "cancelled": summary.cancelled,
            }
            self._write()

    def _write(self) -> None:
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        text = json.dumps(self.data, indent=2, sort_keys=True)
        # A log that cannot be written must not fail the photos themselves.
        with contextlib.suppress(OSError):
            atomic_write_text(self.path, text)


# ----------------------------------------------------------------------------- running


def _settings_json(settings: BatchSettings, extra: dict | None) -> dict:
    data = dataclasses.asdict(settings)
    data["out_dir"] = str(settings.out_dir)
    data.update(extra or {})
    return data


def process_item(item: BatchItem, restorer: Restorer, settings: BatchSettings,
                 fatal: tuple[type[BaseException], ...] = ()) -> None:
    """Restore one photo into ``item.output``; sets status/reason, never raises for the file.

    Exceptions listed in ``fatal`` (e.g. the engine's ``Cancelled``) and non-``Exception``
    ones (KeyboardInterrupt) are about the batch, not the file: they propagate.
    """
    start = time.perf_counter()
    try:
        image = read_image(item.source, max_pixels=settings.max_pixels)
        out = restorer(image)
        caption = None
        if isinstance(out, tuple):
            out, caption = out
        restored = np.asarray(out, dtype=np.float32)
        if restored.shape != image.pixels.shape:
            raise ValueError(f"restorer returned shape {restored.shape}, "
                             f"expected {image.pixels.shape}")
        result = dataclasses.replace(image, pixels=restored)
        if caption is not None:
            result = with_caption(result, caption)
        item.output.parent.mkdir(parents=True, exist_ok=True)
        write_image(item.output, result, format=OUTPUT_FORMATS[settings.format].name,
                    bit_depth=settings.bit_depth, quality=settings.quality)
        item.status, item.reason = "done", ""
    except (ImageReadError, ImageWriteError) as exc:
        item.status, item.reason = "failed", str(exc)
    except Exception as exc:
        if isinstance(exc, fatal):
            raise
        item.status = "failed"
        item.reason = f"{item.source}: {type(exc).__name__}: {exc}"
    item.seconds = time.perf_counter() - start


def run_batch(
    plan: BatchPlan,
    restorers: Restorer | Sequence[Restorer],
    *,
    on_item: Callable[[BatchItem], None] | None = None,
    cancel: CancelToken | None = None,
    log_settings: dict | None = None,
    fatal: tuple[type[BaseException], ...] = (),
) -> BatchSummary:
    """Run the plan; one worker thread per restorer when several are given.

    ``on_item`` is called (from the worker's thread) after every item, skipped and failed
    ones included; ``cancel`` is checked between files (the GUI's cancel button; hand the
    same token to the engine to stop inside a photo too).
    Errors of one file are recorded on its item and the batch goes on; exceptions in
    ``fatal`` (e.g. the engine's ``Cancelled``) and KeyboardInterrupt stop every worker
    and propagate once the log is written.
    """
    settings = plan.settings
    workers = [restorers] if callable(restorers) else list(restorers)
    if not workers:
        raise ValueError("run_batch needs at least one restorer")
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    log = BatchLog(settings.out_dir, _settings_json(settings, log_settings))
    summary = BatchSummary()
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def finish_item(item: BatchItem) -> None:
        with lock:
            {"done": summary.done, "skipped": summary.skipped,
             "failed": summary.failed}[item.status].append(item)
        log.record(item)
        if on_item is not None:
            on_item(item)

    todo: queue.Queue[BatchItem] = queue.Queue()
    for item in plan.items:
        if item.status == "failed":
            finish_item(item)
        elif settings.skip_existing and item.output.exists():
            item.status, item.reason = "skipped", "output already exists"
            finish_item(item)
        else:
            todo.put(item)

    def work(restorer: Restorer) -> None:
        while not stop.is_set():
            if cancel is not None and cancel.cancelled:
                stop.set()
                break
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                process_item(item, restorer, settings, fatal)
            except BaseException as exc:  # handed to the caller's thread
                item.status, item.reason = "failed", f"{type(exc).__name__}: {exc}"
                finish_item(item)
                errors.append(exc)
                stop.set()
                return
            finish_item(item)

    try:
        if len(workers) == 1:
            work(workers[0])
        else:
            threads = [threading.Thread(target=work, args=(w,), name=f"glow-batch-{i}",
                                        daemon=True) for i, w in enumerate(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        summary.cancelled = stop.is_set()
        log.finish(summary)
    if errors:
        raise errors[0]
    return summary
