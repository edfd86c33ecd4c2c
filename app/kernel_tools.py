"""The window's blur-kernel tools: estimate, draw a region, load and save, the blur trace.

:class:`KernelTools` holds the kernel state of the open photo (the last estimate, a loaded
kernel, the chosen region), turns it into ``RestoreOptions`` fields (:meth:`options`), runs
"Estimate blur" through the restore controller (progress, Cancel, one job at a time) and
shows the result as the blur trace. Errors (a bad kernel file, a failed save) go to the
window's banner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtWidgets import QFileDialog

from app.panels.kernel import KernelPanel
from app.views.kernel_region import RegionTool
from glow_core.limits import MIN_REGION

KERNEL_FILTER = "Blur kernels (*.png *.npy);;PNG image (*.png);;NumPy array (*.npy)"


class KernelTools(QObject):
    """The kernel state and commands of one :class:`app.window.MainWindow`."""

    fieldChanged = Signal(object)  # KernelField or None

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.panel = KernelPanel()
        self.region_tool = RegionTool(window.view, self)
        self.field: Any = None  # glow_core.kernel.KernelField shown as the blur trace
        self.source: str | None = None  # "estimated", "user" (loaded), "restored"
        self.user_path: Path | None = None
        # (size, region, spatially varying) the estimate was made with
        self._estimated_with: tuple[Any, ...] | None = None
        p = self.panel
        p.estimateRequested.connect(self.estimate)
        p.regionModeToggled.connect(self.set_region_mode)
        p.clearRegionRequested.connect(self.clear_region)
        p.loadRequested.connect(self.load)
        p.saveRequested.connect(self.save)
        p.changed.connect(window._on_options_changed)
        self.region_tool.activeChanged.connect(self._on_region_mode)
        self.region_tool.chosen.connect(self._on_region)
        window.restorer.estimated.connect(self._on_estimated)

    # ------------------------------------------------------------------ options
    def options(self) -> dict[str, Any]:
        """RestoreOptions fields: stage on/off, size, region, and a kernel to reuse.

        A loaded kernel is always used, as exact. An estimate ("Estimate blur") is reused
        while the size and region it was made with are unchanged (else the restore
        estimates again), and as an estimate: the engine deconvolves it with the blind
        noise floor and its acceptance test, exactly as if the restore had estimated it
        (passed as a loaded kernel it skipped both: the same blur came out ringier, and a
        wrong estimate was no longer refused). One that backed off backs off again at once.
        """
        values = self.panel.values()
        values["kernel_region"] = self.estimate_region()
        use = self.field is not None and values["kernel_stage"]
        values["kernel"] = self.field.global_kernel if use and self.source == "user" else None
        values["estimate"] = self.field if (
            use and self.source == "estimated"
            and self._estimated_with == self._estimate_key(values)) else None
        return values

    def estimate_region(self) -> tuple[int, int, int, int] | None:
        """Where to estimate the blur: the dragged blur region, else the painted mask's
        restored area (one tool marks what to restore and where its blur shows)."""
        region = self.region_tool.engine_region()
        if region is None:
            mask_tool = getattr(self.window, "mask_tool", None)
            region = mask_tool.region() if mask_tool is not None else None
            if region is not None and min(region[2] - region[0],
                                          region[3] - region[1]) < MIN_REGION:
                region = None  # too few edges in a small mask: estimate from the photo
        return region

    @staticmethod
    def _estimate_key(values: dict[str, Any]) -> tuple[Any, ...]:
        return values["kernel_size"], values["kernel_region"], values["spatially_varying"]

    # ------------------------------------------------------------------ commands
    def estimate(self) -> Any:
        """Run the engine's estimate in the worker; the blur trace shows when it ends."""
        win = self.window
        ok, reason = win.can_restore()
        if not ok:
            win.statusBar().showMessage(reason, 4000)
            return None
        values = self.panel.values()
        region = self.estimate_region()
        self._estimated_with = (values["kernel_size"], region, values["spatially_varying"])
        return win.restorer.start_estimate(win.image.pixels, kernel_size=values["kernel_size"],
                                           region=region, caption=win.caption_panel.caption(),
                                           spatially_varying=values["spatially_varying"])

    def set_region_mode(self, on: bool) -> None:
        if on and self.window.image is None:
            self.window.statusBar().showMessage("Open a photo first", 4000)
            on = False
        self.region_tool.set_active(on)
        self._on_region_mode(self.region_tool.active)

    def clear_region(self) -> None:
        self.region_tool.clear()

    def load(self) -> None:
        start = str(self.user_path.parent) if self.user_path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Load blur kernel", start,
                                              KERNEL_FILTER)
        if path:
            self.load_path(Path(path))

    def load_path(self, path: Path) -> bool:
        """Use the kernel in ``path``; a bad file is a banner naming it. True when loaded."""
        from glow_core.kernel import KernelField, KernelFileError, load_kernel

        win = self.window
        size = (win.image.height, win.image.width) if win.image is not None else None
        try:
            kernel = load_kernel(path, max_size=size)
        except KernelFileError as exc:
            win.banner.show_message(f"Could not use the kernel file: {exc}", "error")
            return False
        h, w = size or kernel.shape
        self.user_path = Path(path)
        self.set_field(KernelField.single(kernel, (h, w)), "user")
        self.panel.status.setText(f"Loaded {Path(path).name} ({kernel.shape[1]} × "
                                  f"{kernel.shape[0]} px): used as it is, no estimate")
        if win.banner.level == "error":
            win.banner.dismiss()
        return True

    def save(self) -> None:
        if self.field is None:
            self.window.statusBar().showMessage("No kernel yet: estimate the blur first", 4000)
            return
        stem = self.window.path.stem if self.window.path is not None else "photo"
        folder = self.window.path.parent if self.window.path is not None else Path.home()
        path, _ = QFileDialog.getSaveFileName(self.window, "Save blur kernel",
                                              str(folder / f"{stem}_kernel.png"), KERNEL_FILTER)
        if path:
            self.save_path(Path(path))

    def save_path(self, path: Path) -> list[Path]:
        """Write the kernel (PNG, .npy, or both for a name without either); [] on error."""
        from glow_core.kernel import save_kernel

        try:
            written = save_kernel(path, self.field.global_kernel)
        except (OSError, ValueError) as exc:
            self.window.banner.show_message(f"Could not save the kernel to {path}: {exc}",
                                            "error")
            return []
        self.window.statusBar().showMessage(
            "Saved " + ", ".join(p.name for p in written), 6000)
        return written

    # ------------------------------------------------------------------ state
    def set_field(self, kernel_field: Any, source: str | None) -> None:
        self.field, self.source = kernel_field, source
        self.window.view.set_kernel_field(kernel_field)
        self.panel.save.setEnabled(kernel_field is not None)
        self.fieldChanged.emit(kernel_field)

    def reset(self) -> None:
        """A new photo: its blur is not the last one's."""
        self.region_tool.clear()
        self._estimated_with = None
        self.set_field(None, None)
        self.panel.status.setText("No kernel yet: it is estimated when you restore")

    def on_restored(self, result: Any) -> None:
        """A whole-photo restore: show the kernel it used (a loaded one stays)."""
        kernel_field = getattr(result, "kernel_field", None)
        info = getattr(result, "info", {}).get("kernel")
        if self.source == "user" or info is None:
            return
        if self.source == "estimated" and info.get("reused"):
            return  # the restore reused the estimate shown
        if kernel_field is not None:
            self.set_field(kernel_field, "restored")
        self.panel.status.setText(describe(info))

    def _on_estimated(self, kernel_field: Any) -> None:
        # the engine's own summary of a field, as a restore reports it (the engine, and
        # torch, are loaded by now: an estimate just ran)
        from glow_core.kernel_stage import field_info

        self.set_field(kernel_field, "estimated")
        self.panel.status.setText(describe(field_info(
            kernel_field, "estimated", kernel_field.info.get("seconds", 0.0),
            bool(kernel_field.backs_off))))
        act = getattr(self.window, "act_motion", None)
        if act is not None and not act.isChecked():
            act.setChecked(True)  # show the blur trace

    def _on_region_mode(self, on: bool) -> None:
        self.panel.set_region_checked(on)
        act = getattr(self.window, "act_blur_region", None)
        if act is not None and act.isChecked() != on:
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)

    def _on_region(self, rect: QRect | None) -> None:
        self.panel.clear_region.setEnabled(rect is not None)
        if rect is not None:
            self.panel.status.setText(f"Blur region {rect.width()} × {rect.height()} px at "
                                      f"({rect.left()}, {rect.top()}): estimate or restore")
        self.window._on_options_changed()


