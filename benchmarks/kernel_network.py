"""What the network should do after the kernel stage: measured, to pick the engine's default.

    python -m benchmarks.kernel_network [--data ../shared/data] [--photos 4] [--crop 320]
                                        [--checkpoint FILE] [--json FILE]

Protocol of :mod:`benchmarks.kernels` (Kodak crops blurred in linear light with real shake
kernels + 1 % noise, scored at the best integer shift within 12 px, 20 px border), plus the
held-out ``gopro_frameavg`` pairs. Per blurry photo, with the engine's own stage
(:func:`glow_core.kernel_stage.run_kernel_stage`, backing off like the engine):

* ``input``: the blurry photo;
* ``net(blurry)``: the network alone (``kernel_stage=False``, the path before issue 10);
* ``deconv``: the kernel stage's deconvolution alone (the network skipped);
* ``net(deconv)``: the network on the deconvolved photo (a checkpoint that takes the
  deconvolution beside the photo, v2 / v3, gets both, as in the engine);
* ``mean``: the average of ``deconv`` and ``net(deconv)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.kernels import (  # noqa: E402
    best_shift,
    blur_photo,
    centre_crop,
    heldout_gopro,
    psnr,
    read_rgb,
)
from glow_core.engine import Engine, RestoreOptions  # noqa: E402
from glow_core.kernel_stage import run_kernel_stage, takes_deconvolved  # noqa: E402

KERNELS = ("usrnet12/usrnet12_k09", "usrnet12/usrnet12_k10", "usrnet12/usrnet12_k11",
           "usrnet12/usrnet12_k12", "kair_large/k_large_1", "infwide_real/infwide_kernel_20_1")
PHOTOS = ("kodim03", "kodim08", "kodim15", "kodim21", "kodim05", "kodim23")
METHODS = ("input", "net(blurry)", "deconv", "net(deconv)", "mean")


def methods(engine: Engine, blurry: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
    """Every output of the module docstring for one blurry photo. ``net(deconv)`` is what
    the engine's network makes of the stage's deconvolution: a checkpoint trained with the
    deconvolved input gets both images (the stage's own estimate, reused as an estimate,
    so the same deconvolution), one trained without gets the deconvolution alone."""
    off = RestoreOptions(kernel_stage=False)
    stage = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                             spatially_varying=False, report=lambda f, s: None, cancel=None)
    deconv = stage.deconvolved if stage.deconvolved is not None else blurry
    if takes_deconvolved(engine.model) and stage.field is not None:
        net_deconv = engine.restore(blurry, RestoreOptions(estimate=stage.field,
                                                           after_deconv="network")).image
    else:
        net_deconv = engine.restore(deconv, off).image
    out = {"input": blurry, "net(blurry)": engine.restore(blurry, off).image,
           "deconv": deconv, "net(deconv)": net_deconv, "mean": 0.5 * (deconv + net_deconv)}
    return out, stage.info


def score(outs: dict[str, np.ndarray], sharp: np.ndarray) -> dict[str, float]:
    shift = best_shift(outs["deconv"], sharp)  # the deconvolution decides the position
    return {m: psnr(outs[m], sharp, (0, 0) if m in ("input", "net(blurry)") else shift)
            for m in METHODS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--photos", type=int, default=4)
    ap.add_argument("--crop", type=int, default=320)
    ap.add_argument("--gopro-crop", type=int, default=384)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = Engine(args.checkpoint, device="cpu")
    rows: list[dict] = []
    for name in PHOTOS[: args.photos]:
        sharp = centre_crop(read_rgb(args.data / "sharp" / "kodak24" / f"{name}.png"), args.crop)
        for kname in KERNELS:
            k = np.load(args.data / "kernels" / f"{kname}.npy").astype(np.float64)
            blurry = blur_photo(sharp, k / k.sum(), noise=0.01)
            t = time.perf_counter()
            outs, info = methods(engine, blurry)
            row = {"set": "kodak", "photo": name, "kernel": kname.split("/")[-1],
                   "confidence": info["confidence"], "backed_off": info["backed_off"],
                   "seconds": time.perf_counter() - t, **score(outs, sharp)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    for name, bpath, spath in heldout_gopro(args.data):
        blurry = centre_crop(read_rgb(bpath), args.gopro_crop)
        sharp = centre_crop(read_rgb(spath), args.gopro_crop)
        outs, info = methods(engine, blurry)
        row = {"set": "gopro", "photo": name, "confidence": info["confidence"],
               "backed_off": info["backed_off"], **score(outs, sharp)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for subset in ("kodak", "gopro"):
        sel = [r for r in rows if r["set"] == subset]
        if sel:
            summary[subset] = {m: round(float(np.mean([r[m] for r in sel])), 3) for m in METHODS}
            summary[subset]["n"] = len(sel)
    print(json.dumps({"summary": summary}), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
