"""The main window: open a photo, restore it, compare, save; batch from here too.

The window is layout and wiring only: restorations run in
:class:`app.restore_controller.RestoreController` (which owns the engine host), photos load
in :mod:`app.workers` tasks, every command is a row of :mod:`app.actions`, comparison is
:class:`app.views.compare.CompareView`, options come from the panels. Any failure becomes
a banner with details, never an exception that escapes into Qt.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.actions import (
    HOLD_ORIGINAL_KEYS,
    HOLD_ORIGINAL_TEXT,
    MENUS,
    TOOLBAR,
    build_actions,
    fill,
    shortcut_rows,
    shortcut_text,
    shortcuts_html,
)
from app.banner import Banner
from app.engine_host import available_devices, engine_module
from app.export import ExportFlow, ExportOptions
from app.imaging import to_qimage
from app.kernel_tools import KernelTools
from app.panels.caption import CaptionPanel, captioner_status, run_captioner
from app.panels.controls import ControlsPanel
from app.restore_controller import RestoreController, Restored
from app.roundtrip import install as install_roundtrip
from app.settings import APP_NAME, SettingsStore
from app.views.compare import CompareView
from app.workers import Failure, Task, TaskRunner
from glow_core.formats import IMAGE_EXTENSIONS, file_dialog_filter


def app_icon() -> QIcon:
    """The bundled icon, or an empty icon when resources are not there."""
    try:
        from glow_core.resources import icon_path

        icon = QIcon()
        for size in (16, 32, 64, 128, 256):
            icon.addFile(str(icon_path(size)))
        return icon
    except (ImportError, FileNotFoundError, ValueError):
        return QIcon()


class MainWindow(QMainWindow):
    """GLOW Deblur Studio's main window."""

    imageLoaded = Signal(object)  # ImageData
    restoreFinished = Signal(object)  # RestoreResult
    restoreCancelled = Signal()
    restoreFailed = Signal(str)
    taskStateChanged = Signal(bool)  # busy

    def __init__(self, store: SettingsStore, *, checkpoint: str | Path | None = None,
                 load_engine: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1320, 840)

        self.image: Any = None  # glow_core.imageio.ImageData of the open photo
        self.path: Path | None = None
        self.result: Any = None  # RestoreResult of the whole photo
        self.result_options: dict[str, Any] | None = None
        self.preview_pixels: np.ndarray | None = None
        self.motion: np.ndarray | None = None
        self.batch_dialog: Any = None
        self.last_saved: Path | None = None

        self._memory_timer = QTimer(self)
        self._memory_timer.setSingleShot(True)
        self._memory_timer.setInterval(150)
        self._memory_timer.timeout.connect(self._update_memory)
        self.runner = TaskRunner(self)
        self.exporter = ExportFlow(store, self)
        self.exporter.chosen.connect(self.save_to)
        self.restorer = RestoreController(self.runner, self)
        self.host = self.restorer.host
        self.host.loading.connect(self._on_engine_loading)
        self.host.ready.connect(self._on_engine_ready)
        self.host.failed.connect(self._on_engine_failed)
        self.restorer.started.connect(self._on_restore_started)
        self.restorer.progressed.connect(self._on_progress)
        self.restorer.finished.connect(self._on_restored)
        self.restorer.failed.connect(self._on_restore_failed)
        self.restorer.cancelled.connect(self._on_restore_cancelled)
        self.restorer.busyChanged.connect(self._on_busy_changed)

        self._build_central()
        self._build_panels()
        self._build_actions()
        self._build_status()
        self._restore_settings()
        self.edit_session: Any = None  # app.edit_mode.EditSession in `glow-deblur edit`
        install_roundtrip(self)  # region mask, presets (app.roundtrip)
        self._update_actions()

        QApplication.instance().installEventFilter(self)

        factory, reason = captioner_status()
        self.caption_panel.set_captioner(factory, reason)

        self.checkpoint = str(checkpoint) if checkpoint else (store.get("checkpoint") or None)
        if load_engine:
            self.load_engine()

    # ------------------------------------------------------------------ construction
    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = Banner()
        self.view = CompareView()
        self.view.zoomChanged.connect(self._on_zoom)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)

    def _build_panels(self) -> None:
        self.controls = ControlsPanel(available_devices())
        self.caption_panel = CaptionPanel()
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 6, 0, 6)
        column.setSpacing(0)
        column.addWidget(self.caption_panel)
        self.kernel = KernelTools(self)  # blur kernel: panel, region tool, blur trace
        column.addWidget(self.kernel.panel)
        column.addWidget(self.controls, 1)
        scroll = QScrollArea()
        scroll.setWidget(holder)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.dock = QDockWidget("Adjust", self)
        self.dock.setObjectName("adjust-dock")
        self.dock.setWidget(scroll)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setMinimumWidth(330)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.controls.changed.connect(self._on_options_changed)
        self.controls.deviceChanged.connect(self._on_device_changed)
        self.controls.restoreWholeRequested.connect(self.restore_whole)
        self.controls.restoreVisibleRequested.connect(self.restore_visible)
        self.caption_panel.suggestRequested.connect(self.suggest_caption)

    def _build_actions(self) -> None:
        """QActions, menus and toolbar from the one table in :mod:`app.actions`."""
        self.actions_by_id = build_actions(self)
        for key, action in self.actions_by_id.items():
            setattr(self, f"act_{key}", action)
        self.view.modeChanged.connect(self._on_mode_changed)
        self.controls.set_run_tips(whole=self.act_restore.toolTip(),
                                   visible=self.act_restore_visible.toolTip())

        slots = {"recent": self._add_recent_menu, "hold": self._add_hold_note,
                 "dock": lambda m: m.addAction(self.dock.toggleViewAction())}
        for title, items in MENUS:
            fill(self.menuBar().addMenu(title), items, self.actions_by_id, slots)
        bar = self.addToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        fill(bar, TOOLBAR, self.actions_by_id)

    def _add_recent_menu(self, menu: Any) -> None:
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)

    def _add_hold_note(self, menu: Any) -> None:
        menu.addAction(f"Show original: hold {HOLD_ORIGINAL_TEXT}").setEnabled(False)

    def _build_status(self) -> None:
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        self.info_label = QLabel("No photo")
        self.engine_label = QLabel("Engine: loading…")
        self.zoom_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(200)
        self.progress.setTextVisible(False)
        self.eta_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for w in (self.progress, self.eta_label, self.cancel_button):
            w.hide()
        status.addWidget(self.info_label)
        status.addWidget(self.zoom_label)
        status.addPermanentWidget(self.eta_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        status.addPermanentWidget(self.engine_label)

    def _restore_settings(self) -> None:
        s = self.store.values
        self.controls.apply_settings(s)
        self.kernel.panel.apply_settings(s)
        self.set_compare_mode(s.compare_mode)
        self.act_motion.setChecked(s.show_motion)
        self.act_loupe.setChecked(s.loupe)
        if s.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(s.window_geometry)))
        if s.window_state:
            self.restoreState(QByteArray(base64.b64decode(s.window_state)))

    def save_settings(self) -> None:
        self.controls.store_settings(self.store)
        self.kernel.panel.store_settings(self.store)
        self.store.set("compare_mode", self.view.mode)
        self.store.set("show_motion", self.act_motion.isChecked())
        self.store.set("loupe", self.act_loupe.isChecked())
        self.store.set("window_geometry",
                       base64.b64encode(bytes(self.saveGeometry())).decode("ascii"))
        self.store.set("window_state", base64.b64encode(bytes(self.saveState())).decode("ascii"))
        self.store.save()

    # ----------------------------------------------------------------------- engine
    @property
    def engine(self) -> Any:
        return self.host.engine

    @property
    def current(self) -> Task | None:
        """The running restoration's task (None when idle)."""
        return self.restorer.current

    def load_engine(self, *, wait: bool = False) -> None:
        v = self.controls.values()
        self.restorer.load_engine(self.checkpoint, v["device"], v["precision"], wait=wait)

    def _on_engine_loading(self) -> None:
        self.engine_label.setText("Engine: loading…")
        self._update_actions()

    def _on_engine_ready(self, engine: Any) -> None:
        info = getattr(engine, "checkpoint", None)
        name = Path(info.path).name if info is not None else "weights"
        self.engine_label.setText(f"{name} · {engine.device} · {engine.precision}")
        if self.banner.level in ("error", "warning") and "weights" in self.banner.text():
            self.banner.dismiss()
        self.controls.set_full_available(bool(getattr(engine, "full_available", True)))
        self._update_actions()
        self._update_memory()

    def _on_engine_failed(self, message: str, missing: bool) -> None:
        self.engine_label.setText("Engine: no weights" if missing else "Engine: unavailable")
        self.banner.show_message(message, "warning" if missing else "error",
                                 closable=not missing)
        self._update_actions()

    def _on_device_changed(self, device: str, precision: str) -> None:
        self.restorer.use_device(self.checkpoint, device, precision)

    def choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load weights", self.checkpoint or "",
                                              "GLOW weights (*.safetensors)")
        if path:
            self.set_checkpoint(path)

    def set_checkpoint(self, path: str | Path | None, *, wait: bool = False) -> None:
        self.checkpoint = str(path) if path else None
        self.store.set("checkpoint", self.checkpoint or "")
        self.load_engine(wait=wait)

    # -------------------------------------------------------------------- opening
    def open_dialog(self) -> None:
        start = self.store.get("last_open_dir") or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", start, file_dialog_filter())
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Decode in a worker (large photos take seconds), then show."""
        path = Path(path)
        if path.is_dir():
            self.open_batch(input_dir=path)
            return
        self.statusBar().showMessage(f"Opening {path.name}…")

        def work(_report: Any, _token: Any) -> Any:
            from glow_core.imageio import read_image

            return read_image(path)

        task = Task(work, name="open")
        task.signals.finished.connect(lambda image: self._on_loaded(path, image))
        task.signals.failed.connect(lambda failure: self._on_load_failed(path, failure))
        self.runner.start(task)

    def _on_load_failed(self, path: Path, failure: Failure) -> None:
        self.statusBar().clearMessage()
        self.banner.show_message(f"Could not open {path.name}: {failure.message}", "error",
                                 failure.details)
        self.restoreFailed.emit(failure.message)

    def _on_loaded(self, path: Path, image: Any) -> None:
        if self.current is not None:
            self.cancel()
        self.image = image
        self.path = path
        self.result = None
        self.result_options = None
        self.preview_pixels = None
        self.motion = None
        self.view.set_original(to_qimage(image.pixels))
        self.kernel.reset()
        self.caption_panel.set_image(image.pixels)
        self.store.add_recent(path)
        self.store.set("last_open_dir", str(path.parent))
        self.setWindowTitle(f"{path.name} — {APP_NAME}")
        fmt = image.format or path.suffix.lstrip(".").upper()
        self.info_label.setText(f"{path.name}  ·  {image.width} × {image.height}  ·  "
                                f"{image.bit_depth}-bit {fmt}")
        self.statusBar().clearMessage()
        if self.banner.level == "error":
            self.banner.dismiss()
        self._update_actions()
        self._update_memory()
        if self.act_motion.isChecked():
            self._estimate_motion()
        self.imageLoaded.emit(image)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.store.get("recent_files") if Path(p).exists()]
        if not recent:
            action = self.recent_menu.addAction("No recent photos")
            action.setEnabled(False)
            return
        for i, p in enumerate(recent):
            action = self.recent_menu.addAction(f"&{(i + 1) % 10}  {Path(p).name}")
            action.setToolTip(p)
            action.triggered.connect(lambda _=False, path=p: self.open_path(path))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear list", lambda: self.store.set("recent_files", []))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt API
        urls = event.mimeData().urls()
        if urls and any(self._droppable(Path(u.toLocalFile())) for u in urls):
            event.acceptProposedAction()

    def _droppable(self, path: Path) -> bool:
        return path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS

    def dropEvent(self, event: QDropEvent) -> None:  # Qt API
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if self._droppable(path):
                self.open_path(path)
                event.acceptProposedAction()
                return

    # -------------------------------------------------------------------- restoring
    def restore_options(self, **overrides: Any) -> Any:
        """Current panel values + caption as ``RestoreOptions``."""
        v = self.controls.values()
        fields = {k: v[k] for k in ("mode", "steps", "seed", "strength", "tile", "overlap")}
        fields["caption"] = self.caption_panel.caption()
        fields.update(self.kernel.options())
        # the engine is handed pixels: what the file kept of the colour goes with them
        fields["chroma_subsampled"] = bool(getattr(self.image, "chroma_subsampled", False))
        fields.update(overrides)
        return engine_module().RestoreOptions(**fields)

    def can_restore(self) -> tuple[bool, str]:
        return self.restorer.can_restore(self.image is not None)

    def restore_whole(self) -> Task | None:
        return self._start_restore(None)

    def restore_visible(self) -> Task | None:
        if self.image is None:
            return None
        rect = self.view.visible_image_rect()
        full = QRect(0, 0, self.image.width, self.image.height)
        if rect.isEmpty() or rect == full:
            return self._start_restore(None)
        return self._start_restore(rect)

    def _start_restore(self, rect: QRect | None) -> Task | None:
        ok, reason = self.can_restore()
        if not ok:
            self.statusBar().showMessage(reason, 4000)
            return None
        return self.restorer.start(self.image.pixels, self.restore_options(), rect)

    def cancel(self) -> None:
        """Esc: stop the running restoration inside its current tile."""
        self.restorer.cancel()

    def _on_restore_started(self, text: str) -> None:
        self.progress.setValue(0)
        self.eta_label.setText(text)
        for w in (self.progress, self.eta_label, self.cancel_button):
            w.show()
        self._update_actions()
        self.taskStateChanged.emit(True)

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.eta_label.setText(text)

    def _on_restored(self, done: Restored) -> None:
        result, rect = done.result, done.rect
        seconds = getattr(result, "seconds", 0.0)
        if rect is None:
            self.result = result
            self.result_options = dict(vars(done.options))
            self.preview_pixels = None
            self.view.set_restored(to_qimage(result.image))
            self.kernel.on_restored(result)
            if result.motion is not None:
                self.motion = result.motion
                self.view.set_motion(self.motion if self.act_motion.isChecked() else None)
            self.statusBar().showMessage(f"Restored in {seconds:.1f} s", 6000)
        else:
            base = (self.result.image if self.result is not None else self.image.pixels).copy()
            base[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1] = result.image
            self.preview_pixels = base
            self.view.set_restored(to_qimage(base), preview_rect=rect)
            self.statusBar().showMessage(
                f"Preview of {rect.width()} × {rect.height()} px in {seconds:.1f} s: "
                f"restore the whole photo ({shortcut_text('restore')}) to save", 8000)
        self.restoreFinished.emit(result)

    def _on_restore_failed(self, failure: Failure) -> None:
        self.banner.show_message(f"Restoration failed: {failure.message}", "error",
                                 failure.details)
        self.restoreFailed.emit(failure.message)

    def _on_restore_cancelled(self) -> None:
        self.statusBar().showMessage("Cancelled", 4000)
        self.restoreCancelled.emit()

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            return
        for w in (self.progress, self.eta_label, self.cancel_button):
            w.hide()
        self._update_actions()
        self.taskStateChanged.emit(False)

    # ------------------------------------------------------------------ motion view
    def set_show_motion(self, on: bool) -> None:
        if on and self.motion is None and self.image is not None:
            self._estimate_motion()
        self.view.set_show_motion(on)
        self.view.set_motion(self.motion if on else None)

    def _estimate_motion(self) -> None:
        engine, image = self.engine, self.image
        if engine is None or image is None:
            return

        task = Task(lambda _report, _token: engine.estimate_motion(image.pixels), name="motion")
        task.signals.finished.connect(self._on_motion)
        task.signals.failed.connect(lambda f: self._show_failure("Motion estimate failed", f))
        self.runner.start(task)

    def _show_failure(self, what: str, failure: Failure) -> None:
        self.banner.show_message(f"{what}: {failure.message}", "error", failure.details)

    def _on_motion(self, motion: np.ndarray) -> None:
        self.motion = motion
        if self.act_motion.isChecked():
            self.view.set_motion(motion)

    def set_compare_mode(self, mode: str) -> None:
        self.view.set_mode(mode)
        self._on_mode_changed(mode)

    def _on_mode_changed(self, mode: str) -> None:
        self.act_split.setChecked(mode == "split")
        self.act_side.setChecked(mode == "side")

    def _on_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{'Fit · ' if self.view.state.fit else ''}{zoom * 100:.0f} %")

    # ----------------------------------------------------------------- caption
    def suggest_caption(self) -> None:
        factory = self.caption_panel.factory
        if factory is None or self.image is None:
            return
        pixels = self.image.pixels
        self.caption_panel.set_busy(True)
        task = Task(lambda _report, _token: run_captioner(factory, pixels), name="caption")
        task.signals.finished.connect(self.caption_panel.set_caption)
        task.signals.failed.connect(lambda f: self._show_failure("Caption suggestion failed", f))
        task.signals.done.connect(lambda: self.caption_panel.set_busy(False))
        self.runner.start(task)

    # -------------------------------------------------------------------- saving
    def save(self) -> None:
        """Ctrl+S: the export dialog, pre-filled with ``<stem>_deblurred`` beside the original."""
        if self.edit_session is not None:  # edit mode: write back to the opened file
            self.edit_session.save()
            return
        if self._check_saveable():
            self.exporter.ask(self.image, self.path)

    def save_as(self) -> None:
        if self._check_saveable():
            self.exporter.ask(self.image, self.path, choose_place=True)

    def _check_saveable(self) -> bool:
        if self.image is None:
            return False
        if self.result is None:
            self.statusBar().showMessage(f"Restore the whole photo first "
                                         f"({shortcut_text('restore')}): previews are not saved",
                                         5000)
            return False
        return True

    def save_to(self, path: Path, options: ExportOptions) -> Path | None:
        """Write the restored photo; returns the path written or None (banner says why)."""
        if self.result is None or self.image is None:
            return None
        try:
            caption = (getattr(self, "result_options", None) or {}).get("caption")
            written = self.exporter.write(path, self.image, self.result.image, options,
                                          caption)
        except Exception as exc:  # a failed save is shown, not raised
            self.banner.show_message(f"Could not save {Path(path).name}: {exc}", "error")
            return None
        self.last_saved = written
        self.statusBar().showMessage(f"Saved {written}", 6000)
        return written

    # -------------------------------------------------------------------- batch
    def open_batch(self, _checked: bool = False, input_dir: Path | None = None) -> Any:
        from app.panels.batch import BatchDialog

        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self)
        if input_dir is not None:
            self.batch_dialog.set_input(Path(input_dir))
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        return self.batch_dialog

    # -------------------------------------------------------------------- about
    def about_text(self) -> str:
        facts = "<br>".join(f"<b>{k}:</b> {v}" for k, v in self.host.describe())
        return "<br><br>".join([f"<b>{APP_NAME}</b> {__version__}",
                                "Removes real-world blur from photographs with a lightweight "
                                "latent diffusion model (GLOWDeblur).", facts])

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(f"About {APP_NAME}")
        icon = app_icon()
        if not icon.isNull():
            box.setIconPixmap(icon.pixmap(96, 96))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(self.about_text())
        box.open()
        self._about_box = box

    def show_shortcuts(self) -> None:
        html = shortcuts_html(shortcut_rows())
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(html)
        box.open()
        self._keys_box = box

    # -------------------------------------------------------------------- state
    def _update_actions(self) -> None:
        ok, reason = self.can_restore()
        busy = self.current is not None
        self.controls.set_can_run(ok, "" if ok else reason)
        self.act_restore.setEnabled(ok)
        self.act_restore_visible.setEnabled(ok)
        self.act_cancel.setEnabled(busy)
        for act in (self.act_estimate_blur, self.kernel.panel.estimate):
            act.setEnabled(ok)
        saveable = self.result is not None
        self.act_save.setEnabled(saveable)
        self.act_save_as.setEnabled(saveable)
        self.caption_panel.suggest.setEnabled(self.caption_panel.factory is not None
                                              and self.image is not None)
        hint = f"Open a photo ({shortcut_text('open')}) or drop it here"
        if self.image is None and self.engine is None and self.host.error:
            hint += ".\n\nRestoring needs weights: see the message above."
        self.view.placeholder_text = hint
        self.view.refresh()

    def _on_options_changed(self) -> None:
        self._memory_timer.start()

    def _update_memory(self) -> None:
        if self.image is None:
            self.controls.set_memory_estimate(None, "open a photo")
            return
        self.controls.set_memory_estimate(*self.restorer.memory_estimate(
            self.image.height, self.image.width, self.restore_options))

    # ----------------------------------------------------------------- key handling
    _TYPING = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt API
        """Hold Space or backslash to show the original (unless typing in a field)."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and \
                event.key() in HOLD_ORIGINAL_KEYS and isinstance(obj, QWidget) and \
                obj.window() is self and not self._typing_in(obj):
            if not event.isAutoRepeat():
                self.view.set_show_original(kind == QEvent.Type.KeyPress)
            return True
        return False

    def _typing_in(self, widget: QWidget) -> bool:
        if isinstance(widget, self._TYPING):
            return True
        return isinstance(widget, QComboBox) and widget.isEditable()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt API
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
        self.save_settings()
        QApplication.instance().removeEventFilter(self)
        self.runner.shutdown(15000)
        event.accept()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Process events until no task runs (tests, screenshot tool)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            QApplication.processEvents()
            if not self.runner.active and self.current is None:
                QApplication.processEvents()
                return True
            time.sleep(0.01)
        return False

    def pixmap(self) -> QPixmap:
        return self.grab()
