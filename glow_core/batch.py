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
import errno
import hashlib
import json
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from glow_core.cancel import CancelToken
from glow_core.errors import GlowError
from glow_core.formats import FORMATS, IMAGE_EXTENSIONS, OUTPUT_FORMATS, normalize_format
from glow_core.fsutil import atomic_write_text
from glow_core.imageio import (
    DEFAULT_MAX_PIXELS,
    ImageData,
    ImageReadError,
    ImageWriteError,
    parse_color,
    read_image,
    with_caption,
    write_image,
)
from glow_core.mask import MASK_SUFFIX

__all__ = [
    "LOG_NAME",
    "OUTPUT_FORMATS",
    "BatchItem",
    "BatchLog",
    "BatchPlan",
    "BatchSettings",
    "BatchSummary",
    "OutputFolderError",
    "Restorer",
    "check_output_folder",
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
    background: str = "white"  # transparency is flattened on this for formats without alpha

    def __post_init__(self) -> None:
        if not str(self.out_dir).strip():
            raise ValueError("the output folder is empty; give a folder name "
                             "(use '.' for the current folder)")
        self.out_dir = Path(self.out_dir)
        parse_color(self.background)  # ValueError with the accepted forms
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
    renamed: str = ""  # why the output is not simply <stem>.<ext> (a name clash), or ""
    warnings: list[str] = field(default_factory=list)  # e.g. transparency flattened


@dataclass
class BatchPlan:
    items: list[BatchItem]  # every input, missing ones included (status "failed")
    settings: BatchSettings
    #: files left out because they are outputs of a batch into this folder (path, why)
    excluded: list[tuple[Path, str]] = field(default_factory=list)

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
    #: photos in progress when the batch was interrupted (neither done nor failed)
    interrupted: list[BatchItem] = field(default_factory=list)
    #: set when the output side failed (disk full, folder gone read-only): batch stopped
    output_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.output_error

    @property
    def renamed(self) -> list[BatchItem]:
        """Items whose output name was changed to keep names unique in this run."""
        return [i for i in (*self.done, *self.skipped, *self.failed) if i.renamed]

    @property
    def warned(self) -> list[BatchItem]:
        return [i for i in self.done if i.warnings]


# ----------------------------------------------------------------------------- planning


def _is_image_name(path: Path) -> bool:
    return (path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")
            and not path.name.lower().endswith(MASK_SUFFIX))  # region masks are not photos


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
                                     status="failed", reason=f"{path}: input does not exist"))
    return found, missing


