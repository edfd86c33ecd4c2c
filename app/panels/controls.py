"""Restoration controls: mode, steps, seed, strength, tiling, device, precision, run buttons.

The panel owns no engine: it turns widget values into a plain dict (``values()``) that the
window converts into ``RestoreOptions``, and mirrors them into the settings, so the next
session starts where this one ended.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.imaging import format_bytes
from glow_core.limits import (
    DEFAULT_OVERLAP,
    DEFAULT_STEPS,
    MAX_STEPS,
    MIN_STEPS,
    MIN_TILE,
    PRECISIONS,
    STRENGTH_RANGE,
)

MAX_SEED = 2**31 - 1
MAX_TILE = 4096  # the spin box's top: a bigger tile than this never fits a device


def device_label(device: str) -> str:
    """Human name for an engine device string."""
    if device == "auto":
        return "Automatic (best available)"
    if device.startswith("cuda"):
        return f"NVIDIA GPU {device.partition(':')[2] or '0'} ({device})"
    if device == "mps":
        return "Apple GPU (mps)"
    if device == "cpu":
        return "CPU"
    return device


class ControlsPanel(QWidget):
    """Everything that changes how the next restoration runs."""

    changed = Signal()  # any option changed
    deviceChanged = Signal(str, str)  # device, precision
    restoreVisibleRequested = Signal()
    restoreWholeRequested = Signal()

    def __init__(self, devices: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(10)

        # --- quality --------------------------------------------------------------------
        quality = QGroupBox("Restoration")
        form = QFormLayout(quality)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        self.mode = QComboBox()
        self.mode.addItem("Fast (pre-restoration only)", "fast")
        self.mode.addItem("Full (diffusion, best detail)", "full")
        self.mode.setToolTip("Fast: the one-pass restoration. Full: adds the guided "
                             "diffusion pass that recovers fine detail (slower).")
        form.addRow("Mode", self.mode)
        self.steps = QSpinBox()
        self.steps.setRange(MIN_STEPS, MAX_STEPS)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setToolTip("Diffusion steps in Full mode: more is slower, rarely better "
                              "beyond 8.")
        form.addRow("Steps", self.steps)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip("Same seed + same settings = same result. Editing the caption "
                             "keeps the seed, so only the caption changes the outcome.")
        self.randomise = QPushButton("New")
        self.randomise.setToolTip("Pick a new random seed")
        self.randomise.clicked.connect(self.randomise_seed)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.randomise)
        form.addRow("Seed", seed_row)
        strength_row = QHBoxLayout()
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(*(round(v * 100) for v in STRENGTH_RANGE))
        self.strength.setValue(self.strength.maximum())
        self.strength.setToolTip("Blend between the original (0 %) and the full "
                                 "restoration (100 %).")
        self.strength_label = QLabel("100 %")
        self.strength_label.setMinimumWidth(42)
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v} %"))
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        form.addRow("Strength", strength_row)
        layout.addWidget(quality)

        # --- performance ----------------------------------------------------------------
        perf = QGroupBox("Performance")
        pform = QFormLayout(perf)
        pform.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        pform.setHorizontalSpacing(10)
        pform.setVerticalSpacing(8)
        tile_row = QHBoxLayout()
        self.tile_auto = QCheckBox("Auto")
        self.tile_auto.setChecked(True)
        self.tile_auto.setToolTip("Choose the tile size from free device memory")
        self.tile = QSpinBox()
        self.tile.setRange(MIN_TILE, MAX_TILE)
        self.tile.setSingleStep(64)
        self.tile.setValue(512)
        self.tile.setSuffix(" px")
        self.tile.setEnabled(False)
        self.tile_auto.toggled.connect(lambda on: self.tile.setEnabled(not on))
        tile_row.addWidget(self.tile_auto)
        tile_row.addWidget(self.tile, 1)
        pform.addRow("Tile size", tile_row)
        self.overlap = QSpinBox()
        self.overlap.setRange(0, 256)
        self.overlap.setSingleStep(8)
        self.overlap.setValue(DEFAULT_OVERLAP)
        self.overlap.setSuffix(" px")
        self.overlap.setToolTip("Overlap between tiles; they are blended so no seam shows")
        pform.addRow("Overlap", self.overlap)
        self.memory = QLabel("—")
        self.memory.setObjectName("hint")
        self.memory.setToolTip("Estimated peak memory for this photo with these settings")
        pform.addRow("Memory", self.memory)
        self.device = QComboBox()
        self.set_devices(devices)
        self.device.setToolTip("Where the restoration runs")
        pform.addRow("Device", self.device)
        self.precision = QComboBox()
        for p in PRECISIONS:
            self.precision.addItem("Automatic" if p == "auto" else p, p)
        self.precision.setToolTip("fp16/bf16 halve memory on GPUs; on the CPU, Automatic is "
                                  "bf16 where the CPU computes it natively (faster), else fp32")
        pform.addRow("Precision", self.precision)
        layout.addWidget(perf)

        # --- run ------------------------------------------------------------------------
        self.restore_visible = QPushButton("Restore visible region")
        self.restore_whole = QPushButton("Restore whole photo")
        self.restore_whole.setObjectName("primary")
        self._run_tips = {self.restore_whole: "Restore the full photo",
                          self.restore_visible: "Quick preview of the part of the photo on "
                                                "screen"}
        for button, tip in self._run_tips.items():
            button.setToolTip(tip)
        self.restore_visible.clicked.connect(self.restoreVisibleRequested)
        self.restore_whole.clicked.connect(self.restoreWholeRequested)
        layout.addWidget(self.restore_visible)
        layout.addWidget(self.restore_whole)
        layout.addStretch(1)

        for signal in (self.mode.currentIndexChanged, self.steps.valueChanged,
                       self.seed.valueChanged, self.strength.valueChanged,
                       self.tile_auto.toggled, self.tile.valueChanged,
                       self.overlap.valueChanged):
            signal.connect(self._on_changed)
        self.device.currentIndexChanged.connect(self._on_device)
        self.precision.currentIndexChanged.connect(self._on_device)
        self._on_changed()

    # ----- values ---------------------------------------------------------------------------
    def set_devices(self, devices: list[str]) -> None:
        current = self.device.currentData() if self.device.count() else "auto"
        self.device.blockSignals(True)
        self.device.clear()
        for d in ["auto", *devices]:
            self.device.addItem(device_label(d), d)
        index = self.device.findData(current)
        self.device.setCurrentIndex(max(index, 0))
        self.device.blockSignals(False)

    def randomise_seed(self) -> None:
        self.seed.setValue(random.randint(0, MAX_SEED))

    def _on_changed(self) -> None:
        self.steps.setEnabled(self.mode.currentData() == "full")
        self.changed.emit()

    def _on_device(self) -> None:
        self.deviceChanged.emit(self.device.currentData(), self.precision.currentData())
        self.changed.emit()

    def values(self) -> dict[str, Any]:
        """Options as plain values (keys match RestoreOptions plus device/precision)."""
        return {
            "mode": self.mode.currentData(),
            "steps": self.steps.value(),
            "seed": self.seed.value(),
            "strength": self.strength.value() / 100.0,
            "tile": None if self.tile_auto.isChecked() else self.tile.value(),
            "overlap": self.overlap.value(),
            "device": self.device.currentData(),
            "precision": self.precision.currentData(),
        }

    def apply_settings(self, s: Any) -> None:
        """Load values from a :class:`app.settings.Settings` without emitting per widget."""
        widgets = (self.mode, self.steps, self.seed, self.strength, self.tile_auto, self.tile,
                   self.overlap, self.device, self.precision)
        for w in widgets:
            w.blockSignals(True)
        self.mode.setCurrentIndex(max(self.mode.findData(s.mode), 0))
        self.steps.setValue(s.steps)
        self.seed.setValue(s.seed)
        self.strength.setValue(int(round(s.strength * 100)))
        self.strength_label.setText(f"{self.strength.value()} %")
        self.tile_auto.setChecked(s.tile_auto)
        self.tile.setEnabled(not s.tile_auto)
        self.tile.setValue(s.tile)
        self.overlap.setValue(s.overlap)
        self.device.setCurrentIndex(max(self.device.findData(s.device), 0))
        self.precision.setCurrentIndex(max(self.precision.findData(s.precision), 0))
        for w in widgets:
            w.blockSignals(False)
        self._on_changed()

    def store_settings(self, store: Any) -> None:
        v = self.values()
        store.set("mode", v["mode"])
        store.set("steps", v["steps"])
        store.set("seed", v["seed"])
        store.set("strength", v["strength"])
        store.set("tile_auto", self.tile_auto.isChecked())
        store.set("tile", self.tile.value())
        store.set("overlap", v["overlap"])
        store.set("device", v["device"])
        store.set("precision", v["precision"])

    def set_full_available(self, available: bool) -> None:
        """Grey out Full mode for weights without a trained diffusion part."""
        item = self.mode.model().item(self.mode.findData("full"))
        item.setEnabled(available)
        item.setToolTip("" if available else "These weights have no trained diffusion part")
        if not available and self.mode.currentData() == "full":
            self.mode.setCurrentIndex(self.mode.findData("fast"))

    def set_memory_estimate(self, n_bytes: int | None, note: str = "") -> None:
        self.memory.setText(note or (f"≈ {format_bytes(n_bytes)} peak" if n_bytes else "—"))

    def set_run_tips(self, *, whole: str, visible: str) -> None:
        """The run buttons' tips when they can run (the window's actions, with shortcuts)."""
        self._run_tips = {self.restore_whole: whole, self.restore_visible: visible}
        for button, tip in self._run_tips.items():
            button.setToolTip(tip)

    def set_can_run(self, can_run: bool, reason: str = "") -> None:
        for button, tip in self._run_tips.items():
            button.setEnabled(can_run)
            button.setToolTip(reason or tip)
