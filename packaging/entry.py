"""PyInstaller entry script: runs ``app.main:main`` inside the frozen bundle.

Why a stub instead of pointing PyInstaller at ``app/main.py``: the entry script runs as
``__main__``, so ``app.main`` imported anywhere else would become a second module copy.
Here ``app.main`` is imported as a normal package module.

Temporary fallback (until ``app/main.py`` lands): CLI subcommands go straight to
``glow_core.cli.main``; the window smoke test opens a bare placeholder window and reports
``GLOW_SMOKE placeholder-window`` with exit code 3, so the smoke test can tell "Qt works in
the bundle" from "the real window works".
"""

from __future__ import annotations

import multiprocessing
import os
import sys

CLI_COMMANDS = {"restore", "batch", "motion", "info", "devices", "estimate"}


def _placeholder_window() -> int:
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    started = time.monotonic()
    qt_app = QApplication(sys.argv[:1])
    label = QLabel("GLOW Deblur Studio (placeholder: app.main missing)")
    label.show()

    def done() -> None:
        print(f"GLOW_SMOKE placeholder-window t={time.monotonic() - started:.2f}", flush=True)
        qt_app.exit(3)

    QTimer.singleShot(0, done)
    return qt_app.exec()


def _fallback() -> int:
    args = sys.argv[1:]
    if args and args[0] in CLI_COMMANDS:
        from glow_core.cli import main as cli_main

        return cli_main(args)
    if os.environ.get("GLOW_DEBLUR_SMOKE") == "1" or "--smoke-test-window" in args:
        return _placeholder_window()
    print("GLOW Deblur Studio: the GUI (app.main) is not part of this build", file=sys.stderr)
    return 2


def run() -> int:
    multiprocessing.freeze_support()  # torch/DataLoader workers re-enter the executable
    # The bundle is offline by design; never let a hub library try the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from app.main import main
    except ModuleNotFoundError as error:
        if error.name not in {"app", "app.main"}:
            raise
        return _fallback()
    return main()


if __name__ == "__main__":
    sys.exit(run())
