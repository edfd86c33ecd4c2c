"""Restore orchestration: one restoration at a time, its progress, cancel, result or error.

The window asks, the controller runs: it owns the :class:`~app.engine_host.EngineHost`
(loading, and reloading for a new device once the running job ends), starts each restore
as a :class:`~app.workers.Task` with its own :class:`~glow_core.cancel.CancelToken`, turns
the engine's progress into the status-bar text, and reports the outcome by signal. It
holds no widget, so it is tested without a window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRect, QTimer, Signal

from app.engine_host import EngineHost
from app.imaging import format_duration
from app.workers import CancelToken, ProgressTracker, Task, TaskRunner


@dataclass(frozen=True)
class Restored:
    """A finished restore: the engine's result, the region (None: whole photo), options."""

    result: Any  # glow_core.engine.RestoreResult
    rect: QRect | None
    options: Any  # glow_core.engine.RestoreOptions


def progress_detail(info: Any) -> str:
    """"tile 2/6 · step 3/8" from the engine's ProgressInfo ("" when there is one part)."""
    parts = []
    stage = getattr(info, "stage", "")
    if stage in ("estimating blur", "deconvolving"):
        return stage.capitalize()
    tiles = getattr(info, "tiles", 1)
    if tiles > 1:
        parts.append(f"tile {getattr(info, 'tile', 0)}/{tiles}")
    if getattr(info, "steps", 0) and getattr(info, "stage", "") == "sampling":
        parts.append(f"step {info.step}/{info.steps}")
    return " · ".join(parts)


def region_in_crop(options: Any, rect: QRect) -> Any:
    """Options for restoring only ``rect``: the blur region moved into the crop's pixels.

    A region that leaves too little of itself inside the crop is dropped (the engine then
    estimates from the crop's most textured part).
    """
    region = getattr(options, "kernel_region", None)
    if region is None:
        return options
    y0, x0, y1, x1 = region
    y0, x0 = max(y0 - rect.top(), 0), max(x0 - rect.left(), 0)
    y1, x1 = min(y1 - rect.top(), rect.height()), min(x1 - rect.left(), rect.width())
    inside = (y0, x0, y1, x1) if min(y1 - y0, x1 - x0) >= 64 else None
    return dataclasses.replace(options, kernel_region=inside)