def _logged_outputs(out_dir: Path) -> dict[Path, dict]:
    """Outputs an earlier batch into ``out_dir`` wrote, by resolved path (from its log)."""
    try:
        data = json.loads((out_dir / LOG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, dict):
        return {}
    return {(out_dir / rel).resolve(): entry for rel, entry in items.items()
            if isinstance(entry, dict) and entry.get("status") == "done"}


def _short_hash(path: Path) -> str:
    """Eight hex digits from the source's absolute path: stable across runs."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _unique_names(pairs: list[tuple[Path, Path]], ext: str) -> list[tuple[Path, str]]:
    """Output path (relative to the output folder) and rename reason for every input.

    ``<relative stem>.<ext>`` when that name is unique in the run (case-insensitively:
    Windows and macOS file systems ignore case). Inputs sharing a name get, in order of
    preference, the one suffix that makes the whole group unique: the source extension
    (``a_jpg.png`` / ``a_png.png``), the parent folder's name (``IMG_0001_cam1.jpg``), or
    a short hash of the source path. All three depend only on the inputs, so a resumed
    batch finds the same names.
    """
    def key(rel: Path) -> str:
        return rel.as_posix().lower()

    base = [rel.with_name(rel.stem + ext) for _, rel in pairs]
    groups: dict[str, list[int]] = {}
    for n, rel in enumerate(base):
        groups.setdefault(key(rel), []).append(n)
    taken = {k for k, members in groups.items() if len(members) == 1}
    result: list[tuple[Path, str]] = [(rel, "") for rel in base]

    def suffixes(n: int) -> list[str]:
        src, rel = pairs[n]
        parent = src.absolute().parent.name or "root"
        source_ext = rel.suffix.lstrip(".").lower() or "noext"
        return [source_ext, parent, f"{parent}_{source_ext}"]

    for members in groups.values():
        if len(members) == 1:
            continue
        first = pairs[members[0]][1].name
        for scheme in range(4):
            names = []
            for n in members:
                tag = suffixes(n)[scheme] if scheme < 3 else _short_hash(pairs[n][0])
                names.append(base[n].with_name(f"{base[n].stem}_{tag}{ext}"))
            keys = {key(name) for name in names}
            if len(keys) == len(names) and not keys & taken:
                break
        for n, name in zip(members, names, strict=True):
            why = "another input is also named " + first if scheme else \
                f"another input differs only by its extension ({first})"
            result[n] = (name, why)
        taken |= keys
    return result


def plan_batch(inputs: Iterable[str | os.PathLike[str]], settings: BatchSettings) -> BatchPlan:
    """Decide every output path; mark outputs that would overwrite an input as failed.

    Output: ``out_dir / <relative stem>.<ext>``, made unique within the run (see
    :func:`_unique_names`; the summary lists renamed outputs). Files that are outputs of
    a batch into ``out_dir`` (recorded in its log, or named exactly as another input's
    output would be, inside the output folder) are never taken as inputs: they are left
    out and listed in ``plan.excluded``.
    """
    out_dir = settings.out_dir
    pairs, missing = find_images(inputs, recursive=settings.recursive, exclude=out_dir)
    ext = OUTPUT_FORMATS[settings.format].extension
    excluded: list[tuple[Path, str]] = []

    logged = _logged_outputs(out_dir)
    if logged:
        kept = []
        for src, rel in pairs:
            entry = logged.get(src.resolve())
            if entry is None:
                kept.append((src, rel))
            else:
                excluded.append((src, f"restored output of {entry.get('source', '?')} "
                                      f"(recorded in {LOG_NAME})"))
        pairs = kept
    # Without a log: a file inside the output folder named exactly as another input's
    # output is that output (e.g. photo.png next to photo.jpg when writing in place).
    in_out = [(src, rel) for src, rel in pairs if _inside(src, out_dir)]
    if in_out:
        would_write = {}
        for src, rel in pairs:
            target = (out_dir / rel.with_name(rel.stem + ext)).resolve()
            if target != src.resolve():
                would_write[target] = src
        kept = []
        for src, rel in pairs:
            origin = would_write.get(src.resolve()) if _inside(src, out_dir) else None
            if origin is None:
                kept.append((src, rel))
            else:
                excluded.append((src, f"named as the output of {origin}"))
        pairs = kept

    inputs_resolved = {src.resolve() for src, _ in pairs}
    items: list[BatchItem] = list(missing)
    for (src, _), (out_rel, why) in zip(pairs, _unique_names(pairs, ext), strict=True):
        item = BatchItem(source=src, output=out_dir / out_rel, relative=out_rel.as_posix(),
                         renamed=why)
        if item.output.resolve() in inputs_resolved:
            item.status = "failed"
            item.reason = (f"output {item.output} would overwrite an input photo; "
                           "choose another output folder or format")
        items.append(item)
    return BatchPlan(items=items, settings=settings, excluded=excluded)


# ----------------------------------------------------------------------- output folder


class OutputFolderError(GlowError):
    """The output side cannot take the results: folder not creatable, not writable, full.

    Checked before the model loads (:func:`check_output_folder`); raised during a batch
    when the disk fills up or the folder stops being writable, which stops the batch.
    """


_OUTPUT_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                  errno.EDQUOT: "the disk quota is exceeded"}


def describe_os_error(exc: OSError) -> str:
    """Plain words for the reasons a folder refuses files."""
    if exc.errno in _OUTPUT_ERRNOS:
        return _OUTPUT_ERRNOS[exc.errno]
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if exc.errno == errno.ENOENT:
        return "a part of the path does not exist and cannot be created"
    return exc.strerror or str(exc)


def check_output_folder(out_dir: str | os.PathLike[str], probe_bytes: int = 64 * 1024,
                        create: bool = False) -> Path:
    """Prove that ``out_dir`` can be created (``create``: is created) and take files.

    Raises :class:`OutputFolderError` naming the folder and the reason (cannot be created,
    is a file, not writable, disk full). A probe file of ``probe_bytes`` is written,
    fsynced and removed, in the folder or, when it does not exist yet and ``create`` is
    false, in the nearest existing folder above it (so nothing is left behind when the
    run stops before any photo): permission bits alone say nothing when running as root.
    """
    if not str(out_dir).strip():
        raise OutputFolderError("the output folder is empty; give a folder name")
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"output {folder} exists and is a file, not a folder")
    verb = "write in" if folder.is_dir() else "create"
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(f"cannot create the output folder {folder}: "
                                    f"{describe_os_error(exc)}") from exc
    probe_dir = folder.absolute()
    while not probe_dir.exists() and probe_dir.parent != probe_dir:
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise OutputFolderError(f"cannot create the output folder {folder}: {probe_dir} "
                                "is a file, not a folder")
    name = None
    try:
        fd, name = tempfile.mkstemp(dir=probe_dir, prefix=".glow-write-test-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * probe_bytes)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise OutputFolderError(f"cannot {verb} the output folder {folder}: "
                                f"{describe_os_error(exc)}") from exc
    finally:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
    return folder


def _output_failure(exc: BaseException) -> OSError | None:
    """The OSError behind a write failure when it is about the folder, not the photo."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
            return exc
        exc = exc.__cause__
    return None


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
            entry = {
                "source": str(item.source),
                "source_resolved": str(item.source.resolve()),
                "status": item.status,
                "reason": item.reason,
                "seconds": round(item.seconds, 3),
            }
            if item.renamed:
                entry["renamed"] = item.renamed
            if item.warnings:
                entry["warnings"] = list(item.warnings)
            self.data["items"][item.relative] = entry
            self._write()

    def belongs_to(self, item: BatchItem) -> bool:
        """False when the log says ``item.output`` was written for another source photo."""
        entry = self.data["items"].get(item.relative)
        if not isinstance(entry, dict):
            return True
        recorded = entry.get("source_resolved") or entry.get("source")
        if not recorded:
            return True
        try:
            return Path(recorded).resolve() == item.source.resolve()
        except OSError:
            return True

    def finish(self, summary: BatchSummary) -> None:
        with self._lock:
            self.data["last_run"] = {
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "done": len(summary.done),
                "skipped": len(summary.skipped),
                "failed": len(summary.failed),
                "cancelled": summary.cancelled,
                "interrupted": [str(i.source) for i in summary.interrupted],
                "output_error": summary.output_error,
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


def _test_pause_after_write() -> None:
    """Test hook: ``GLOW_TEST_PAUSE_AFTER_WRITE=SECONDS`` sleeps between writing a photo
    and logging it, so the process tests can kill the batch in exactly that window."""
    pause = os.environ.get("GLOW_TEST_PAUSE_AFTER_WRITE")
    if pause:
        time.sleep(float(pause))


def process_item(item: BatchItem, restorer: Restorer, settings: BatchSettings,
                 fatal: tuple[type[BaseException], ...] = ()) -> None:
    """Restore one photo into ``item.output``; sets status/reason, never raises for the file.

    Exceptions listed in ``fatal`` (e.g. the engine's ``Cancelled``) and non-``Exception``
    ones (KeyboardInterrupt) are about the batch, not the file: they propagate. So does
    :class:`OutputFolderError` when the write failed because the disk is full or the
    folder became read-only (every later photo would fail the same way).
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
        spec = OUTPUT_FORMATS[settings.format]
        if not spec.alpha and result.alpha is not None and float(result.alpha.min()) < 1.0:
            item.warnings.append(f"transparency flattened onto {settings.background}: "
                                 f"{spec.label} has no alpha channel")
        if caption is not None:
            result = with_caption(result, caption)
        item.output.parent.mkdir(parents=True, exist_ok=True)
        write_image(item.output, result, format=spec.name, bit_depth=settings.bit_depth,
                    quality=settings.quality, background=parse_color(settings.background))
        _test_pause_after_write()
        item.status, item.reason = "done", ""
    except (ImageReadError, ImageWriteError, OSError) as exc:
        cause = _output_failure(exc)
        if cause is not None:
            item.status = "failed"
            item.reason = f"{item.output}: {describe_os_error(cause)}"
            item.seconds = time.perf_counter() - start
            raise OutputFolderError(f"cannot write in {settings.out_dir}: "
                                    f"{describe_os_error(cause)}") from exc
        item.status = "failed"
        item.reason = str(exc) if isinstance(exc, GlowError) else \
            f"{item.source}: {type(exc).__name__}: {exc}"
    except Exception as exc:
        if isinstance(exc, fatal):
            raise
        item.status = "failed"
        item.reason = f"{item.source}: {type(exc).__name__}: {exc}"
    item.seconds = time.perf_counter() - start


def _remove_stale_temp_files(items: list[BatchItem], out_dir: Path) -> None:
    """Delete half-written temporaries (``.<output name>.*.tmp``) a killed run left behind.

    Only those of this plan's own outputs and of the log: the batch owns those names.
    """
    by_folder: dict[Path, set[str]] = {out_dir: {LOG_NAME}}
    for item in items:
        if item.output != Path():
            by_folder.setdefault(item.output.parent, set()).add(item.output.name)
    for folder, names in by_folder.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.startswith(".") and entry.endswith(".tmp"):
                owner = entry[1:].rsplit(".", 2)[0]
                if owner in names:
                    with contextlib.suppress(OSError):
                        (folder / entry).unlink()


def run_batch(
    plan: BatchPlan,
    restorers: Restorer | Sequence[Restorer],
    *,
    on_item: Callable[[BatchItem], None] | None = None,
    cancel: CancelToken | None = None,
    log_settings: dict | None = None,
    fatal: tuple[type[BaseException], ...] = (),
    summary: BatchSummary | None = None,
) -> BatchSummary:
    """Run the plan; one worker thread per restorer when several are given.

    ``on_item`` is called (from the worker's thread) after every item, skipped and failed
    ones included; ``cancel`` is checked between files (the GUI's cancel button; hand the
    same token to the engine to stop inside a photo too).
    Errors of one file are recorded on its item and the batch goes on. An output-side
    failure (disk full, folder read-only) stops the batch: ``summary.output_error`` says
    why. Exceptions in ``fatal`` (e.g. the engine's ``Cancelled``) and KeyboardInterrupt
    stop every worker and propagate once the log is written; the photos in flight are
    listed in ``summary.interrupted`` (not logged as failed). Pass ``summary`` to keep
    what was done when that happens.
    """
    settings = plan.settings
    workers = [restorers] if callable(restorers) else list(restorers)
    if not workers:
        raise ValueError("run_batch needs at least one restorer")
    check_output_folder(settings.out_dir, probe_bytes=0, create=True)
    log = BatchLog(settings.out_dir, _settings_json(settings, log_settings))
    summary = summary if summary is not None else BatchSummary()
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

    _remove_stale_temp_files(plan.items, settings.out_dir)
    todo: queue.Queue[BatchItem] = queue.Queue()
    for item in plan.items:
        if item.status == "failed":
            finish_item(item)
        elif settings.skip_existing and item.output.exists() and log.belongs_to(item):
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
            except OutputFolderError as exc:
                with lock:
                    summary.output_error = str(exc)
                finish_item(item)
                stop.set()
                return
            except BaseException as exc:  # handed to the caller's thread
                item.status, item.reason = "pending", f"interrupted ({type(exc).__name__})"
                with lock:
                    summary.interrupted.append(item)
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
            try:
                for t in threads:
                    t.join()
            except BaseException:  # Ctrl-C lands in this thread: stop the workers
                stop.set()
                if cancel is not None:
                    cancel.cancel()
                raise
    finally:
        summary.cancelled = stop.is_set() and not summary.output_error
        log.finish(summary)
    if errors:
        raise errors[0]
    return summary
