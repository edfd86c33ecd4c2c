"""Owns the :class:`glow_core.engine.Engine` for the restore controller and the window.

Why a host object: the engine loads weights (slow, may fail: no checkpoint, bad file, no
such device), and the GUI must open regardless and explain what is missing. The host loads
in a worker and reports ``ready`` or ``failed(message)``; every widget asks the host, never
the engine module directly, so a missing engine is one code path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.workers import Failure, Task, TaskRunner
from glow_core.errors import MissingCheckpointError


def engine_module() -> Any:
    """``glow_core.engine`` or raise ImportError with the reason."""
    from glow_core import engine

    return engine


def available_devices() -> list[str]:
    """Devices the engine can use here: each CUDA device, MPS, CPU; CPU if unknown."""
    try:
        devices = list(engine_module().Engine.available_devices())
    except Exception:  # the combo must still be usable
        devices = []
    return devices or ["cpu"]


#: The manifest fields the About box shows, in this order (the evaluation tables and the
#: checksum stay in ``manifest.json``: a nested table read as one run-on line).
_ABOUT_FIELDS = ("date", "preset", "stages", "after_deconv", "notes")


def manifest_summary(entry: dict[str, Any] | None) -> str:
    """The About box's line for the weights' manifest entry."""
    if not entry:
        return "none (weights loaded from a file outside the bundled manifest)"
    parts = []
    for key in _ABOUT_FIELDS:
        value = entry.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        label = "after deconvolution" if key == "after_deconv" else key
        parts.append(f"{label}: {value}")
    if entry.get("evaluation"):
        parts.append("evaluation: in resources/weights/manifest.json")
    return "; ".join(parts)


class EngineHost(QObject):
    """Loads the engine off the GUI thread and remembers why it could not, if it could not."""

    loading = Signal()
    ready = Signal(object)  # the Engine
    failed = Signal(str, bool)  # message, is_missing_checkpoint

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.engine: Any = None
        self.error: str | None = None
        self.missing_checkpoint = False
        self.checkpoint: str | None = None
        self.device = "auto"
        self.precision = "auto"
        self._task: Task | None = None
        self._generation = 0

    @property
    def is_loading(self) -> bool:
        return self._task is not None and self._task.running

    def load(self, checkpoint: str | Path | None = None, device: str = "auto",
             precision: str = "auto", *, wait: bool = False) -> None:
        """(Re)load with these settings; the latest request wins."""
        self.checkpoint = str(checkpoint) if checkpoint else None
        self.device, self.precision = device, precision
        self._generation += 1
        generation, path = self._generation, self.checkpoint

        def work(_report: Any, _token: Any) -> Any:
            return engine_module().Engine(path, device=device, precision=precision)

        task = Task(work, name="load-engine")
        task.signals.finished.connect(lambda e, g=generation: self._on_ready(e, g))
        task.signals.failed.connect(lambda f, g=generation: self._on_failed(f, g))
        self._task = task
        self.loading.emit()  # after _task is set: is_loading is already true for listeners
        if wait:
            # Synchronous path (tests, screenshot tool): run here, signals still fire.
            task.run()
        else:
            self.runner.start(task)

    def _on_ready(self, engine: Any, generation: int) -> None:
        if generation != self._generation:
            return
        self.engine, self.error, self.missing_checkpoint = engine, None, False
        self.ready.emit(engine)

    def _on_failed(self, failure: Failure, generation: int) -> None:
        if generation != self._generation:
            return
        self.engine = None
        message, error = failure.message, failure.error
        self.missing_checkpoint = isinstance(error, MissingCheckpointError)
        if self.missing_checkpoint:
            message = ("No trained weights were found, so photos cannot be restored yet. "
                       f"{message} Put a checkpoint in resources/weights or choose one with "
                       "Engine ▸ Load weights…")
        elif isinstance(error, ImportError):
            message = f"The restoration engine is not available in this build: {message}"
        self.error = message
        self.failed.emit(message, self.missing_checkpoint)

    def describe(self) -> list[tuple[str, str]]:
        """Facts about the loaded weights for the About box: ``(label, value)`` rows."""
        engine = self.engine
        if engine is None:
            return [("Weights", self.error or "loading…")]
        info, config = engine.checkpoint, engine.config
        manifest = manifest_summary(getattr(engine, "manifest_entry", None))
        return [
            ("Weights", f"{Path(info.path).name} ({config.name} preset, stages: "
                        f"{', '.join(info.stages) or 'none'})"),
            ("SHA-256", f"<tt>{info.sha256[:16]}…</tt>"),
            ("Manifest entry", manifest),
            ("Text encoder", str(config.text_encoder)),
            ("Device", str(engine.device)),
            ("Precision", str(engine.precision)),
        ]
