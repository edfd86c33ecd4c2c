"""Caption panel: the scene description that steers the restoration (semantic guidance).

The caption is part of the options; editing it and restoring again keeps the seed, so the
difference the user sees comes from the words alone. "Suggest caption" asks the optional
captioner; when none is installed the button is greyed out and its tooltip says why.

Under the text, a small bar shows which case the caption selects for the kernel stage's
priors (text / night / face / natural scene) and how strongly: computed by
:mod:`glow_core.semantics` in a worker thread (the caption encoder takes a moment to load),
debounced while the user types. An empty caption shows what the image alone decides. A
line under it says what the priors do beyond the case, and when the photo overrules the
words (a "night street" caption on a day photo keeps the night priors off).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_CAPTION_CHARS = 400
#: Wait this long after the last keystroke before re-weighing the caption.
CASE_DEBOUNCE_MS = 400


def case_priors(caption: str, pixels: Any) -> tuple[dict[str, float], str, tuple[str, ...]]:
    """(weights, source, notes) of :func:`glow_core.semantics.semantic_priors` (runs in a
    worker): the notes say what the priors do beyond the case, and when the photo overrules
    the words ("night priors off: the photo does not look dark with lights")."""
    from glow_core.semantics import semantic_priors

    pri = semantic_priors(caption, pixels)
    return pri.weights, pri.source, tuple(pri.notes[1:])  # notes[0] restates the case


def describe_case(weights: dict[str, float], source: str) -> tuple[str, int]:
    """Label text and percentage for the case bar: the case whose priors run (from the
    photo alone a night reading is only a note, :func:`weights_in_force`)."""
    from glow_core.semantics import LABELS, dominant, weights_in_force

    case, w = dominant(weights_in_force(weights, source))
    origin = "from the caption" if source == "caption" else "decided from the image"
    return f"Priors: {LABELS[case]} ({origin})", int(round(100 * w))


def captioner_status() -> tuple[Any, str]:
    """``(get_captioner, "")`` when captioner weights are installed, else ``(None, why)``.

    Only looks for the weights file (cheap); the model itself loads in a worker on first
    use, where :class:`CaptionerUnavailable` is still handled.
    """
    try:
        from glow_core.text.captions import captioner
    except ImportError as exc:
        return None, f"Caption suggestions are unavailable in this build ({exc})."
    try:
        found = captioner.find_captioner_weights()
    except Exception as exc:  # any failure means "not available"
        return None, f"Caption suggestions are unavailable: {exc}"
    if found is None:
        return None, "Caption suggestions are unavailable: " + captioner.install_hint()
    return functools.cache(captioner.get_captioner), ""  # load the model once


def run_captioner(factory: Any, pixels: Any) -> str:
    """Load the captioner (cached by the caller's factory) and suggest a caption."""
    model = factory()
    suggest = getattr(model, "suggest", None) or getattr(model, "caption", None)
    if not callable(suggest):
        raise TypeError("captioner has no suggest() method")
    return str(suggest(pixels)).strip()


class CaptionPanel(QWidget):
    """Editable caption + suggestion button + the case the caption selects."""

    changed = Signal(str)
    suggestRequested = Signal()  # Qt naming
    caseReady = Signal(int, object, str, object)  # generation, weights, source, notes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 0, 10, 6)
        box = QGroupBox("Scene caption")
        inner = QVBoxLayout(box)
        inner.setSpacing(6)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText("e.g. a man riding a bicycle on a city street at dusk")
        self.edit.setToolTip("Describe what is in the photo. The restoration uses it as "
                             "semantic guidance; leave empty to restore without it.")
        self.edit.setFixedHeight(72)
        self.edit.textChanged.connect(self._on_text)
        inner.addWidget(self.edit)
        row = QHBoxLayout()
        self.hint = QLabel("Edit and restore again: the seed is kept.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.suggest = QPushButton("Suggest caption")
        self.suggest.clicked.connect(self.suggestRequested)
        row.addWidget(self.hint, 1)
        row.addWidget(self.suggest)
        inner.addLayout(row)
        case_row = QHBoxLayout()
        self.case_label = QLabel("Priors: natural scene")
        self.case_label.setObjectName("hint")
        # "Priors: Natural scene (decided from the image)" unwrapped was wider than the
        # dock, and pushed every panel of it (the kernel buttons too) past its right edge
        self.case_label.setWordWrap(True)
        self.case_label.setToolTip(
            "Which prior the kernel stage uses: text (documents, signs), night (lights, "
            "noise), face (smooth skin, keep the bokeh) or a natural scene; the bar shows "
            "how strongly. An empty caption lets the image decide.")
        self.case_bar = QProgressBar()
        self.case_bar.setRange(0, 100)
        self.case_bar.setFixedWidth(90)
        self.case_bar.setFixedHeight(10)
        self.case_bar.setTextVisible(False)
        case_row.addWidget(self.case_label, 1)
        case_row.addWidget(self.case_bar)
        inner.addLayout(case_row)
        self.notes_label = QLabel("")
        self.notes_label.setObjectName("hint")
        self.notes_label.setWordWrap(True)
        self.notes_label.setVisible(False)
        inner.addWidget(self.notes_label)
        layout.addWidget(box)
        self.factory: Any = None
        self.unavailable_reason = ""
        self.weights: dict[str, float] = {}
        self.weights_source = "image"
        self._pixels: Any = None
        self._generation = 0
        self._case_timer = QTimer(self)
        self._case_timer.setSingleShot(True)
        self._case_timer.setInterval(CASE_DEBOUNCE_MS)
        self._case_timer.timeout.connect(self._weigh)
        self.caseReady.connect(self._on_case)

    def _on_text(self) -> None:
        text = self.caption()
        if len(text) > MAX_CAPTION_CHARS:
            self.edit.setPlainText(text[:MAX_CAPTION_CHARS])
            return
        self.changed.emit(text)
        self._case_timer.start()

    # ------------------------------------------------------------- case display
    def set_image(self, pixels: Any) -> None:
        """The photo an empty caption is decided from (None: no photo)."""
        self._pixels = pixels
        self._case_timer.start()

    def _weigh(self) -> None:
        self._generation += 1
        gen, caption, pixels = self._generation, self.caption(), self._pixels

        def job() -> None:
            try:
                try:
                    weights, source, notes = case_priors(caption, pixels)
                except Exception as exc:  # no encoder: say so rather than fail
                    weights, source, notes = {}, f"unavailable: {exc}", ()
                if gen == self._generation:
                    self.caseReady.emit(gen, weights, source, notes)
            except RuntimeError:  # the panel was deleted meanwhile (window closed)
                pass

        # A daemon thread: never holds the app open; weighing is serialised inside.
        threading.Thread(target=job, name="caption-case", daemon=True).start()

    def _on_case(self, gen: int, weights: dict, source: str, notes: tuple = ()) -> None:
        if gen != self._generation:
            return  # a newer caption is on its way
        said = "; ".join(notes)
        self.notes_label.setText(said[:1].upper() + said[1:])
        self.notes_label.setVisible(bool(notes))
        if not weights:
            self.case_label.setText("Priors: default (caption encoder unavailable)")
            self.case_label.setToolTip(source)
            self.case_bar.setValue(0)
            return
        self.weights, self.weights_source = dict(weights), source
        text, percent = describe_case(weights, source)
        self.case_label.setText(f"{text}: {percent} %")
        self.case_bar.setValue(percent)
        self.case_bar.setToolTip(", ".join(f"{k} {v:.0%}" for k, v in weights.items()))

    def weigh_now(self) -> None:
        """Re-weigh at once (tests, and after a suggestion arrives)."""
        self._case_timer.stop()
        self._weigh()

    def caption(self) -> str:
        return " ".join(self.edit.toPlainText().split())

    def set_caption(self, text: str) -> None:
        self.edit.setPlainText(text)

    def set_captioner(self, factory: Any, reason: str = "") -> None:
        """Enable "Suggest caption" for a captioner factory, or grey it out with ``reason``."""
        self.factory = factory
        self.unavailable_reason = reason
        self.suggest.setEnabled(factory is not None)
        self.suggest.setToolTip(
            "Describe the photo automatically (you can edit the result)" if factory is not None
            else reason or "No captioner is available")

    def set_busy(self, busy: bool) -> None:
        self.suggest.setEnabled(not busy and self.factory is not None)
        self.suggest.setText("Describing…" if busy else "Suggest caption")