class RestoreController(QObject):
    """Runs restorations on the host's engine and reports how each ended."""

    started = Signal(str)  # what runs: "Restoring…"
    progressed = Signal(float, str)  # fraction done, status text (detail, elapsed, left)
    finished = Signal(object)  # Restored
    estimated = Signal(object)  # glow_core.kernel.KernelField from "Estimate blur"
    cancelled = Signal()
    failed = Signal(object)  # Failure: dispatch on .error with isinstance
    busyChanged = Signal(bool)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.host = EngineHost(runner, self)
        self.current: Task | None = None
        self.tracker: ProgressTracker | None = None
        self._fraction = 0.0
        self._detail = ""
        self._cancelling = False
        self._pending: tuple[str | Path | None, str, str] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._emit_progress)

    # ------------------------------------------------------------------ engine
    @property
    def engine(self) -> Any:
        return self.host.engine

    @property
    def busy(self) -> bool:
        return self.current is not None

    def load_engine(self, checkpoint: str | Path | None, device: str, precision: str, *,
                    wait: bool = False) -> None:
        self._pending = None
        self.host.load(checkpoint, device, precision, wait=wait)

    def use_device(self, checkpoint: str | Path | None, device: str, precision: str) -> None:
        """Reload on another device or precision; never under a running job (it waits)."""
        if (self.host.device, self.host.precision) == (device, precision):
            self._pending = None
            return
        if self.busy:
            self._pending = (checkpoint, device, precision)
            return
        self.load_engine(checkpoint, device, precision)

    def can_restore(self, has_image: bool) -> tuple[bool, str]:
        if not has_image:
            return False, "Open a photo first"
        if self.engine is None:
            if self.host.is_loading:
                return False, "The engine is still loading"
            return False, self.host.error or "The engine is not available"
        if self.busy:
            return False, "A restoration is running"
        return True, ""

    def memory_estimate(self, height: int, width: int,
                        options: Callable[[], Any]) -> tuple[int | None, str]:
        """Peak bytes for a photo this size, or ``(None, why not)``; never raises."""
        if self.engine is None:
            return None, "engine not loaded"
        try:
            return self.engine.estimate_memory(height, width, options()), ""
        except Exception as exc:  # an estimate must never break the panel
            return None, f"unknown ({exc})"

    # ----------------------------------------------------------------- restoring
    def start(self, pixels: np.ndarray, options: Any, rect: QRect | None = None) -> Task | None:
        """Restore ``pixels`` (only ``rect`` of them when given); None when busy or no engine."""
        ok, _reason = self.can_restore(True)
        if not ok:
            return None
        engine = self.engine
        if rect is not None:
            pixels = np.ascontiguousarray(pixels[rect.top():rect.bottom() + 1,
                                                 rect.left():rect.right() + 1])
            options = region_in_crop(options, rect)

        def work(report: Any, token: CancelToken | None) -> Any:
            return engine.restore(pixels, options, progress=report, cancel=token)

        return self._launch(
            Task(work, token=CancelToken(), name="restore"),
            lambda r: self.finished.emit(Restored(r, rect, options)),
            "Restoring visible region…" if rect is not None else "Restoring…")

    def start_estimate(self, pixels: np.ndarray, *, kernel_size: int | None = None,
                       region: tuple[int, int, int, int] | None = None,
                       caption: str = "", spatially_varying: bool = False) -> Task | None:
        """"Estimate blur": the engine's kernel estimate alone, with progress and cancel."""
        ok, _reason = self.can_restore(True)
        if not ok:
            return None
        engine = self.engine

        def work(report: Any, token: CancelToken | None) -> Any:
            return engine.estimate_kernel(pixels, kernel_size=kernel_size, region=region,
                                          progress=report, cancel=token, caption=caption,
                                          spatially_varying=spatially_varying)

        return self._launch(Task(work, token=CancelToken(), name="estimate-kernel"),
                            self.estimated.emit, "Estimating blur…")

    def _launch(self, task: Task, on_finished: Callable[[Any], None], text: str) -> Task:
        task.signals.progress.connect(self._on_progress)
        task.signals.finished.connect(on_finished)
        task.signals.failed.connect(self.failed)
        task.signals.cancelled.connect(self.cancelled)
        task.signals.done.connect(self._on_done)
        self.current = task
        self.tracker = ProgressTracker()
        self._fraction, self._detail, self._cancelling = 0.0, "", False
        self._timer.start()
        self.busyChanged.emit(True)
        self.started.emit(text)
        self.runner.start(task)
        return task

    def cancel(self) -> None:
        """Fire the running restore's token: the engine stops inside its current tile."""
        if self.current is not None and not self._cancelling:
            self.current.cancel()
            self._cancelling = True
            self._emit_progress()

    def _on_progress(self, info: Any) -> None:
        self._fraction = float(getattr(info, "fraction", 0.0))
        if self.tracker is not None:
            self.tracker.update(self._fraction)
        self._detail = progress_detail(info)
        self._emit_progress()

    def status_text(self) -> str:
        if self._cancelling:
            return "Cancelling…"
        if self.tracker is None:
            return ""
        detail = f"{self._detail}  ·  " if self._detail else ""
        return (f"{detail}{format_duration(self.tracker.elapsed)} elapsed  ·  "
                f"{format_duration(self.tracker.remaining)} left")

    def _emit_progress(self) -> None:
        if self.tracker is not None:
            self.progressed.emit(self._fraction, self.status_text())

    def _on_done(self) -> None:
        self.current = None
        self.tracker = None
        self._timer.stop()
        self.busyChanged.emit(False)
        if self._pending is not None and self.engine is not None:
            self.use_device(*self._pending)
