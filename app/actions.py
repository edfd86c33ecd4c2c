"""The window's actions, written once: text, shortcuts, tip and handler in one table.

As in vimiv-qt, every command the user can reach is a row of :data:`ACTIONS`. The same row
builds the ``QAction`` (menus and toolbar share it), its tooltip and status tip with the
shortcut shown, and the F1 shortcut list, so a shortcut is typed in one place only.
Gestures that are not actions (hold Space, drag, wheel) are rows of :data:`GESTURES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

Key = str | QKeySequence.StandardKey

# Held, not pressed: shows the original while down (the window's event filter reads these).
HOLD_ORIGINAL_KEYS: tuple[Qt.Key, ...] = (Qt.Key.Key_Space, Qt.Key.Key_Backslash)


@dataclass(frozen=True)
class ActionSpec:
    """One user command.

    ``handler`` names a method of the window, or of one of its parts (``"view.zoom_fit"``).
    ``args`` are passed to it on trigger; without them a checkable action passes its state.
    ``short`` is the toolbar label; ``group`` makes checkable actions exclusive;
    ``keys_label`` is the F1 list's wording (default: the menu text).
    """

    id: str
    text: str
    handler: str
    shortcuts: tuple[Key, ...] = ()
    tip: str = ""
    checkable: bool = False
    args: tuple[Any, ...] = ()
    short: str = ""
    group: str = ""
    keys_label: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", "open_dialog", (QKeySequence.StandardKey.Open,),
               "Open a photo"),
    ActionSpec("save", "&Save", "save", ("Ctrl+S",),
               "Save beside the original as <name>_deblurred"),
    ActionSpec("save_as", "Save &As…", "save_as", ("Ctrl+Shift+S",),
               "Save to another place or format"),
    ActionSpec("batch", "&Batch folder…", "open_batch", ("B",),
               "Restore a whole folder in the background", short="Batch…"),
    ActionSpec("quit", "&Quit", "close", (QKeySequence.StandardKey.Quit,)),
    ActionSpec("restore", "&Restore whole photo", "restore_whole", ("Ctrl+R",),
               "Restore the whole photo", short="Restore"),
    ActionSpec("restore_visible", "Restore &visible region", "restore_visible",
               ("Ctrl+Shift+R",), "Quick preview of the part on screen",
               short="Preview region", keys_label="Preview visible region"),
    ActionSpec("cancel", "&Cancel", "cancel", ("Esc",), "Stop the running job"),
    ActionSpec("seed", "Randomise &seed", "controls.randomise_seed", ("Ctrl+D",)),
    ActionSpec("fit", "&Fit to window", "view.zoom_fit", ("F",), "Fit", short="Fit"),
    ActionSpec("100", "&Actual pixels (100 %)", "view.zoom_actual", ("1",), "100 %",
               short="100 %"),
    ActionSpec("zoom_in", "Zoom &in", "view.zoom_in", ("+", "=", "Ctrl++"), "Zoom in"),
    ActionSpec("zoom_out", "Zoom &out", "view.zoom_out", ("-", "Ctrl+-"), "Zoom out"),
    ActionSpec("split", "&Split view", "set_compare_mode", checkable=True, args=("split",),
               short="Split", group="compare"),
    ActionSpec("side", "Side &by side", "set_compare_mode", checkable=True, args=("side",),
               short="Side by side", group="compare"),
    ActionSpec("toggle_mode", "Toggle split / side by side", "view.toggle_mode", ("V",),
               keys_label="Split / side by side"),
    ActionSpec("motion", "&Motion overlay", "set_show_motion", ("M",),
               "Draw the estimated blur motion over the photo", checkable=True,
               short="Motion"),
    ActionSpec("loupe", "1:1 &Loupe", "view.set_loupe", ("L",),
               "A 1:1 magnifier that follows the cursor", checkable=True, short="Loupe"),
    ActionSpec("estimate_blur", "&Estimate blur", "kernel.estimate", ("Ctrl+E",),
               "Find the blur kernel and show it as the blur trace, without restoring",
               short="Estimate blur"),
    ActionSpec("blur_region", "Blur &region", "kernel.set_region_mode", ("K",),
               "Drag a rectangle on the photo to estimate the blur from there",
               checkable=True, short="Region"),
    ActionSpec("load_kernel", "Load &kernel…", "kernel.load", (),
               "Use a blur kernel from a file (PNG or .npy) instead of estimating one"),
    ActionSpec("save_kernel", "Save k&ernel…", "kernel.save", (),
               "Save the blur kernel as PNG or .npy"),
    ActionSpec("load_weights", "Load &weights…", "choose_weights"),
    ActionSpec("about", "&About GLOW Deblur Studio", "show_about"),
    ActionSpec("keys", "&Keyboard shortcuts", "show_shortcuts", ("F1",)),
)

# Menus and toolbar: action ids in order; "-" is a separator, "@name" a slot the window fills.
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("open", "@recent", "-", "save", "save_as", "-", "batch", "-", "quit")),
    ("&Restore", ("restore", "restore_visible", "cancel", "seed", "-", "estimate_blur",
                  "blur_region", "load_kernel", "save_kernel")),
    ("&View", ("fit", "100", "zoom_in", "zoom_out", "-", "split", "side", "toggle_mode",
               "-", "motion", "loupe", "@hold", "-", "@dock")),
    ("&Engine", ("load_weights",)),
    ("&Help", ("keys", "about")),
)
TOOLBAR: tuple[str, ...] = ("open", "save", "-", "restore_visible", "restore", "cancel", "-",
                            "fit", "100", "-", "split", "side", "motion", "loupe", "-",
                            "estimate_blur", "blur_region", "-", "batch")

SPECS: dict[str, ActionSpec] = {spec.id: spec for spec in ACTIONS}


def key_sequences(spec: ActionSpec) -> list[QKeySequence]:
    """The action's key sequences, in the table's order."""
    sequences: list[QKeySequence] = []
    for key in spec.shortcuts:
        # A standard key is the platform's main binding; some platforms have none.
        sequence = QKeySequence(key)
        if not sequence.isEmpty():
            sequences.append(sequence)
    return sequences


def key_text(sequence: QKeySequence | Qt.Key) -> str:
    """How a shortcut is written for people, the same in tooltips and the F1 list."""
    if isinstance(sequence, Qt.Key):
        sequence = QKeySequence(sequence)
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def shortcut_text(action_id: str) -> str:
    """The action's main shortcut as shown to people ("" when it has none)."""
    sequences = key_sequences(SPECS[action_id])
    return key_text(sequences[0]) if sequences else ""


