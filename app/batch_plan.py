"""The app's layer over :mod:`glow_core.batch`: naming patterns and resuming.

``glow_core.batch`` (shared with the CLI) finds the photos, keeps the folder structure,
refuses to overwrite inputs and writes its resume log (``.glow-batch.json`` in the output
folder) atomically after every file. The app adds two things here, as pure functions so
they are tested without widgets:

* a naming pattern (``{stem}_deblurred``) applied to every planned output, and
* resuming: photos the log records as done, whose output still exists, are not redone,
  whatever "skip existing" says, so closing the app or a crash mid-batch loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

DEFAULT_PATTERN = "{stem}_deblurred"
PATTERN_FIELDS = ("stem", "ext", "parent")


class PatternError(ValueError):
    """The naming pattern cannot produce a file name."""


def render_name(pattern: str, stem: str, ext: str, parent: str) -> str:
    """File stem from ``pattern``; ``{stem}``, ``{ext}`` (source, no dot), ``{parent}``."""
    try:
        name = pattern.format(stem=stem, ext=ext, parent=parent)
    except (KeyError, IndexError, ValueError) as exc:
        raise PatternError(f"naming pattern {pattern!r} is not valid: use "
                           + ", ".join("{" + f + "}" for f in PATTERN_FIELDS)) from exc
    if not name.strip() or any(c in name for c in '/\\:*?"<>|') or name in (".", ".."):
        raise PatternError(f"naming pattern {pattern!r} gives an invalid file name {name!r}")
    return name


def check_pattern(pattern: str) -> str:
    """Empty string when fine, else the reason (for the dialog's inline hint)."""
    try:
        render_name(pattern, "photo", "jpg", "folder")
    except PatternError as exc:
        return str(exc)
    return ""


def apply_pattern(plan: Any, pattern: str) -> Any:
    """Rename every planned output by ``pattern``, keeping sub-folders and the extension."""
    if pattern in ("", "{stem}"):
        return plan
    out_dir = Path(plan.settings.out_dir)
    inputs = {Path(i.source).resolve() for i in plan.items if i.source}
    for item in plan.items:
        if item.output == Path():
            continue
        rel = PurePosixPath(item.relative)
        source = Path(item.source)
        stem = rel.stem
        name = render_name(pattern, stem, source.suffix.lstrip(".").lower(),
                           source.parent.name) + rel.suffix
        new_rel = rel.with_name(name)
        item.relative = new_rel.as_posix()
        item.output = out_dir / Path(*new_rel.parts)
        if item.output.resolve() in inputs:
            item.status = "failed"
            item.reason = f"output {item.output} would overwrite an input photo"
    return plan


def done_in_log(out_dir: Path) -> set[str]:
    """Relative output names the resume log records as done."""
    from glow_core.batch import LOG_NAME

    try:
        data = json.loads((Path(out_dir) / LOG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    items = data.get("items", {}) if isinstance(data, dict) else {}
    return {k for k, v in items.items() if isinstance(v, dict) and v.get("status") == "done"}


def split_resumed(plan: Any) -> tuple[list[Any], list[Any]]:
    """``(already_done, to_run)``: done = recorded done in the log and output on disk."""
    done = done_in_log(plan.settings.out_dir)
    finished, todo = [], []
    for item in plan.items:
        if item.relative in done and item.output.exists():
            finished.append(item)
        else:
            todo.append(item)
    return finished, todo


def build_plan(input_dir: Path, output_dir: Path, *, pattern: str = DEFAULT_PATTERN,
               recursive: bool = True, skip_existing: bool = True, format: str = "png",
               bit_depth: int | None = None, quality: int = 95) -> Any:
    """Plan a folder batch with the app's naming pattern applied."""
    from glow_core.batch import BatchSettings, plan_batch

    settings = BatchSettings(out_dir=Path(output_dir), format=format, bit_depth=bit_depth,
                             quality=quality, recursive=recursive, skip_existing=skip_existing)
    return apply_pattern(plan_batch([Path(input_dir)], settings), pattern)