def describe(info: dict[str, Any]) -> str:
    """One line for the panel from ``RestoreResult.info["kernel"]``."""
    if info.get("backed_off"):
        return info.get("note") or (f"No clear blur found (confidence "
                                    f"{info.get('confidence', 0):.2f}): not deconvolved")
    where = "Loaded kernel" if info.get("source") == "user" else "Estimated"
    # the polish brought back faint strokes the search had cut (engine: KernelConfig)
    polished = ", faint strokes recovered" if (info.get("polish") or {}).get("kept") else ""
    # a night photo's lights drew the kernel (engine: KernelConfig.light_streaks)
    streaks = info.get("light_streaks") or {}
    lights = f", read off {streaks['count']} light streaks" if streaks.get("count") else ""
    return (f"{where}: {info.get('size')} px, confidence {info.get('confidence', 0):.2f}"
            f"{lights}{_agreement(info)}{polished}{_regions(info)}{_applied(info)} "
            f"({info.get('seconds', 0):.1f} s)")


def _applied(info: dict[str, Any]) -> str:
    """After a restore with a blind kernel: how much of the deconvolution the acceptance
    test kept, and in how many parts of the photo it held back because the kernel does
    not explain them (a moving subject, a different depth), so a softer patch in the
    result reads as a choice, not a fault (engine: ``AcceptConfig.cell_size``)."""
    acc = info.get("acceptance") or {}
    out = ""
    strength = acc.get("strength")
    if strength is not None and float(strength) < 0.995:
        out += f", deconvolution at {round(float(strength) * 100)} %"
    held, parts = acc.get("held_back") or (0, 0)
    if held:
        out += f", held back in {held} of {parts} parts whose blur differs"
    return out


