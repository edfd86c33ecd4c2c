"""Soak test: one long batch, resident memory sampled throughout; does it grow?

    python benchmarks/soak.py [--photos 300] [--size 96] [--checkpoint FILE]
                              [--mode fast] [--device cpu] [--json FILE]

Generates ``--photos`` small photos (alternating JPEG/PNG, a few sizes so the tiler and
allocator see variety), restores them in ONE batch through the same code the CLI runs
(:func:`glow_core.batch.plan_batch` / :func:`run_batch` around one :class:`Engine`,
default: the shipped weights), and samples the process's resident memory (VmRSS) every
50 ms from a thread, plus after every photo. Reported: peak RSS (VmHWM), RSS after the
first and the last tenth of the photos, and the slope of a least-squares line through
RSS-after-each-photo over the photos after a 10 % warm-up, in MiB per 100 photos. A
batch that leaks grows linearly; a flat batch has a slope near 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def make_photos(folder: Path, count: int, size: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        h, w = size + 8 * (i % 3), size + 8 * (i % 4)
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.dstack([xx * 255 / w, yy * 255 / h, (xx + yy) % 64 * 4])
        pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{i:04d}.{'jpg' if i % 2 else 'png'}")


def slope_per_100(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    x = np.arange(len(values), dtype=np.float64)
    return float(np.polyfit(x, np.asarray(values, dtype=np.float64), 1)[0] * 100)


def run(photos: int, size: int, checkpoint: str | None, mode: str, device: str) -> dict:
    from glow_core.batch import BatchSettings, plan_batch, run_batch
    from glow_core.engine import Engine, RestoreOptions

    with tempfile.TemporaryDirectory(prefix="glow-soak-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        make_photos(src, photos, size)
        engine = Engine(checkpoint, device=device, precision="fp32")
        options = RestoreOptions(mode=mode)
        plan = plan_batch([src], BatchSettings(out_dir=out, format="png"))
        after_each: list[float] = []
        samples: list[float] = []
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                samples.append(_status_kib("VmRSS") / 1024)
                stop.wait(0.05)

        thread = threading.Thread(target=sampler, daemon=True)
        rss_start = _status_kib("VmRSS") / 1024
        start = time.perf_counter()
        thread.start()
        summary = run_batch(plan, lambda image: engine.restore(image, options).image,
                            on_item=lambda item: after_each.append(
                                _status_kib("VmRSS") / 1024))
        seconds = time.perf_counter() - start
        stop.set()
        thread.join()
    warm = max(1, len(after_each) // 10)
    tenth = max(1, len(after_each) // 10)
    return {
        "photos": photos, "size": size, "mode": mode, "device": str(engine.device),
        "checkpoint": str(engine.info.path.name),
        "done": len(summary.done), "failed": len(summary.failed),
        "seconds": round(seconds, 1),
        "rss_before_batch_mib": round(rss_start, 1),
        "rss_first_tenth_mib": round(float(np.mean(after_each[:tenth])), 1),
        "rss_last_tenth_mib": round(float(np.mean(after_each[-tenth:])), 1),
        "peak_rss_mib": round(_status_kib("VmHWM") / 1024, 1),
        "peak_sampled_mib": round(max(samples, default=0.0), 1),
        "slope_mib_per_100_photos": round(slope_per_100(after_each[warm:]), 2),
        "samples": len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--checkpoint", default=None, help="default: the shipped weights")
    parser.add_argument("--mode", default="fast", choices=("fast", "full"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    result = run(args.photos, args.size, args.checkpoint, args.mode, args.device)
    for key, value in result.items():
        print(f"{key:28s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
