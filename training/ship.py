"""Put a trained checkpoint into ``resources/weights`` with its manifest entry.

``python -m training ship CKPT --name glow-small-v1 [--notes TEXT] [--eval FILE.json]
[--after-deconv network|blend] [--keep-default]``
writes the checkpoint into the weights folder (refusing anything over 16 MiB: the
repository's limit per file) through the checkpoint writer, so the shipped file always
carries the SHA-256 of its content in its metadata and verifies itself on every load;
checks that the written file loads, records its SHA-256, preset, caption encoder, trained
stages and, when given, the evaluation summary and the measured fast-mode choice after the
deconvolution (``--after-deconv``: the refiner's output as it is, or averaged with the
deconvolution; :func:`glow_core.kernel_stage.paired_choice`), and makes it the default the
engine loads (unless ``--keep-default``: shipped beside the current default, which stays).

``python -m training ship --reexport OLD NEW`` rewrites a checkpoint saved before the
content digest existed (same tensors) so that it loads without a manifest.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from glow_core.checkpoint import (
    CheckpointError,
    load_checkpoint,
    reexport_checkpoint,
    write_manifest_entry,
)
from glow_core.kernel_stage import PAIRED_CHOICES
from glow_core.resources import weights_dir

MAX_BYTES = 16 * 1024 * 1024


def ship(checkpoint: str | Path, name: str, notes: str = "",
         evaluation: dict[str, Any] | None = None, target: Path | None = None,
         make_default: bool = True, after_deconv: str | None = None) -> Path:
    if after_deconv is not None and after_deconv not in PAIRED_CHOICES:
        raise ValueError(f"after_deconv must be one of {PAIRED_CHOICES}, not {after_deconv!r}")
    checkpoint = Path(checkpoint)
    size = checkpoint.stat().st_size
    if size >= MAX_BYTES:
        raise ValueError(f"{checkpoint} is {size / 2**20:.1f} MiB; shipped weights must stay "
                         "under 16 MiB (export with float16 or use a smaller preset)")
    # Refuses anything the engine would refuse; a checkpoint from before the content
    # digest is accepted here (the person shipping it vouches for it) and gets one below.
    load_checkpoint(checkpoint, allow_unverified=True)
    target = target or weights_dir()
    target.mkdir(parents=True, exist_ok=True)
    dest = target / f"{name}.safetensors"
    reexport_checkpoint(checkpoint, dest)
    size = dest.stat().st_size
    if size >= MAX_BYTES:
        dest.unlink()
        raise ValueError(f"{dest} would be {size / 2**20:.1f} MiB; shipped weights must "
                         "stay under 16 MiB")
    _, info = load_checkpoint(dest)  # the self-check: the shipped file verifies itself
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
    if after_deconv is not None:
        entry["after_deconv"] = after_deconv
    write_manifest_entry(target, entry, make_default=make_default)
    return dest


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training ship")
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--name")
    parser.add_argument("--notes", default="")
    parser.add_argument("--eval", dest="evaluation", help="JSON summary to record")
    parser.add_argument("--reexport", nargs=2, metavar=("OLD", "NEW"),
                        help="rewrite a checkpoint saved before the content checksum "
                             "existed so that it verifies itself (same tensors)")
    parser.add_argument("--after-deconv", choices=PAIRED_CHOICES, default=None,
                        help="the fast mode's measured choice after the deconvolution, for a "
                             "refiner that takes it (default: the engine's general one)")
    parser.add_argument("--keep-default", action="store_true",
                        help="add the entry but leave the manifest's default as it is")
    args = parser.parse_args(argv)
    if args.reexport:
        old, new = args.reexport
        try:
            digest = reexport_checkpoint(old, new)
            load_checkpoint(new)
        except CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"re-exported {old} -> {new} (sha256 {digest})")
        return 0
    if not args.checkpoint or not args.name:
        parser.error("give CHECKPOINT and --name, or --reexport OLD NEW")
    evaluation = json.loads(Path(args.evaluation).read_text()) if args.evaluation else None
    dest = ship(args.checkpoint, args.name, args.notes, evaluation,
                make_default=not args.keep_default, after_deconv=args.after_deconv)
    print(f"shipped {dest}")
    return 0
