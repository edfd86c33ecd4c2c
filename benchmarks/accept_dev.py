"""Dev data for the acceptance test (glow_core.kernel.accept): per case, the blind
estimate, its deconvolution and every acceptance feature, with the PSNR gain.

    python benchmarks/accept_dev.py --out DIR [--limit 4] [--crop 256] [--kernels k09,..]
                                    [--gopro] [--gopro-crop 384] [--threads 1]

Writes DIR/<case>.json (features, confidence, PSNR floor / blind at the best shift) and
DIR/<case>.npz (blurry, deconvolved, sharp as float16) so rules and blend strengths can
be evaluated offline (``--evaluate DIR``).
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
    KERNELS,
    best_shift,
    blur_photo,
    centre_crop,
    heldout_gopro,
    psnr,
    read_rgb,
)
from glow_core.kernel.accept import deconvolution_checks, region_consistency  # noqa: E402
from glow_core.kernel.deconvolve import deconvolve  # noqa: E402
from glow_core.kernel.estimate import estimate_kernel, kernel_similarity  # noqa: E402
from glow_core.kernel.noise import estimate_noise  # noqa: E402


def one(name: str, blurry: np.ndarray, sharp: np.ndarray, truth: np.ndarray | None,
        out: Path) -> None:
    if (out / f"{name}.json").exists():
        return
    t = time.perf_counter()
    est = estimate_kernel(blurry)
    sigma = float(estimate_noise(blurry))
    dec = deconvolve(blurry, est.kernel, noise_sigma=sigma)
    feats = deconvolution_checks(blurry, dec, est.kernel, sigma)
    cons = region_consistency(blurry, est.kernel)
    shift = best_shift(dec, sharp)
    rec = {"name": name, "confidence": est.confidence, "size": est.size, "noise": sigma,
           "floor": psnr(blurry, sharp), "blind": psnr(dec, sharp, shift), "shift": shift,
           "features": feats, "cons_sims": cons["sims"], "cons_pair": cons["pair"],
           "cons_min": cons["min"],
           "true_sim": (kernel_similarity(truth.astype(np.float64), est.kernel.astype(np.float64))
                        if truth is not None else None),
           "seconds": time.perf_counter() - t}
    np.savez_compressed(out / f"{name}.npz", blurry=blurry.astype(np.float16),
                        dec=dec.astype(np.float16), sharp=sharp.astype(np.float16))
    (out / f"{name}.json").write_text(json.dumps(rec))
    print(f"{name}: conf={est.confidence:.2f} floor={rec['floor']:.2f} "
          f"blind={rec['blind']:.2f} cons={cons['min']:.2f} "
          f"feats={ {k: round(v, 2) for k, v in feats.items()} } {rec['seconds']:.0f}s",
          flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--kernels", default=None)
    ap.add_argument("--gopro", action="store_true")
    ap.add_argument("--gopro-crop", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.gopro:
        for name, bp, sp in heldout_gopro(args.data)[args.first:args.first + args.limit]:
            b, s = read_rgb(bp), read_rgb(sp)
            b, s = centre_crop(b, args.gopro_crop), centre_crop(s, args.gopro_crop)
            one("gopro_" + name.split("_")[0], b, s, None, args.out)
        return 0
    files = sorted((args.data / "sharp" / "kodak24").glob("*.png"))
    files = files[args.first:args.first + args.limit]
    chosen = KERNELS
    if args.kernels:
        want = args.kernels.split(",")
        chosen = tuple(k for k in KERNELS if k.split("/")[-1] in want)
    for ki, kname in enumerate(KERNELS):
        if kname not in chosen:
            continue
        k = np.load(args.data / "kernels" / f"{kname}.npy").astype(np.float32)
        for ii, f in enumerate(files):
            sharp = centre_crop(read_rgb(f), args.crop)
            blurry = blur_photo(sharp, k, 0.01, seed=1000 * ki + ii + args.first)
            one(f"{kname.split('/')[-1]}_{f.stem}", blurry, sharp, k, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
