"""The restore controller without a window, and errors / cancel dispatched by type."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.conftest import synthetic_photo  # noqa: E402


@pytest.fixture
def controller(qtbot, tiny_checkpoint: Path):  # noqa: ANN001, ANN201
    from app.restore_controller import RestoreController
    from app.workers import TaskRunner

    runner = TaskRunner()
    ctl = RestoreController(runner)
    ctl.load_engine(tiny_checkpoint, "cpu", "auto", wait=True)
    assert ctl.engine is not None, ctl.host.error
    yield ctl
    runner.shutdown(10000)


def options(**fields):  # noqa: ANN003, ANN201
    from glow_core.engine import RestoreOptions

    return RestoreOptions(**fields)


def test_controller_restores_and_reports_progress(qtbot, controller) -> None:
    from PySide6.QtCore import QRect

    from app.restore_controller import Restored

    pixels = synthetic_photo(48, 64)
    progress = []
    controller.progressed.connect(lambda f, text: progress.append((f, text)))
    busy = []
    controller.busyChanged.connect(busy.append)
    with qtbot.waitSignal(controller.finished, timeout=20000) as blocker:
        task = controller.start(pixels, options())
        assert task is not None and task.token is not None
        assert controller.can_restore(True) == (False, "A restoration is running")
        assert controller.start(pixels, options()) is None  # one at a time
    done = blocker.args[0]
    assert isinstance(done, Restored) and done.rect is None
    facts = dict(controller.host.describe())  # the About box's rows
    assert facts["Weights"].startswith(controller.engine.checkpoint.path.name)
    assert facts["Device"] == "cpu"
    assert done.result.image.shape == pixels.shape
    qtbot.waitUntil(lambda: not controller.busy, timeout=5000)
    assert busy == [True, False]
    assert progress and progress[-1][0] == pytest.approx(1.0) and "elapsed" in progress[-1][1]
    # A region restores only that region.
    with qtbot.waitSignal(controller.finished, timeout=20000) as blocker:
        controller.start(pixels, options(), QRect(8, 4, 24, 16))
    assert blocker.args[0].result.image.shape == (16, 24, 3)
    qtbot.waitUntil(lambda: not controller.busy, timeout=5000)


def test_controller_cancel_goes_through_the_token(qtbot, controller) -> None:
    pixels = synthetic_photo(128, 128)
    finished = []
    controller.finished.connect(finished.append)
    task_box = []
    texts = []

    def on_progress(_fraction: float, text: str) -> None:
        texts.append(text)
        controller.cancel()
        assert task_box[0].token.cancelled and task_box[0].is_cancelled

    controller.progressed.connect(on_progress)
    with qtbot.waitSignal(controller.cancelled, timeout=20000):
        task_box.append(controller.start(pixels, options(mode="full", steps=40, tile=64)))
    qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    assert not finished
    assert texts[-1] == "Cancelling…"  # the status bar says so until the tile stops


def test_controller_failure_carries_the_exception(qtbot, controller, monkeypatch) -> None:  # noqa: ANN001
    from app.workers import Failure
    from glow_core.errors import EngineError

    def boom(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(controller.engine, "restore", boom)
    with qtbot.waitSignal(controller.failed, timeout=10000) as blocker:
        controller.start(synthetic_photo(32, 32), options())
    failure = blocker.args[0]
    assert isinstance(failure, Failure) and isinstance(failure.error, RuntimeError)
    assert failure.error.__traceback__ is None  # no frames (and photos) kept alive
    assert "device-side assert" in failure.message and "RuntimeError" in failure.details
    qtbot.waitUntil(lambda: not controller.busy, timeout=5000)

    def refuse(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise EngineError("tile must be at least 32 pixels")

    monkeypatch.setattr(controller.engine, "restore", refuse)
    with qtbot.waitSignal(controller.failed, timeout=10000) as blocker:
        controller.start(synthetic_photo(32, 32), options())
    assert blocker.args[0].message == "tile must be at least 32 pixels"  # a user's message
    qtbot.waitUntil(lambda: not controller.busy, timeout=5000)


def test_device_change_waits_for_the_running_restore(qtbot, controller) -> None:
    loads = []
    controller.host.loading.connect(lambda: loads.append(controller.host.precision))
    with qtbot.waitSignal(controller.finished, timeout=20000):
        controller.start(synthetic_photo(32, 32), options())
        controller.use_device(controller.host.checkpoint, "cpu", "fp32")
        assert loads == []  # never swapped under the running job
    qtbot.waitUntil(lambda: loads == ["fp32"], timeout=5000)
    qtbot.waitUntil(lambda: controller.engine is not None and not controller.host.is_loading,
                    timeout=20000)


def test_task_dispatch_is_by_type_not_name(qtbot) -> None:
    import torch

    from app.workers import CancelToken, Task, describe_error
    from glow_core.cancel import Cancelled
    from glow_core.errors import ImageReadError, MissingCheckpointError

    class ImageReadErrorLookalike(Exception):  # same name pattern, not a GlowError
        pass

    assert describe_error(ImageReadError("bad.jpg: not a photo")) == "bad.jpg: not a photo"
    assert describe_error(MissingCheckpointError("no weights")) == "no weights"
    assert "ImageReadErrorLookalike" in describe_error(ImageReadErrorLookalike("x"))
    assert describe_error(torch.OutOfMemoryError("CUDA out of memory")).startswith(
        "The device ran out of memory")
    assert describe_error(RuntimeError("CUDA out of memory")).endswith("(RuntimeError)")

    # The token is the one cancel mechanism: the work sees it and the engine's Cancelled
    # ends the task as cancelled, not failed.
    events = []

    def work(_report, token):  # noqa: ANN001, ANN202
        token.cancel()
        token.check()

    task = Task(work, token=CancelToken())
    task.signals.cancelled.connect(lambda: events.append("cancelled"))
    task.signals.failed.connect(lambda f: events.append(f))
    task.run()
    assert events == ["cancelled"]

    # A Cancelled raised without the task being cancelled is still a cancel (by type).
    events.clear()
    task = Task(lambda _r, _t: (_ for _ in ()).throw(Cancelled("stop")))
    task.signals.cancelled.connect(lambda: events.append("cancelled"))
    task.run()
    assert events == ["cancelled"]

    # A task without a token cannot be cancelled; its result arrives.
    events.clear()
    task = Task(lambda _r, token: token)
    task.signals.finished.connect(events.append)
    task.cancel()
    task.run()
    assert events == [None] and not task.is_cancelled


def test_engine_host_missing_checkpoint_by_type(qtbot, tmp_path: Path) -> None:
    from app.engine_host import EngineHost
    from app.workers import TaskRunner

    runner = TaskRunner()
    host = EngineHost(runner)
    with qtbot.waitSignal(host.failed, timeout=10000) as blocker:
        host.load(tmp_path / "nope.safetensors", "cpu", "auto", wait=True)
    assert blocker.args[1] is True and host.missing_checkpoint
    assert "No trained weights were found" in host.error
    assert host.engine is None and host.describe() == [("Weights", host.error)]


def test_gui_modules_import_without_torch() -> None:
    """Errors and cancel come from torch-free modules: the window shows before the engine."""
    import subprocess
    import sys

    code = ("import sys, app.window, app.panels.batch, app.restore_controller; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=True)
    assert out.stdout.strip() == "False"


def test_about_box_summarises_the_manifest_entry() -> None:
    """The weights' facts in one readable line: not the evaluation tables, not the hash."""
    from app.engine_host import manifest_summary

    entry = {"file": "glow-small-v3.safetensors", "sha256": "ab" * 32, "date": "2026-12-01",
             "preset": "small", "stages": ["autoencoder", "prerecon"], "after_deconv": "network",
             "notes": "fine-tuned with sharp photos",
             "evaluation": {"engine": {"held out": [26.95, 27.12, 27.10]}}}
    line = manifest_summary(entry)
    assert line == ("date: 2026-12-01; preset: small; stages: autoencoder, prerecon; "
                    "after deconvolution: network; notes: fine-tuned with sharp photos; "
                    "evaluation: in resources/weights/manifest.json")
    assert "ab" * 8 not in line and "27.12" not in line
    assert manifest_summary(None).startswith("none")
    assert manifest_summary({"file": "x", "preset": "tiny"}) == "preset: tiny"