def _regions(info: dict[str, Any]) -> str:
    """For a kernel per region ("Blur varies across the photo"): how many regions the
    estimate gave a blur of their own, or that one kernel fits them all."""
    gy, gx = info.get("grid") or (1, 1)
    if (gy, gx) == (1, 1):
        return ""
    n, differing = gy * gx, int(info.get("regions_differing") or 0)
    if info.get("uniform") or differing == 0:
        return f", one kernel fits all {n} regions"
    return f", {differing} of {n} regions blurred differently"


def _agreement(info: dict[str, Any]) -> str:
    """Whether the estimator's independent starts found the same kernel: a photographer's
    reason to trust the trace, or to draw a region or set the size by hand when they did
    not (engine: ``KernelConfig.extra_starts``, ``start_agreement``)."""
    starts, chosen = info.get("starts") or [], info.get("start")
    if len(starts) < 2 or chosen is None or not 0 <= int(chosen) < len(starts):
        return ""
    # here, not at the top: the window opens before the engine (and torch) is loaded
    from glow_core.kernel.config import KernelConfig

    # the engine's confirmed agreement (only starts that explain the photo too count) where
    # it reports one; the chosen start's own otherwise
    agreement = info.get("agreement", starts[int(chosen)].get("agreement"))
    if (agreement or 0.0) >= KernelConfig().start_agreement:
        return ", confirmed by a second estimate"
    return ", estimates disagree"