def tooltip(spec: ActionSpec) -> str:
    """The tip with the main shortcut in brackets: ``"Zoom in (+)"``."""
    keys = shortcut_text(spec.id)
    text = spec.tip or plain_text(spec)
    return f"{text} ({keys})" if keys else text


def plain_text(spec: ActionSpec) -> str:
    """The menu text without mnemonic and ellipsis."""
    return spec.text.replace("&", "").rstrip("…").strip()


HOLD_ORIGINAL_TEXT = " or ".join(key_text(k) for k in HOLD_ORIGINAL_KEYS)
GESTURES: tuple[tuple[str, str], ...] = (
    ("Wheel", "Zoom"),
    ("Drag", "Pan, or move the divider"),
    (f"{HOLD_ORIGINAL_TEXT} (hold)", "Show original"),
)


def shortcut_rows(specs: Sequence[ActionSpec] = ACTIONS) -> list[tuple[str, str]]:
    """The F1 list: ``(keys, what)`` per action with a shortcut, then the gestures."""
    rows = [(" / ".join(key_text(s) for s in key_sequences(spec)),
             spec.keys_label or plain_text(spec))
            for spec in specs if key_sequences(spec)]
    return rows + list(GESTURES)


def shortcuts_html(rows: Sequence[tuple[str, str]]) -> str:
    return "<table cellspacing=6>" + "".join(
        f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows) + "</table>"


def fill(container: Any, items: Sequence[str], actions: dict[str, QAction],
         slots: dict[str, Callable[[Any], Any]] | None = None) -> None:
    """Add a :data:`MENUS` / :data:`TOOLBAR` row to a menu or toolbar ("@name": ``slots``)."""
    for item in items:
        if item == "-":
            container.addSeparator()
        elif item.startswith("@"):
            (slots or {})[item[1:]](container)
        else:
            container.addAction(actions[item])


def _slot(owner: Any, spec: ActionSpec) -> Callable[..., Any]:
    handler = attrgetter(spec.handler)(owner)
    if spec.args:
        return lambda *_: handler(*spec.args)
    return handler


def build_actions(owner: QObject, specs: Sequence[ActionSpec] = ACTIONS) -> dict[str, QAction]:
    """A ``QAction`` per row, added to ``owner`` (so its shortcuts work window-wide)."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        action = QAction(spec.text, owner)
        sequences = key_sequences(spec)
        if sequences:
            action.setShortcuts(sequences)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if spec.tip or sequences:
            action.setToolTip(tooltip(spec))
        if spec.tip:
            action.setStatusTip(tooltip(spec))
        if spec.short:
            action.setIconText(spec.short)
        action.setCheckable(spec.checkable)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(owner)).addAction(action)
        slot = _slot(owner, spec)
        signal = action.toggled if spec.checkable and not spec.args else action.triggered
        signal.connect(slot)
        owner.addAction(action)
        actions[spec.id] = action
    return actions
