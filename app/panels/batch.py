"""Batch folder dialog: restore a whole folder in the background, pause, resume, cancel.

The run goes through :func:`glow_core.batch.run_batch` (the same code as the CLI), so the
resume log after every file, the "never overwrite an input" rule and per-file error
capture are shared. A corrupt photo is reported in its row and skipped; closing the app or
a crash mid-batch loses nothing: the next Start resumes after the last finished photo.
Cancel fires the task's :class:`~glow_core.cancel.CancelToken`, as the CLI's Ctrl+C does:
the engine stops inside the current photo and its ``Cancelled`` ends the run (``fatal``).
Pause holds the worker before the next photo.

Transparent photos saved as JPEG (no alpha) are flattened onto the background colour
chosen beside the format (white by default), and the row says so; outputs renamed because
two photos share a name (same name in different sub-folders is kept apart by the folder
structure, otherwise by a suffix) are listed in the finish line and in their rows.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.batch_plan import DEFAULT_PATTERN, build_plan, check_pattern, split_resumed
from app.imaging import format_duration
from app.panels.presets import BatchExtras
from app.workers import CancelToken, Failure, ProgressTracker, Task, TaskRunner
from glow_core.cancel import Cancelled
from glow_core.formats import DEFAULT_FORMAT, FORMATS, OUTPUT_FORMATS

STATUS_COLOURS = {
    "pending": "#9a9a9a", "running": "#4a90d9", "done": "#6cc070", "earlier": "#6cc070",
    "skipped": "#b0b0b0", "failed": "#e06c5a", "cancelled": "#d9a441",
}
#: Background choices for flattening transparency into formats without alpha.
BACKGROUNDS = (("White background", "white"), ("Black background", "black"),
               ("Grey background", "#808080"))

STATUS_TEXT = {
    "pending": "Waiting", "running": "Restoring…", "done": "Done", "earlier": "Done earlier",
    "skipped": "Skipped", "failed": "Failed", "cancelled": "Cancelled",
}


def short_reason(item: Any) -> str:
    """The error without the file's path in front (the row already names the file)."""
    reason = item.reason or "failed"
    prefix = f"{item.source}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


