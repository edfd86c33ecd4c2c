"""Time and peak memory of the fast and full paths at several photo sizes.

    python benchmarks/speed.py [--sizes 0.25 1 4 12] [--modes fast full] [--steps 4]
                               [--preset small] [--device cpu] [--markdown FILE]

Each measurement runs in a fresh subprocess, so its peak resident memory (ru_maxrss) is
its own; "working" memory is that peak minus the process's size just before `restore`
(model loaded, photo in memory). Speed does not depend on the weights' values, so the
benchmark builds a checkpoint of the chosen preset with random weights and marks every
part trained, which lets the full path run whatever weights are installed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from glow_core.engine import Engine, RestoreOptions

    torch.set_num_threads(args.threads)
    side_w = int(math.sqrt(args.mp * 1e6 * 4 / 3))
    side_h = int(side_w * 3 / 4)
    rng = np.random.default_rng(0)
    img = rng.random((side_h, side_w, 3), dtype=np.float32)
    engine = Engine(args.checkpoint, device=args.device, precision=args.precision)
    options = RestoreOptions(mode=args.mode, steps=args.steps, seed=0,
                             caption="a photo" if args.mode == "full" else "")
    if args.mode == "full":  # load the caption encoder before measuring
        engine._caption_tokens(options.caption)
    baseline = _rss_bytes()
    start = time.perf_counter()
    result = engine.restore(img, options)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "mp": side_h * side_w / 1e6, "size": f"{side_w}x{side_h}", "mode": args.mode,
        "seconds": seconds, "peak_mb": peak / 2**20,
        "working_mb": max(0, peak - baseline) / 2**20, "tile": result.tile,
        "tiles": result.tiles,
        "untiled_activations_mb": engine.bytes_per_pixel(args.mode) * side_h * side_w / 2**20,
    }))


def make_checkpoint(preset_name: str, folder: Path) -> Path:
    import torch

    from glow_core.checkpoint import save_checkpoint
    from glow_core.config import preset
    from glow_core.models import PARTS, GlowDeblur

    torch.manual_seed(0)
    path = folder / f"bench-{preset_name}.safetensors"
    save_checkpoint(path, GlowDeblur(preset(preset_name)), stages=list(PARTS))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 1, 4, 12])
    parser.add_argument("--modes", nargs="+", default=["fast", "full"])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mp", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = make_checkpoint(args.preset, Path(tmp))
        for mp in args.sizes:
            for mode in args.modes:
                cmd = [sys.executable, __file__, "--child", "--mp", str(mp), "--mode", mode,
                       "--checkpoint", str(ckpt), "--steps", str(args.steps), "--device",
                       args.device, "--precision", args.precision, "--threads",
                       str(args.threads)]
                env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
                out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
                if out.returncode != 0:
                    print(out.stderr[-2000:], file=sys.stderr)
                    return 1
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"  {row['size']:>11} {mode:<4} {row['seconds']:7.1f} s "
                      f"peak {row['peak_mb']:7.0f} MB", flush=True)
    import torch

    header = (f"Preset `{args.preset}`, device `{args.device}` ({args.threads} threads, "
              f"torch {torch.__version__}), full path = {args.steps} Euler steps.\n\n"
              "| photo | MP | mode | time (s) | s/MP | peak RSS (MB) | working (MB) "
              "| untiled activations (MB) | tile | tiles |\n"
              "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = [f"| {r['size']} | {r['mp']:.2f} | {r['mode']} | {r['seconds']:.1f} | "
             f"{r['seconds'] / r['mp']:.1f} | {r['peak_mb']:.0f} | {r['working_mb']:.0f} | "
             f"{r['untiled_activations_mb']:.0f} | {r['tile']} | {r['tiles']} |" for r in rows]
    table = header + "\n".join(lines) + "\n"
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
