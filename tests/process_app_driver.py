"""Run one batch in the real app, offscreen, for the process tests (not a test module).

``python -m tests.process_app_driver CHECKPOINT INPUT OUTPUT``: builds the main window
with the checkpoint, opens the batch dialog on INPUT -> OUTPUT (skip existing on, as the
app's default), starts, and exits when the batch ends (0 finished, 1 otherwise). The
test kills it with SIGKILL at chosen moments.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.settings import SettingsStore
    from app.window import MainWindow

    checkpoint, src, out = (Path(a) for a in argv)
    app = QApplication.instance() or QApplication([])
    win = MainWindow(SettingsStore(), checkpoint=checkpoint, load_engine=False)
    win.load_engine(wait=True)
    if win.engine is None:
        print(f"engine failed: {win.host.error}", file=sys.stderr)
        return 2
    dialog = win.open_batch()
    dialog.recursive.setChecked(False)
    dialog.skip_existing.setChecked(True)
    dialog.set_input(src)
    dialog.set_output(out)
    result: list[str] = []

    def finished(status: str) -> None:
        result.append(status)
        QTimer.singleShot(0, app.quit)

    dialog.batchFinished.connect(finished)
    if dialog.start() is None:
        print(f"batch did not start: {dialog.progress_label.text()}", file=sys.stderr)
        return 2
    print("started", flush=True)
    app.exec()
    dialog.runner.shutdown(10000)
    print(f"batch {result[0] if result else '?'}: {dialog.progress_label.text()}", flush=True)
    return 0 if result == ["finished"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
