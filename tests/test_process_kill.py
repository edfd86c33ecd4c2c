"""Process-level tests: the real CLI and the real app (offscreen) in a subprocess, killed.

* SIGKILL at random points of a CLI batch, then resume: every photo ends with exactly
  one complete output and nothing finished before a kill is redone.
* SIGKILL between writing a photo and logging it (``GLOW_TEST_PAUSE_AFTER_WRITE`` holds
  the batch in exactly that window), for the CLI and the app.
* SIGINT: a clean summary and exit code 130, no traceback, no photo logged as failed.
* Output folders that really refuse files when running as root (permission bits do
  not stop root): a regular file where the folder should be, a path under ``/proc``,
  and a sysfs folder (skipped where sysfs is writable).

Tiny checkpoint and 32 px photos keep each run short; every wait polls for files with a
generous timeout instead of sleeping a fixed time, so a loaded machine only makes it
slower. ``GLOW_TEST_SEED`` replays the random kill points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glow_core.batch import LOG_NAME
from glow_core.imageio import read_image

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300.0  # seconds for any one wait: start-up imports torch on a busy machine
N_PHOTOS = 6

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _photos(folder: Path, n: int = N_PHOTOS, size: int = 32) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = np.random.default_rng(i)
        path = folder / f"p{i}.{'jpg' if i % 2 else 'png'}"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GLOW_TEST_PAUSE_AFTER_WRITE", None)
    env.update(QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
               GLOW_DEBLUR_CONFIG_DIR=str(tmp_path / "config"),
               GLOW_DEBLUR_CACHE_DIR=str(tmp_path / "cache"))
    env.update(extra)
    return env


def _cli(checkpoint: Path, src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "glow_core", "restore", str(src), "-o", str(out),
            "--checkpoint", str(checkpoint), "--skip-existing", "-q", *extra]


def _app(checkpoint: Path, src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "tests.process_app_driver", str(checkpoint), str(src),
            str(out)]


def _sigint_as_in_a_terminal() -> None:
    """A pytest run from a background job (``cmd &``) inherits SIGINT ignored, and a
    Python child then never turns Ctrl-C into KeyboardInterrupt: start each child as a
    terminal would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_as_in_a_terminal)


def _outputs(out: Path) -> dict[str, tuple[int, int]]:
    """Finished outputs (not temporaries) -> (inode, mtime_ns): a redo changes both."""
    if not out.is_dir():
        return {}
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()
            if p.is_file() and not p.name.startswith(".")}


