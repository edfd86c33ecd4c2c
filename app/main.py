"""Entry point ``glow-deblur``: the window, or the command line when given a subcommand.

One executable for both, so a packaged app also works from a terminal:

* ``glow-deblur``                 opens the window
* ``glow-deblur photo.jpg``       opens the window with that photo
* ``glow-deblur edit photo.tif``  edit mode: Save writes back to that file (app.edit_mode)
* ``glow-deblur restore ...``     (``info``, ``devices``, ... or any ``-option`` that is not a
                                  Qt flag) runs :func:`glow_core.cli.main`
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from glow_core.cli import COMMANDS

CLI_COMMANDS = frozenset(COMMANDS)
# Options Qt's QApplication understands; everything else starting with "-" is the CLI's.
QT_FLAGS = frozenset({"-platform", "-platformpluginpath", "-platformtheme", "-plugin",
                      "-qmljsdebugger", "-qwindowgeometry", "-qwindowicon", "-qwindowtitle",
                      "-reverse", "-session", "-style", "-stylesheet", "-widgetcount",
                      "-display", "-geometry", "-title", "-name", "-nograb", "-dograb",
                      "-sync", "-visual", "-ncols", "-cmap", "-fn", "-font", "-bg",
                      "-background", "-fg", "-foreground", "-btn", "-button", "-im",
                      "-inputstyle"})
GUI_FLAGS = frozenset({"--smoke-test-window"})
SMOKE_ENV = "GLOW_DEBLUR_SMOKE"
SMOKE_MARKER = "GLOW_SMOKE"


def is_cli(args: Sequence[str]) -> bool:
    """True when ``args`` (without the program name) are meant for the command line."""
    if not args:
        return False
    first = args[0]
    if first in CLI_COMMANDS:
        return True
    if first.startswith("-"):
        flag = first.split("=", 1)[0]
        if flag in GUI_FLAGS:
            return False
        return "-" + flag.lstrip("-") not in QT_FLAGS  # Qt accepts -style and --style
    return False


def run_cli(args: Sequence[str]) -> int:
    from glow_core.cli import main as cli_main

    result = cli_main(list(args))
    return int(result or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; ``argv`` excludes the program name (defaults to ``sys.argv[1:]``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args[:1] == ["edit"]:  # "Edit In…" from Lightroom / Photoshop (app.edit_mode)
        if len(args) < 2 or args[1].startswith("-"):
            print("glow-deblur: error: usage: glow-deblur edit PATH", file=sys.stderr)
            return 2
        return run_gui(args[2:], edit=args[1])
    if is_cli(args):
        return run_cli(args)
    return run_gui(args)


def edit_main() -> int:
    """``glow-deblur-edit PATH``: the same as ``glow-deblur edit PATH``, for hosts (Lightroom,
    RawTherapee) that call an external editor with the photo as the only argument."""
    return main(["edit", *sys.argv[1:]])


def run_gui(args: Sequence[str], edit: str | None = None) -> int:
    started = time.monotonic()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.settings import APP_NAME, SettingsStore
    from app.theme import apply_theme

    smoke = os.environ.get(SMOKE_ENV) == "1" or "--smoke-test-window" in args
    args = [a for a in args if a not in GUI_FLAGS]
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "glow-deblur",
                                                   *args])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    apply_theme(app)

    from app.window import MainWindow, app_icon

    app.setWindowIcon(app_icon())
    store = SettingsStore()
    window = MainWindow(store)
    window.show()
    # Qt removed its own flags from app.arguments(); what is left are photo paths.
    paths = [a for a in app.arguments()[1:] if not a.startswith("-")]
    if edit is not None:
        from app.edit_mode import start_edit

        start_edit(window, edit)
    elif paths:
        window.open_path(paths[0])
    if smoke:
        def done() -> None:
            print(f"{SMOKE_MARKER} window-shown t={time.monotonic() - started:.2f}", flush=True)
            window.close()
            app.quit()

        QTimer.singleShot(0, done)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
