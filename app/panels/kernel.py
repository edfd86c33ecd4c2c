"""The "Blur kernel" panel: the kernel stage's switches and buttons.

It owns no state beyond its widgets: :class:`app.kernel_tools.KernelTools` reacts to its
signals (estimate, load, save, draw a region) and writes back the status line.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

MIN_KERNEL, MAX_KERNEL, DEFAULT_KERNEL = 3, 151, 31


class KernelPanel(QWidget):
    """Kernel stage on/off, kernel size (auto or N), estimate / region / load / save."""

    changed = Signal()
    estimateRequested = Signal()
    regionModeToggled = Signal(bool)
    clearRegionRequested = Signal()
    loadRequested = Signal()
    saveRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 10, 0)
        box = QGroupBox("Blur kernel")
        outer.addWidget(box)
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        self.stage = QCheckBox("Deconvolve with the blur kernel first")
        self.stage.setChecked(True)
        self.stage.setToolTip("Estimate the camera-shake kernel and deconvolve the photo with "
                              "it before the network. Off: the network alone.")
        form.addRow(self.stage)
        size_row = QHBoxLayout()
        self.size_auto = QCheckBox("Auto")
        self.size_auto.setChecked(True)
        self.size_auto.setToolTip("Choose the kernel size from the photo")
        self.size = QSpinBox()
        self.size.setRange(MIN_KERNEL, MAX_KERNEL)
        self.size.setSingleStep(2)
        self.size.setValue(DEFAULT_KERNEL)
        self.size.setSuffix(" px")
        self.size.setEnabled(False)
        self.size.setToolTip("Side of the kernel: a little more than the longest blur streak")
        self.size_auto.toggled.connect(lambda on: self.size.setEnabled(not on))
        size_row.addWidget(self.size_auto)
        size_row.addWidget(self.size, 1)
        form.addRow("Kernel size", size_row)
        self.varying = QCheckBox("Blur varies across the photo")
        self.varying.setToolTip(
            "Estimate a kernel for each region of the photo, for blur that turns or "
            "stretches across the frame (the camera rolled, or near and far things moved "
            "differently). A region keeps its own kernel only where it explains that region "
            "better than one kernel for the whole photo. About three times as slow; a drawn "
            "region always means one kernel.")
        form.addRow(self.varying)
        grid = QGridLayout()
        self.estimate = QPushButton("Estimate blur")
        self.estimate.setToolTip("Find the blur kernel (shown as the blur trace) without "
                                 "restoring")
        self.region = QPushButton("Draw region")
        self.region.setCheckable(True)
        self.region.setToolTip("Drag a rectangle on the photo: the blur is estimated there "
                               "(strong edges, no moving subject)")
        self.clear_region = QPushButton("Clear region")
        self.clear_region.setEnabled(False)
        self.load = QPushButton("Load kernel…")
        self.load.setToolTip("Use a kernel from a file (PNG or .npy) instead of estimating")
        self.save = QPushButton("Save kernel…")
        self.save.setEnabled(False)
        grid.addWidget(self.estimate, 0, 0, 1, 2)
        grid.addWidget(self.region, 1, 0)
        grid.addWidget(self.clear_region, 1, 1)
        grid.addWidget(self.load, 2, 0)
        grid.addWidget(self.save, 2, 1)
        form.addRow(grid)
        self.status = QLabel("No kernel yet: it is estimated when you restore")
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        form.addRow(self.status)

        self.estimate.clicked.connect(self.estimateRequested)
        self.region.toggled.connect(self.regionModeToggled)
        self.clear_region.clicked.connect(self.clearRegionRequested)
        self.load.clicked.connect(self.loadRequested)
        self.save.clicked.connect(self.saveRequested)
        for signal in (self.stage.toggled, self.size_auto.toggled, self.size.valueChanged,
                       self.varying.toggled):
            signal.connect(self.changed)

    def apply_settings(self, s: Any) -> None:
        """Show the saved switches (an :class:`app.settings.Settings`)."""
        self.stage.setChecked(bool(s.kernel_stage))
        self.size_auto.setChecked(bool(s.kernel_size_auto))
        size = int(s.kernel_size)
        self.size.setValue(size if size % 2 else size + 1)  # clamped to the range by Qt
        self.varying.setChecked(bool(s.kernel_varying))

    def store_settings(self, store: Any) -> None:
        store.set("kernel_stage", self.stage.isChecked())
        store.set("kernel_size_auto", self.size_auto.isChecked())
        store.set("kernel_size", self.size.value())
        store.set("kernel_varying", self.varying.isChecked())

    def values(self) -> dict[str, Any]:
        """``kernel_stage``, ``kernel_size`` and ``spatially_varying`` as RestoreOptions
        takes them."""
        return {"kernel_stage": self.stage.isChecked(),
                "kernel_size": None if self.size_auto.isChecked() else self.size.value(),
                "spatially_varying": self.varying.isChecked()}

    def set_region_checked(self, on: bool) -> None:
        self.region.blockSignals(True)
        self.region.setChecked(on)
        self.region.blockSignals(False)