def _wait_for(proc: subprocess.Popen, condition: Callable[[], bool], what: str) -> bool:
    """Poll until ``condition``; False when the process ended first."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.02)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"timed out waiting for {what}\n{out}\n{err}")


def _kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out, err


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT * 2)


def _check_final(src: list[Path], out: Path, name: Callable[[Path], str],
                 kept: dict[str, tuple[int, int]]) -> None:
    """One complete output per photo, no temporaries, nothing finished redone."""
    final = _outputs(out)
    final.pop(LOG_NAME, None)
    assert sorted(final) == sorted(name(p) for p in src)
    for photo in src:
        restored = read_image(out / name(photo))  # complete: decodes in full
        assert restored.pixels.shape == read_image(photo).pixels.shape
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    for output, stamp in kept.items():
        assert final[output] == stamp, f"{output} was redone"
    log = json.loads((out / LOG_NAME).read_text())["items"]
    assert all(log[name(p)]["status"] in ("done", "skipped") for p in src), log


def _cli_name(photo: Path) -> str:
    return photo.stem + ".png"


def _app_name(photo: Path) -> str:
    return photo.stem + "_deblurred.png"


# --------------------------------------------------------------------------- the CLI
def test_cli_sigkill_at_random_points_then_resume(tmp_path: Path, tiny_checkpoint: Path
                                                  ) -> None:
    seed = int(os.environ.get("GLOW_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    src = _photos(tmp_path / "in")
    out = tmp_path / "out"
    env = _env(tmp_path)
    kept: dict[str, tuple[int, int]] = {}
    for _ in range(2):
        target = len(_outputs(out)) + rng.randint(0, 2)
        proc = _start(_cli(tiny_checkpoint, tmp_path / "in", out), env)
        _wait_for(proc, lambda t=target: len(_outputs(out)) >= t, f"{target} outputs")
        time.sleep(rng.uniform(0.0, 0.2))  # somewhere inside the next photo (or the log)
        _kill(proc)
        kept = {k: v for k, v in _outputs(out).items() if k != LOG_NAME}
        for output in kept:  # what a kill leaves behind is complete
            read_image(out / output)
    done = _run(_cli(tiny_checkpoint, tmp_path / "in", out), env)
    assert done.returncode == 0, (seed, done.stdout, done.stderr)
    assert f"{len(kept)} skipped" in done.stdout, (seed, done.stdout)
    _check_final(src, out, _cli_name, kept)


@pytest.mark.parametrize("front", ["cli", "app"])
def test_sigkill_between_writing_and_logging(tmp_path: Path, tiny_checkpoint: Path,
                                             front: str) -> None:
    launch, name = (_cli, _cli_name) if front == "cli" else (_app, _app_name)
    src = _photos(tmp_path / "in", n=3)
    out = tmp_path / "out"
    proc = _start(launch(tiny_checkpoint, tmp_path / "in", out),
                  _env(tmp_path, GLOW_TEST_PAUSE_AFTER_WRITE="600"))
    first = name(src[0])
    _wait_for(proc, lambda: first in _outputs(out), "the first output")
    _kill(proc)
    written = _outputs(out)[first]
    read_image(out / first)  # written in full (atomic) although never logged
    log = json.loads((out / LOG_NAME).read_text())["items"] if (out / LOG_NAME).exists() \
        else {}
    assert log.get(first, {}).get("status") != "done"
    done = _run(launch(tiny_checkpoint, tmp_path / "in", out), _env(tmp_path))
    assert done.returncode == 0, (done.stdout, done.stderr)
    if front == "cli":
        assert "2 restored, 1 skipped, 0 failed" in done.stdout
    _check_final(src, out, name, {first: written})


def test_cli_sigint_prints_a_clean_summary(tmp_path: Path, tiny_checkpoint: Path) -> None:
    _photos(tmp_path / "in", n=4)
    out = tmp_path / "out"
    proc = _start(_cli(tiny_checkpoint, tmp_path / "in", out),
                  _env(tmp_path, GLOW_TEST_PAUSE_AFTER_WRITE="1.5"))
    # Any first output (the batch's order is its own), with three photos still to go.
    _wait_for(proc, lambda: bool(_outputs(out)), "the first output")
    code, stdout, stderr = _kill(proc, signal.SIGINT)
    assert code == 130, (stdout, stderr)
    assert "restored" in stdout and "interrupted" in stderr and "--skip-existing" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stdout + stderr
    log = json.loads((out / LOG_NAME).read_text())
    assert not [k for k, v in log["items"].items() if v["status"] == "failed"]
    assert log["last_run"]["cancelled"] is True


def _unwritable_outputs(tmp_path: Path) -> list[tuple[Path, str]]:
    """Output paths that really fail for root, with words the error must contain."""
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    cases = [(a_file, "is a file"), (a_file / "out", "is a file"),
             (Path("/proc/glow-does-not-exist/out"), "cannot create")]
    sysfs = Path("/sys/kernel")
    if sysfs.is_dir():
        try:
            probe = sysfs / f".glow-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            cases.append((sysfs, "cannot write in"))  # exists, refuses files even to root
    return cases


def test_cli_unwritable_output_folder_exit_3_no_traceback(tmp_path: Path,
                                                          tiny_checkpoint: Path) -> None:
    _photos(tmp_path / "in", n=1)
    for out, words in _unwritable_outputs(tmp_path):
        argv = _cli(tiny_checkpoint, tmp_path / "in", out)
        result = _run(argv, _env(tmp_path))
        assert result.returncode == 3, (out, result.stdout, result.stderr)
        assert words in result.stderr and str(out) in result.stderr
        assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- the app
def test_app_sigkill_mid_batch_then_resume(tmp_path: Path, tiny_checkpoint: Path) -> None:
    src = _photos(tmp_path / "in")
    out = tmp_path / "out"
    env = _env(tmp_path)
    proc = _start(_app(tiny_checkpoint, tmp_path / "in", out), env)
    _wait_for(proc, lambda: len(_outputs(out)) >= 3, "two outputs and the log")
    _kill(proc)
    kept = {k: v for k, v in _outputs(out).items() if k != LOG_NAME}
    assert kept
    done = _run(_app(tiny_checkpoint, tmp_path / "in", out), env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    _check_final(src, out, _app_name, kept)
