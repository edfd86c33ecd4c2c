"""Put a trained checkpoint into ``resources/weights`` with its manifest entry.

``python -m training ship CKPT --name glow-small-v1 [--notes TEXT] [--eval FILE.json]
[--keep-default]`` copies the file (refusing anything over 16 MiB: the repository's limit
per file), checks that it loads, records its SHA-256, preset, caption encoder, trained
stages and, when given, the evaluation summary, and makes it the default the engine loads
(unless ``--keep-default``: shipped beside the current default, which stays).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from glow_core.checkpoint import load_checkpoint, write_manifest_entry
from glow_core.resources import weights_dir

MAX_BYTES = 16 * 1024 * 1024


def ship(checkpoint: str | Path, name: str, notes: str = "",
         evaluation: dict[str, Any] | None = None, target: Path | None = None,
         make_default: bool = True) -> Path:
    checkpoint = Path(checkpoint)
    size = checkpoint.stat().st_size
    if size >= MAX_BYTES:
        raise ValueError(f"{checkpoint} is {size / 2**20:.1f} MiB; shipped weights must stay "
                         "under 16 MiB (export with float16 or use a smaller preset)")
    _, info = load_checkpoint(checkpoint)  # refuses anything the engine would refuse
    target = target or weights_dir()
    target.mkdir(parents=True, exist_ok=True)
    dest = target / f"{name}.safetensors"
    shutil.copyfile(checkpoint, dest)
    entry: dict[str, Any] = {
        "file": dest.name,
        "sha256": info.sha256,
        "preset": info.config.name,
        "text_encoder": info.config.text_encoder,
        "stages": info.stages,
        "bytes": size,
        "date": date.today().isoformat(),
        "notes": notes,
    }
    if evaluation:
        entry["evaluation"] = evaluation
    write_manifest_entry(target, entry, make_default=make_default)
    return dest


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training ship")
    parser.add_argument("checkpoint")
    parser.add_argument("--name", required=True)
    parser.add_argument("--notes", default="")
    parser.add_argument("--eval", dest="evaluation", help="JSON summary to record")
    parser.add_argument("--keep-default", action="store_true",
                        help="add the entry but leave the manifest's default as it is")
    args = parser.parse_args(argv)
    evaluation = json.loads(Path(args.evaluation).read_text()) if args.evaluation else None
    dest = ship(args.checkpoint, args.name, args.notes, evaluation,
                make_default=not args.keep_default)
    print(f"shipped {dest}")
    return 0
