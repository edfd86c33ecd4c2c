"""Background work: everything slow (loading photos and weights, restoring) runs here.

Why a small task abstraction over ``QThreadPool``: each job is a plain function that gets a
progress callback and the engine's cancel token; the GUI only ever sees queued signals, so
the window never freezes, and an exception reaches the GUI thread as itself (inside a
:class:`Failure`), to be dispatched with ``isinstance``, never by its name or its text.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.imaging import EtaClock
from glow_core.cancel import Cancelled, CancelToken
from glow_core.errors import GlowError

__all__ = ["CancelToken", "Failure", "ProgressTracker", "Task", "TaskRunner", "describe_error",
           "is_cancel"]


@dataclass(frozen=True)
class Failure:
    """A task's exception carried to the GUI thread.

    ``error`` is the exception itself (its traceback dropped, so no frames stay alive);
    ``message`` is one readable sentence; ``details`` the technical traceback.
    """

    error: BaseException
    message: str
    details: str


class TaskSignals(QObject):
    """Signals of one task; they live in the GUI thread, so slots run there."""

    progress = Signal(object)  # whatever the task reports (ProgressInfo, tuple, ...)
    finished = Signal(object)  # the return value
    failed = Signal(object)  # a Failure
    cancelled = Signal()
    done = Signal()  # always last, whatever happened


def is_cancel(exc: BaseException) -> bool:
    """The engine's ``Cancelled``: the run stopped because its token fired."""
    return isinstance(exc, Cancelled)


def _out_of_memory(exc: BaseException) -> bool:
    # torch's error type exists only once torch is imported, and so does any instance of it:
    # looking it up in sys.modules keeps torch off the GUI thread's import path.
    torch = sys.modules.get("torch")
    oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    return oom is not None and isinstance(exc, oom)


def describe_error(exc: BaseException) -> str:
    """One readable sentence for a person, not a traceback."""
    name = type(exc).__name__
    text = str(exc).strip() or name
    if _out_of_memory(exc):
        return ("The device ran out of memory. Choose a smaller tile size or another "
                f"device, then try again. ({text.splitlines()[0]})")
    if isinstance(exc, MemoryError):
        return "Not enough memory for this photo. Choose a smaller tile size and try again."
    if isinstance(exc, GlowError):
        return exc.user_message
    return f"{text} ({name})" if name not in text else text


class Task(QRunnable):
    """Runs ``fn(report, token)`` on a pool thread.

    ``report(value)`` emits ``progress``. ``token`` is the engine's :class:`CancelToken`,
    the one cancel mechanism: :meth:`cancel` fires it, the engine stops inside its current
    tile and raises ``Cancelled``. A task given no token cannot be cancelled.
    """

    def __init__(self, fn: Callable[[Callable[[Any], None], CancelToken | None], Any], *,
                 token: CancelToken | None = None, name: str = "task") -> None:
        super().__init__()
        self.setAutoDelete(False)  # we keep the Python object; Qt must not delete it
        self.fn = fn
        self.token = token
        self.name = name
        self.signals = TaskSignals()
        self.running = True

    def cancel(self) -> None:
        if self.token is not None:
            self.token.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.token is not None and self.token.cancelled

    def run(self) -> None:  # Qt entry point
        signals = self.signals
        try:
            result = self.fn(signals.progress.emit, self.token)
        except BaseException as exc:  # every failure must reach the GUI
            if is_cancel(exc) or self.is_cancelled:
                signals.cancelled.emit()
            else:
                details = traceback.format_exc()
                signals.failed.emit(Failure(exc.with_traceback(None), describe_error(exc),
                                            details))
        else:
            if self.is_cancelled:  # finished as the token fired: the result is not wanted
                signals.cancelled.emit()
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