class BatchDialog(QDialog):
    """Non-modal: the main window stays usable while a folder runs."""

    itemFinished = Signal(object)  # a glow_core.batch.BatchItem
    batchFinished = Signal(str)  # "finished" | "cancelled" | "failed"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window_ = window
        self.store = window.store
        self.setWindowTitle("Batch folder")
        self.setModal(False)
        self.resize(860, 620)
        self.runner = TaskRunner(self, max_threads=1)
        self.task: Task | None = None
        self.plan: Any = None
        self.rows: dict[str, int] = {}
        self.total = 0
        self.finished_count = 0
        self.tracker: ProgressTracker | None = None
        self._paused = threading.Event()
        self._current_fraction = 0.0
        self._build()
        self._load_settings()

    # ------------------------------------------------------------------ layout
    def _folder_row(self, edit: QLineEdit, title: str) -> QHBoxLayout:
        row = QHBoxLayout()
        button = QPushButton("Browse…")
        button.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(edit, 1)
        row.addWidget(button)
        return row

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSpacing(12)
        where = QGroupBox("Folders and names")
        form = QFormLayout(where)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("Folder with blurry photos")
        form.addRow("Input folder", self._folder_row(self.input_edit, "Input folder"))
        self.recursive = QCheckBox("Include sub-folders (their structure is kept)")
        form.addRow("", self.recursive)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("Where the restored photos go")
        form.addRow("Output folder", self._folder_row(self.output_edit, "Output folder"))
        self.pattern = QLineEdit(DEFAULT_PATTERN)
        self.pattern.setToolTip("{stem}: original name · {ext}: original extension · "
                                "{parent}: its folder")
        form.addRow("Name pattern", self.pattern)
        fmt_row = QHBoxLayout()
        self.format = QComboBox()
        for key, fmt in OUTPUT_FORMATS.items():
            self.format.addItem(fmt.label, key)
        self.format.setCurrentIndex(self.format.findData(FORMATS[DEFAULT_FORMAT].key))
        self.depth = QComboBox()
        self.depth.addItem("Bit depth as source", None)
        self.depth.addItem("8 bit", 8)
        self.depth.addItem("16 bit", 16)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        self.quality.setPrefix("Quality ")
        self.quality.setSuffix(" %")
        self.background = QComboBox()
        for label, colour in BACKGROUNDS:
            self.background.addItem(label, colour)
        self.background.setToolTip("Transparent photos are flattened onto this colour when "
                                   "the format has no transparency (JPEG)")
        fmt_row.addWidget(self.format)
        fmt_row.addWidget(self.depth)
        fmt_row.addWidget(self.quality)
        fmt_row.addWidget(self.background)
        fmt_row.addStretch(1)
        form.addRow("Save as", fmt_row)
        self.skip_existing = QCheckBox("Skip photos whose output already exists")
        form.addRow("", self.skip_existing)
        self.extras = BatchExtras(self, form)  # preset + saved masks (app.panels.presets)
        self.settings_label = QLabel()
        self.settings_label.setObjectName("hint")
        self.settings_label.setWordWrap(True)
        form.addRow("Restoration", self.settings_label)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        form.addRow("", self.hint)
        layout.addWidget(where)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Photo", "Status", "Details"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        layout.addWidget(self.table, 1)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("Choose an input and an output folder")
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_label)
        layout.addLayout(progress_row)

        buttons = QHBoxLayout()
        self.scan_button = QPushButton("Scan")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        self.scan_button.clicked.connect(self.scan)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        buttons.addWidget(self.scan_button)
        buttons.addStretch(1)
        for b in (self.start_button, self.pause_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.input_edit.editingFinished.connect(self._on_input_edited)
        self.output_edit.editingFinished.connect(self.scan)
        self.recursive.toggled.connect(lambda _: self.scan())
        self.pattern.textChanged.connect(self._on_pattern)
        self.format.currentIndexChanged.connect(self._on_format)
        self._set_running(False)

    def _load_settings(self) -> None:
        s = self.store.values
        self.input_edit.setText(s.batch_input)
        self.output_edit.setText(s.batch_output)
        self.recursive.setChecked(s.batch_recursive)
        self.pattern.setText(s.batch_pattern or DEFAULT_PATTERN)
        self.skip_existing.setChecked(s.batch_skip_existing)
        self.background.setCurrentIndex(max(self.background.findData(s.batch_background), 0))
        self._on_format()
        if s.batch_input and s.batch_output:
            self.scan()

    def _store_settings(self) -> None:
        self.store.set("batch_input", self.input_edit.text().strip())
        self.store.set("batch_output", self.output_edit.text().strip())
        self.store.set("batch_recursive", self.recursive.isChecked())
        self.store.set("batch_pattern", self.pattern.text())
        self.store.set("batch_skip_existing", self.skip_existing.isChecked())
        self.store.set("batch_background", self.background.currentData())

    # ------------------------------------------------------------------ inputs
    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)
            if edit is self.input_edit:
                self._on_input_edited()
            else:
                self.scan()

    def set_input(self, folder: Path) -> None:
        self.input_edit.setText(str(folder))
        self._on_input_edited()

    def set_output(self, folder: Path) -> None:
        self.output_edit.setText(str(folder))
        self.scan()

    def _on_input_edited(self) -> None:
        text = self.input_edit.text().strip()
        if text and not self.output_edit.text().strip():
            self.output_edit.setText(str(Path(text) / "deblurred"))
        self.scan()

    def _on_pattern(self) -> None:
        problem = check_pattern(self.pattern.text())
        self.hint.setText(problem)
        if not problem:
            self.scan()

    def _on_format(self) -> None:
        self._format_widgets()
        self.scan()

    def _format_widgets(self) -> None:
        fmt = OUTPUT_FORMATS[self.format.currentData()]
        self.depth.model().item(2).setEnabled(fmt.sixteen_bit)
        if not fmt.sixteen_bit and self.depth.currentData() == 16:
            self.depth.setCurrentIndex(0)
        self.quality.setEnabled(fmt.quality)
        self.background.setEnabled(not fmt.alpha)

    def showEvent(self, event: Any) -> None:  # Qt API
        self.extras.refresh()
        self._describe_settings()
        super().showEvent(event)

    def _describe_settings(self) -> None:
        v = self.window_.controls.values()
        caption = self.window_.caption_panel.caption()
        text = (f"{'Full' if v['mode'] == 'full' else 'Fast'}"
                f"{' · ' + str(v['steps']) + ' steps' if v['mode'] == 'full' else ''}"
                f" · seed {v['seed']} · strength {round(v['strength'] * 100)} %"
                f" · tile {v['tile'] or 'auto'}"
                + (f" · caption “{caption}”" if caption else "")
                + "  (from the main window's controls)")
        self.settings_label.setText(text)

    # ------------------------------------------------------------------ planning
    def make_plan(self) -> Any:
        inp = Path(self.input_edit.text().strip()).expanduser()
        out = Path(self.output_edit.text().strip()).expanduser()
        if not self.input_edit.text().strip() or not inp.is_dir():
            raise ValueError("Choose an input folder that exists")
        if not self.output_edit.text().strip():
            raise ValueError("Choose an output folder")
        problem = check_pattern(self.pattern.text())
        if problem:
            raise ValueError(problem)
        plan = build_plan(inp, out, pattern=self.pattern.text(),
                          recursive=self.recursive.isChecked(),
                          skip_existing=self.skip_existing.isChecked(),
                          format=self.format.currentData(), bit_depth=self.depth.currentData(),
                          quality=self.quality.value())
        plan.settings.background = self.background.currentData()
        return plan

    def scan(self) -> None:
        """List what a run would do, marking photos already done by an earlier run."""
        if self.task is not None:
            return
        try:
            plan = self.make_plan()
        except Exception as exc:  # shown inline
            self.plan = None
            self.table.setRowCount(0)
            self.progress_label.setText(str(exc))
            self.start_button.setEnabled(False)
            return
        self.plan = plan
        earlier, todo = split_resumed(plan)
        self._fill_table(plan, {i.relative for i in earlier})
        n = len(plan.items)
        if earlier and todo:
            text = (f"{len(earlier)} of {n} photos were finished by an earlier run; "
                    "Start resumes with the rest")
            self.start_button.setText("Resume")
        else:
            text = f"{n} photo{'s' if n != 1 else ''} found" if n else "No photos found"
            self.start_button.setText("Start")
        self.progress_label.setText(text)
        self.progress.setValue(int(1000 * len(earlier) / n) if n else 0)
        self.start_button.setEnabled(bool(todo))

    def _fill_table(self, plan: Any, earlier: set[str]) -> None:
        self.rows = {}
        self.table.setRowCount(len(plan.items))
        base = Path(self.input_edit.text().strip())
        for row, item in enumerate(plan.items):
            try:
                name = str(Path(item.source).relative_to(base))
            except ValueError:
                name = str(item.source)
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.rows[item.relative] = row
            if item.status == "failed":
                self._set_row(item.relative, "failed", short_reason(item))
            elif item.relative in earlier:
                self._set_row(item.relative, "earlier", "→ " + item.relative)
            else:
                self._set_row(item.relative, "pending", "→ " + item.relative
                              + (f" (renamed: {item.renamed})" if item.renamed else ""))

    def _set_row(self, relative: str, status: str, details: str = "") -> None:
        row = self.rows.get(relative)
        if row is None:
            return
        cell = QTableWidgetItem(STATUS_TEXT.get(status, status))
        cell.setForeground(QColor(STATUS_COLOURS.get(status, "#dcdcdc")))
        cell.setData(Qt.ItemDataRole.UserRole, status)
        self.table.setItem(row, 1, cell)
        detail = QTableWidgetItem(details)
        detail.setToolTip(details)
        self.table.setItem(row, 2, detail)

    def row_status(self, row: int) -> str:
        cell = self.table.item(row, 1)
        return cell.data(Qt.ItemDataRole.UserRole) if cell else ""

    # ------------------------------------------------------------------ running
    def start(self) -> Task | None:
        if self.task is not None:
            return None
        engine = self.window_.engine
        if engine is None:
            self.progress_label.setText(self.window_.host.error or "The engine is not loaded")
            return None
        self._store_settings()
        self.scan()
        if self.plan is None:
            return None
        from glow_core.batch import BatchPlan, run_batch

        earlier, todo = split_resumed(self.plan)
        plan = BatchPlan(items=todo, settings=self.plan.settings)
        # The open photo's kernel, estimate and blur region are not the other photos' blur.
        options = self.extras.options(self.window_.restore_options(
            kernel=None, estimate=None, kernel_region=None))
        self.total = len(todo)
        self.finished_count = 0
        self._current_fraction = 0.0
        self._paused.clear()

        def work(report: Any, token: CancelToken) -> Any:
            def restorer(image: Any) -> Any:
                while self._paused.is_set() and not token.cancelled:  # pause between photos
                    time.sleep(0.05)
                token.check()  # cancelled: Cancelled ends the whole batch (fatal below)
                report(("start", str(image.source)))
                result = engine.restore(image, options, cancel=token,
                                        progress=lambda info: report(("progress", info.fraction)))
                return result.image, options.caption  # the caption in force goes into EXIF

            return run_batch(plan, self.extras.wrap(restorer),
                             on_item=lambda item: report(("item", item)),
                             fatal=(Cancelled,),
                             log_settings={"options": dict(vars(options)),
                                           "pattern": self.pattern.text()})

        task = Task(work, token=CancelToken(), name="batch")
        self._sources = {str(i.source): i.relative for i in todo}
        task.signals.progress.connect(self._on_report)
        task.signals.finished.connect(self._on_finished)
        task.signals.failed.connect(self._on_failed)
        task.signals.cancelled.connect(self._on_cancelled)
        task.signals.done.connect(self._on_done)
        self.task = task
        self.tracker = ProgressTracker()
        self._set_running(True)
        self.progress_label.setText(f"0 of {self.total}")
        self.runner.start(task)
        return task

    def _on_report(self, message: tuple) -> None:
        kind = message[0]
        if kind == "start":
            self._current = self._sources.get(message[1])
            self._current_fraction = 0.0
            if self._current:
                self._set_row(self._current, "running")
        elif kind == "progress":
            self._current_fraction = float(message[1])
        elif kind == "item":
            item = message[1]
            self.finished_count += 1
            self._current_fraction = 0.0
            if item.status == "done":
                notes = [f"renamed: {item.renamed}"] if item.renamed else []
                notes += item.warnings
                self._set_row(item.relative, "done", f"{item.seconds:.1f} s → {item.relative}"
                              + "".join(f" · {note}" for note in notes))
            elif item.status == "skipped":
                self._set_row(item.relative, "skipped", item.reason)
            elif self.task is not None and self.task.is_cancelled:
                self._set_row(item.relative, "cancelled", "will be redone on resume")
            else:
                self._set_row(item.relative, "failed", short_reason(item))
            self.itemFinished.emit(item)
        self._update_progress()

    def _update_progress(self) -> None:
        if not self.total or self.tracker is None:
            return
        fraction = (self.finished_count + self._current_fraction) / self.total
        self.tracker.update(fraction)
        self.progress.setValue(int(fraction * 1000))
        state = "Paused · " if self._paused.is_set() else ""
        self.progress_label.setText(
            f"{state}{self.finished_count} of {self.total}  ·  "
            f"{format_duration(self.tracker.elapsed)} elapsed  ·  "
            f"{format_duration(self.tracker.remaining)} left")

    def toggle_pause(self) -> None:
        if self.task is None:
            return
        if self._paused.is_set():
            self._paused.clear()
            self.pause_button.setText("Pause")
        else:
            self._paused.set()
            self.pause_button.setText("Resume")
            self.progress_label.setText("Pausing after the current photo…")

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self._paused.clear()
            self.progress_label.setText("Cancelling…")

    def _on_finished(self, summary: Any) -> None:
        failed = len(summary.failed)
        status = "cancelled" if summary.cancelled else "finished"
        renamed = summary.renamed
        flattened = [i for i in summary.warned if any("flattened" in w for w in i.warnings)]
        self.progress_label.setText(
            f"{'Stopped' if summary.cancelled else 'Finished'}: {len(summary.done)} restored, "
            f"{len(summary.skipped)} skipped, {failed} failed"
            + (f" · {len(renamed)} renamed so that no two share a name "
               f"({', '.join(i.relative for i in renamed[:3])}"
               f"{', …' if len(renamed) > 3 else ''})" if renamed else "")
            + (f" · {len(flattened)} transparent photo(s) flattened onto "
               f"{self.background.currentText().split()[0].lower()}" if flattened else "")
            + (f" · stopped: {summary.output_error}" if summary.output_error else ""))
        if not summary.cancelled:
            self.progress.setValue(1000)
        self.batchFinished.emit(status)

    def _on_failed(self, failure: Failure) -> None:
        self.progress_label.setText(f"Batch stopped: {failure.message}")
        self.batchFinished.emit("failed")

    def _on_cancelled(self) -> None:
        self.progress_label.setText(f"Cancelled after {self.finished_count} of {self.total}: "
                                    "Start resumes where it stopped")
        for row in range(self.table.rowCount()):
            if self.row_status(row) == "running":
                relative = next((k for k, v in self.rows.items() if v == row), None)
                if relative:
                    self._set_row(relative, "cancelled", "will be redone on resume")
        self.batchFinished.emit("cancelled")

    def _on_done(self) -> None:
        self.task = None
        self.tracker = None
        self._paused.clear()
        self._set_running(False)
        self.pause_button.setText("Pause")

    def _set_running(self, running: bool) -> None:
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.start_button.setEnabled(not running and self.plan is not None)
        self.scan_button.setEnabled(not running)
        for w in (self.input_edit, self.output_edit, self.recursive, self.pattern, self.format,
                  self.depth, self.quality, self.skip_existing, self.background):
            w.setEnabled(not running)
        if not running:
            self._format_widgets()

    def shutdown(self) -> None:
        """App closing: stop after (or inside) the current photo; the log keeps the rest."""
        self._store_settings()
        self.runner.shutdown(15000)

    def closeEvent(self, event: Any) -> None:  # Qt API
        """Closing the dialog keeps a running batch going (the main window owns it)."""
        self._store_settings()
        super().closeEvent(event)
