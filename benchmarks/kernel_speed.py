"""Seconds per megapixel and peak memory of the deconvolution, the kernel stage and the fast path.

    python -m benchmarks.kernel_speed [--data ../shared/data] [--sizes 1 4 12]
                                      [--parts deconv stage fast estimate]
                                      [--tie-break] [--repeats 3]
                                      [--threads 2] [--photo sharp/...] [--jpeg Q]
                                      [--reference] [--markdown FILE]

The photo: DIV2K 0803 (``sharp/div2k_valid6``; ``--photo`` names another under the data
folder), mirror-tiled to the size (so the detail stays native, not upsampled), blurred
in linear light with the measured Levin kernel ``usrnet12_k10`` (25 px) + 1 % noise,
8-bit (the protocol of ``benchmarks/kernels.py``). ``--jpeg Q`` saves it as a JPEG of
quality Q with 4:2:0 colour, as cameras and phones write photos, and reads it back
(:func:`glow_core.imageio.read_image`): the stage then knows the file kept its colour at
half resolution. Each row says whether the photo's chroma was solved at half resolution
(``chroma_detail`` at most ``DeconvConfig.chroma_half_max_detail``, or a 4:2:0 JPEG) or in
full.

* **deconv**: :func:`glow_core.kernel.deconvolve` given the true kernel (what the stage
  does with a user's kernel), sRGB in and out, noise estimated;
* **stage**: :func:`glow_core.kernel_stage.run_kernel_stage` blind (kernel estimation,
  acceptance, deconvolution of the photo), as the engine runs it (scene priors from the
  photo itself, no caption);
* **fast**: the whole fast path a user gets, ``Engine.restore`` in fast mode with the
  shipped default weights (kernel stage, then the network over its tiles); the row
  notes the engine's own split (``info["timings"]``: kernel stage / network);
* **estimate**: :func:`glow_core.kernel.estimate_kernel` alone with a 31 px kernel size
  given (issue 10's goal: 5 s at 1 MP on 2 cores); the row adds the automatic size's
  median and how many of the estimator's starts ran (a third, the tie-break, only when
  the first two disagree: ``--tie-break`` forces it, for its cost).

Each (size, part) runs in a fresh subprocess, so its peak resident memory (``ru_maxrss``)
is its own (the blurry photo is made in a helper process, and each run's result is let go
before the next); "working" is that peak minus the resident size just before the timed
calls (the blurry photo and the loaded model in memory). Times are the median of
``--repeats`` runs in that process, wall and CPU (process time, all threads). **The
machine may be shared**: wall times then vary by 2x and more between runs; CPU seconds
vary less. ``--reference`` swaps in the solver as first written
(``glow_core.kernel._deconv_reference``), its odd FFT sizes, 1024 px tiles and 8
continuation levels: the deconvolution before the speed-up, for a before / after on the
same machine (deconv part only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PHOTO = "sharp/div2k_valid6/0803.png"
KERNEL = "kernels/usrnet12/usrnet12_k10.npy"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def photo_of_size(sharp, megapixels: float):
    """``sharp`` mirror-tiled to about ``megapixels`` at 4:3 (reflect, no seams)."""
    import numpy as np

    w = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    h = int(round(w * 3 / 4))
    reps = (-(-h // sharp.shape[0]), -(-w // sharp.shape[1]))
    rows = [np.concatenate([sharp if j % 2 == 0 else sharp[:, ::-1] for j in range(reps[1])],
                           axis=1) for _ in range(reps[0])]
    tiles = [r if i % 2 == 0 else r[::-1] for i, r in enumerate(rows)]
    return np.ascontiguousarray(np.concatenate(tiles, axis=0)[:h, :w])


def shaken_photo(data: Path, photo: str, megapixels: float):
    """The benchmark's blurry photo: ``photo`` at the size, shaken with ``KERNEL`` + 1 %
    noise (the protocol of ``benchmarks/kernels.py``)."""
    import numpy as np
    from PIL import Image

    from training.blur.protocol import blur_photo

    with Image.open(data / photo) as im:
        sharp = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return blur_photo(photo_of_size(sharp, megapixels), np.load(data / KERNEL), 0.01, seed=0)


def shaken_jpeg(data: Path, photo: str, megapixels: float, quality: int, path: Path) -> None:
    """:func:`shaken_photo` saved to ``path`` as a JPEG with 4:2:0 colour."""
    import numpy as np
    from PIL import Image

    pixels = np.clip(shaken_photo(data, photo, megapixels) * 255 + 0.5, 0, 255)
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=quality, subsampling=2)


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    before = None
    if args.reference:
        from glow_core.kernel.config import DeconvConfig

        # The defaults before the speed-up: 1024 px tiles, 8 levels (1 x 2 sqrt 2).
        before = DeconvConfig(tile=1024, beta_start=1.0, beta_rate=2.0 * math.sqrt(2.0))
        import importlib

        from glow_core.kernel import _deconv_reference, fft

        dmod = importlib.import_module("glow_core.kernel.deconvolve")
        dmod._solve = _deconv_reference.solve_reference
        plain = fft.fast_size
        fft.fast_size = lambda n, even=False: plain(n)
    from glow_core.kernel import deconvolve
    from glow_core.kernel_stage import run_kernel_stage

    engine = None
    if args.part == "fast":
        from glow_core.engine import Engine, RestoreOptions
        from glow_core.resources import default_checkpoint

        engine = Engine(default_checkpoint(), device="cpu")

    # The blur simulation (float64 FFTs, ~2.1 GB at 12 MP) runs in a process of its own,
    # so the peak measured here is the restoration's, not the test photo's making.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    image = None  # the photo as read from a file (--jpeg), with what the file says
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        if args.jpeg:
            import tempfile

            from glow_core.imageio import read_image

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "shaken.jpg"
                pool.submit(shaken_jpeg, args.data, args.photo, args.mp, args.jpeg,
                            path).result()
                image = read_image(path)
            blurry = image.pixels
        else:
            blurry = pool.submit(shaken_photo, args.data, args.photo, args.mp).result()
    subsampled = bool(image is not None and image.chroma_subsampled)
    kernel = np.load(args.data / KERNEL)
    from glow_core.kernel.config import DeconvConfig
    from glow_core.kernel.deconvolve import chroma_choice, chroma_detail
    from glow_core.kernel.linear import srgb_to_linear

    lin = srgb_to_linear(blurry)
    detail = chroma_detail(lin)  # the half-resolution chroma's test, as the row reports it
    # the deconvolution's own choice, not a copy of its rule
    half = chroma_choice(lin, DeconvConfig(chroma_stored_half=subsampled)).chroma_half_resolution
    chroma = ("half" if half else "full") + (", 4:2:0 JPEG" if subsampled else "")
    del lin
    h, w = blurry.shape[:2]
    baseline = _rss_bytes()
    walls, cpus, info = [], [], {}
    if args.part == "estimate":
        walls, cpus, info = _time_estimates(blurry, args)
    for _ in range(args.repeats if args.part != "estimate" else 0):
        res = None
        t, c = time.perf_counter(), time.process_time()
        if args.part == "deconv":
            config = before or DeconvConfig()
            out = deconvolve(blurry, kernel, replace(config, chroma_stored_half=subsampled))
        elif engine is not None:
            res = engine.restore(image if image is not None else blurry,
                                 RestoreOptions(mode="fast"))
            out = res.image
            timings = res.info.get("timings", {})
            info = {"kernel_px": res.info.get("kernel", {}).get("size"),
                    "stage_s": round(float(res.info.get("kernel", {}).get("seconds", 0)), 3),
                    "network_s": round(float(timings.get("network", 0.0)), 3)}
        else:
            res = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                                   spatially_varying=False, report=lambda f, s: None,
                                   cancel=None, chroma_subsampled=subsampled)
            out = res.deconvolved
            info = {"backed_off": res.backed_off, "kernel_px": res.info.get("size"),
                    "strength": res.info.get("acceptance", {}).get("strength"),
                    "priors": res.info.get("priors", {}).get("notes")}
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        del out, res  # the next run must not count this one's result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mp = h * w / 1e6
    print(json.dumps({
        "part": args.part, "mp": mp, "size": f"{w}x{h}", "threads": args.threads,
        "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
        "walls": [round(v, 2) for v in walls], "wall_s_per_mp": statistics.median(walls) / mp,
        "cpu_s_per_mp": statistics.median(cpus) / mp, "peak_mb": peak / 2**20,
        "chroma": f"{chroma} ({detail:.2f})",
        "working_mb": max(0, peak - baseline) / 2**20, **info}))


def _time_estimates(blurry, args: argparse.Namespace) -> tuple[list[float], list[float], dict]:
    """The kernel estimate timed with a 31 px size given (the goal's case) and automatic."""
    from glow_core.kernel import KernelConfig, estimate_kernel

    config = KernelConfig(start_consensus=2.0) if args.tie_break else KernelConfig()
    estimate_kernel(blurry[:256, :256], KernelConfig(extra_starts=()))  # warm-up
    times: dict[int | None, tuple[list[float], list[float]]] = {31: ([], []), None: ([], [])}
    starts: dict[int | None, int] = {}
    for _ in range(args.repeats):
        for size, (walls, cpus) in times.items():
            t, c = time.perf_counter(), time.process_time()
            est = estimate_kernel(blurry, config, kernel_size=size)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            starts[size] = len(est.info.get("starts", [None]))
    info = {"auto_s": round(statistics.median(times[None][0]), 2),
            "starts": starts[31], "auto_starts": starts[None]}
    return times[31][0], times[31][1], info


def _row_note(r: dict) -> str:
    """What a row's part adds to its label."""
    if r["part"] == "deconv":
        return ""
    if r["part"] == "fast":
        return (f" (kernel {r.get('kernel_px')} px, stage {r.get('stage_s', 0):.1f} s, "
                f"network {r.get('network_s', 0):.1f} s)")
    if r["part"] == "estimate":
        return (f" (31 px given, {r.get('starts')} starts; automatic {r.get('auto_s')} s, "
                f"{r.get('auto_starts')} starts)")
    return f" (kernel {r.get('kernel_px')} px, strength {r.get('strength')})"


def table(rows: list[dict]) -> str:
    lines = ["| part | photo | chroma solve (detail) | MP | wall (s, median) | wall s/MP "
             "| CPU s/MP | peak RSS (MB) | working (MB) | runs (wall s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['part']}{_row_note(r)} | {r['size']} | {r.get('chroma', '')} | "
                     f"{r['mp']:.1f} | {r['wall_s']:.1f} | "
                     f"{r['wall_s_per_mp']:.2f} | {r['cpu_s_per_mp']:.2f} | {r['peak_mb']:.0f} | "
                     f"{r['working_mb']:.0f} | {', '.join(str(v) for v in r['walls'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--sizes", type=float, nargs="+", default=[1.0, 4.0, 12.0])
    ap.add_argument("--parts", nargs="+", choices=("deconv", "stage", "fast", "estimate"),
                    default=["deconv", "stage"])
    ap.add_argument("--tie-break", action="store_true",
                    help="estimate part: always run the third start (its cost)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference", action="store_true",
                    help="the solver as first written (before the speed-up)")
    ap.add_argument("--photo", default=PHOTO,
                    help="the sharp photo, relative to --data (default: %(default)s)")
    ap.add_argument("--jpeg", type=int, default=None, metavar="Q",
                    help="the shaken photo as a 4:2:0 JPEG of quality Q, read back")
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mp", type=float, default=1.0, help=argparse.SUPPRESS)
    ap.add_argument("--part", default="deconv", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if not (args.data / args.photo).is_file():
        ap.error(f"no photo {args.data / args.photo}")
    rows = []
    for mp in args.sizes:
        for part in args.parts:
            cmd = [sys.executable, "-m", "benchmarks.kernel_speed", "--child", "--mp", str(mp),
                   "--part", part, "--repeats", str(args.repeats), "--threads",
                   str(args.threads), "--data", str(args.data), "--photo", args.photo]
            if args.reference:
                cmd.append("--reference")
            if args.tie_break:
                cmd.append("--tie-break")
            if args.jpeg:
                cmd += ["--jpeg", str(args.jpeg)]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return proc.returncode
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    md = table(rows)
    print(md)
    if args.markdown:
        args.markdown.write_text(md + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
