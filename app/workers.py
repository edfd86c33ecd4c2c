"""Background work: everything slow (loading photos and weights, restoring) runs here.

Why a small task abstraction over ``QThreadPool``: each job is a plain function that gets a
progress callback and a cancel flag; the GUI only ever sees queued signals, so the window
never freezes and an exception is turned into a readable message rather than a crash.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.imaging import EtaClock


class TaskCancelled(Exception):
    """Raised inside a task function to end it as cancelled (not failed)."""


class TaskSignals(QObject):
    """Signals of one task; they live in the GUI thread, so slots run there."""

    progress = Signal(object)  # whatever the task reports (ProgressInfo, dict, ...)
    finished = Signal(object)  # the return value
    failed = Signal(str, str)  # readable message, technical details
    cancelled = Signal()
    done = Signal()  # always last, whatever happened


def _is_cancel(exc: BaseException) -> bool:
    """The engine's ``Cancelled`` or ours: matched by name so this module needs no engine."""
    return isinstance(exc, TaskCancelled) or type(exc).__name__ == "Cancelled"


def describe_error(exc: BaseException) -> str:
    """One readable sentence for a person, not a traceback."""
    name = type(exc).__name__
    text = str(exc).strip() or name
    if name in ("OutOfMemoryError",) or "out of memory" in text.lower():
        return ("The device ran out of memory. Choose a smaller tile size or another "
                f"device, then try again. ({text.splitlines()[0]})")
    if isinstance(exc, MemoryError):
        return "Not enough memory for this photo. Choose a smaller tile size and try again."
    if name in ("ImageReadError", "MissingCheckpointError", "EncoderMismatchError"):
        return text
    return f"{text} ({name})" if name not in text else text


class Task(QRunnable):
    """Runs ``fn(report, cancel_check)`` on a pool thread.

    ``report(value)`` emits ``progress``; ``cancel_check()`` is true once :meth:`cancel` was
    called. ``token`` (optional) is the engine's CancelToken so that cancelling reaches
    inside a tile.
    """

    def __init__(self, fn: Callable[..., Any], *, token: Any = None, name: str = "task") -> None:
        super().__init__()
        self.setAutoDelete(False)  # we keep the Python object; Qt must not delete it
        self.fn = fn
        self.token = token
        self.name = name
        self.signals = TaskSignals()
        self._cancelled = False
        self.running = True

    def cancel(self) -> None:
        self._cancelled = True
        if self.token is not None:
            self.token.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def run(self) -> None:  # noqa: D401 - Qt entry point
        signals = self.signals
        try:
            result = self.fn(signals.progress.emit, lambda: self._cancelled)
            if self._cancelled:
                raise TaskCancelled()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI
            if _is_cancel(exc) or self._cancelled:
                signals.cancelled.emit()
            else:
                signals.failed.emit(describe_error(exc), traceback.format_exc())
        else:
            signals.finished.emit(result)
        finally:
            self.running = False
            signals.done.emit()


class TaskRunner(QObject):
    """Starts tasks, keeps them alive until done, and cancels / waits on shutdown."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._tasks: list[Task] = []

    def start(self, task: Task) -> Task:
        self._tasks.append(task)
        task.signals.done.connect(lambda t=task: self._forget(t))
        self.pool.start(task)
        return task

    def _forget(self, task: Task) -> None:
        if task in self._tasks:
            self._tasks.remove(task)

    @property
    def active(self) -> list[Task]:
        return [t for t in self._tasks if t.running]

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything and wait; True when all threads stopped in time."""
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)


class ProgressTracker:
    """Turns raw progress into the text the status bar shows (elapsed / remaining)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.eta = EtaClock(clock())

    def update(self, fraction: float) -> None:
        self.eta.update(fraction, self.clock())

    @property
    def elapsed(self) -> float:
        self.eta.now = self.clock()
        return self.eta.elapsed

    @property
    def remaining(self) -> float | None:
        return self.eta.remaining
