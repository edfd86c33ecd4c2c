"""Does the acceptance test keep correct deconvolutions of JPEG photos? (and still refuse
wrong ones).

    python benchmarks/accept_jpeg.py --out DIR [--photos 01,05,13,19,23] [--crop 500]
                                     [--kernels usrnet12_k10] [--noises 0,0.003,0.01]
                                     [--formats png,95,85,75] [--threads 1]
    python benchmarks/accept_jpeg.py --out DIR --table [--photos ...]

Why: real users' photos are almost all JPEGs. The codec's quantisation adds error to the
blurry photo (blocking, ringing, chroma subsampling) that no deconvolution can re-blur
back, so the acceptance's re-blur residual grows, while the noise estimate (flat pixels,
where JPEG smooths) does not count it: a correct kernel on a clean JPEG was refused where
the same PNG gained ~4 dB.

Protocol (``benchmarks/kernels.py``'s): a Kodak photo's centre crop blurred in linear light
with a measured real kernel, + Gaussian noise, 8 bits; then saved through PIL as JPEG at
each quality (libjpeg's default 4:2:0 chroma) or kept as PNG (the reference), decoded, and
run through :func:`run_kernel_stage` as the engine runs it (blind, default options). Per
case: input PSNR, the stage's output PSNR (best integer shift, as blind results are scored),
its strength and the acceptance's features, and the deconvolution alone (strength forced to
1): a refusal was wrong when that beat the input. Also the codec's true error (rms of the
grey JPEG minus the grey PNG) and the blind codec estimate the acceptance uses
(:func:`glow_core.kernel.noise.estimate_codec_noise`), to calibrate one against the other.

One JSON line per case in DIR/cases.jsonl (resumable), and DIR/<case>.npz (blurry,
deconvolved, sharp as float16) so other floors can be evaluated offline.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.kernels import KERNELS, best_shift, centre_crop, psnr, read_rgb  # noqa: E402
from training.blur.protocol import blur_photo  # noqa: E402

TUNE = ("01", "05", "13", "19", "23")
HELDOUT = ("02", "06", "15", "20", "21")


def encode(img: np.ndarray, fmt: str) -> np.ndarray:
    """``img`` (8-bit valued float) through PIL: "png" as is, else JPEG at that quality."""
    from PIL import Image

    u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    if fmt == "png":
        return u8.astype(np.float32) / 255.0
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, "JPEG", quality=int(fmt))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


class _Recorder:
    """Wraps ``glow_core.kernel.field.blend`` to keep the unblended deconvolution (the
    stage blends inside :func:`deconvolve_field`; strength 1 is that deconvolution)."""

    def __init__(self) -> None:
        import glow_core.kernel.field as fieldmod

        self.mod = fieldmod
        self.orig = fieldmod.blend
        self.last: np.ndarray | None = None
        fieldmod.blend = self

    def __call__(self, blurry: np.ndarray, deconvolved: np.ndarray, strength: float):
        self.last = np.asarray(deconvolved, np.float32)
        return self.orig(blurry, deconvolved, strength)


def grey(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float64)[..., :3].mean(axis=2)


def wrong_kernel(blurry: np.ndarray, sharp: np.ndarray, kernel: np.ndarray) -> dict:
    """The acceptance of a confidently wrong kernel (the true one turned 90 degrees, the
    perpendicular shake) on the same photo: it must still be refused."""
    from types import SimpleNamespace

    from glow_core.kernel.accept import accept, blend
    from glow_core.kernel.deconvolve import deconvolve

    wrong = np.ascontiguousarray(np.rot90(kernel))
    dec = deconvolve(blurry, wrong)
    acc = accept(blurry, dec, SimpleNamespace(kernel=wrong, confidence=0.9), None)
    out = blend(blurry, dec, acc.strength)
    return {"strength": float(acc.strength), "score": float(acc.score),
            "dec": psnr(dec, sharp, best_shift(dec, sharp)),
            "output": psnr(out, sharp, best_shift(out, sharp)),
            "features": {k: v for k, v in acc.features.items() if k != "parts"}}


def run_case(name: str, blurry: np.ndarray, png: np.ndarray, sharp: np.ndarray,
             rec: _Recorder, out: Path, kernel: np.ndarray | None = None) -> dict:
    from glow_core.kernel.noise import estimate_codec_noise, estimate_noise
    from glow_core.kernel_stage import run_kernel_stage

    t = time.perf_counter()
    rec.last = None
    st = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                          spatially_varying=False, report=lambda f, s: None, cancel=None)
    seconds = time.perf_counter() - t
    output = blurry if st.deconvolved is None else st.deconvolved
    dec = rec.last
    acc = None if st.field is None else st.field.acceptance
    feats = {} if acc is None else {k: v for k, v in acc.features.items() if k != "parts"}
    row = {"name": name, "input": psnr(blurry, sharp),
           "input_shifted": psnr(blurry, sharp, best_shift(blurry, sharp)),
           "output": psnr(output, sharp, best_shift(output, sharp)),
           "strength": 0.0 if st.deconvolved is None else
           (1.0 if acc is None else float(acc.strength)),
           "score": None if acc is None else float(acc.score),
           "reasons": [] if acc is None else list(acc.reasons),
           "confidence": st.info.get("confidence"), "note": st.info.get("note", ""),
           "features": feats,
           "noise": float(estimate_noise(blurry)),
           "codec_true": float(np.sqrt(np.mean((grey(blurry) - grey(png)) ** 2))),
           "codec_est": float(estimate_codec_noise(blurry)),
           "seconds": seconds}
    if kernel is not None:
        row["wrong"] = wrong_kernel(blurry, sharp, kernel)
    if dec is not None:
        row["dec"] = psnr(dec, sharp, best_shift(dec, sharp))
        np.savez_compressed(out / f"{name}.npz", blurry=blurry.astype(np.float16),
                            dec=dec.astype(np.float16), sharp=sharp.astype(np.float16))
    return row


def table(rows: list[dict], photos: tuple[str, ...]) -> str:
    """Markdown: one line per case of ``photos``, then the means per format."""
    lines = ["| case | input | output | strength | deconv alone | residual | overshoot | "
             "edge res. | noise | codec (true / est.) |", "|" + "---|" * 10]
    sel = [r for r in rows if r["name"].split("_")[0] in photos]
    for r in sel:
        f = r["features"]
        lines.append(
            f"| {r['name']} | {r['input']:.2f} | {r['output']:.2f} | {r['strength']:.2f} | "
            f"{r.get('dec', float('nan')):.2f} | {f.get('residual', float('nan')):.2f} | "
            f"{f.get('overshoot', float('nan')):.2f} | "
            f"{f.get('edge_residual', float('nan')):.2f} | {100 * r['noise']:.2f} % | "
            f"{100 * r['codec_true']:.2f} / {100 * r['codec_est']:.2f} % |")
    lines += ["", "| format | noise | n | input | output | deconv alone | kept | "
              "wrong refusals (deconv > input + 0.5) | wrong keeps (output < input) | "
              "90-degree kernel kept |", "|" + "---|" * 10]
    keys = sorted({(r["name"].split("_")[-1], r["name"].split("_")[-2]) for r in sel})
    for fmt, noise in keys:
        g = [r for r in sel if r["name"].endswith(f"_{noise}_{fmt}")]
        dec = [r.get("dec", r["input"]) for r in g]
        kept = sum(r["strength"] > 0 for r in g)
        # Against the input at its own best shift (the outputs are scored at theirs).
        wrong_ref = sum(r["strength"] == 0 and r.get("dec", -1e9) > r["input_shifted"] + 0.5
                        for r in g)
        wrong_keep = sum(r["output"] < r["input_shifted"] - 0.05 for r in g)
        lines.append(f"| {fmt} | {noise} | {len(g)} | "
                     f"{np.mean([r['input'] for r in g]):.2f} | "
                     f"{np.mean([r['output'] for r in g]):.2f} | {np.mean(dec):.2f} | "
                     f"{kept} | {wrong_ref} | {wrong_keep} | "
                     f"{sum(r['wrong']['strength'] > 0 for r in g if 'wrong' in r)} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--photos", default=",".join(TUNE))
    ap.add_argument("--crop", type=int, default=500)
    ap.add_argument("--kernels", default="usrnet12_k10")
    ap.add_argument("--noises", default="0,0.003,0.01")
    ap.add_argument("--formats", default="png,95,85,75")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wrong", action="store_true",
                    help="also check the true kernel turned 90 degrees (must be refused)")
    ap.add_argument("--gopro", action="store_true",
                    help="the held-out GoPro real-blur pairs (whole frames, PNG) instead")
    ap.add_argument("--table", action="store_true", help="print the table of DIR only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "cases.jsonl"
    rows = [json.loads(s) for s in log.read_text().splitlines()] if log.exists() else []
    photos = tuple(args.photos.split(","))
    if args.table:
        print(table(rows, photos))
        return 0
    done = {r["name"] for r in rows}
    rec = _Recorder()
    if args.gopro:
        from benchmarks.kernels import heldout_gopro

        for name, bpath, spath in heldout_gopro(args.data):
            gname = "gopro_" + name.split("_")[0]
            if gname not in done:
                row = run_case(gname, read_rgb(bpath), read_rgb(bpath), read_rgb(spath),
                               rec, args.out)
                with log.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                rows.append(row)
        for r in rows:
            f = r["features"]
            print(f"{r['name']}: in={r['input']:.2f} out={r['output']:.2f} "
                  f"s={r['strength']:.2f} dec={r.get('dec', float('nan')):.2f} "
                  f"res={f.get('residual', float('nan')):.2f} "
                  f"ov={f.get('overshoot', float('nan')):.2f} "
                  f"edge={f.get('edge_residual', float('nan')):.2f} "
                  f"noise={r['noise']:.4f} codec est={r['codec_est']:.4f} {r['reasons']}")
        return 0
    for kname in args.kernels.split(","):
        kpath = next(k for k in KERNELS if k.endswith(kname))
        k = np.load(args.data / "kernels" / f"{kpath}.npy").astype(np.float32)
        for p in photos:
            sharp = centre_crop(read_rgb(args.data / "sharp" / "kodak24" / f"kodim{p}.png"),
                                args.crop)
            for noise in (float(v) for v in args.noises.split(",")):
                seed = 7000 + int(p) + int(1e4 * noise)
                png = blur_photo(sharp, k, noise, seed=seed)
                for fmt in args.formats.split(","):
                    name = f"{p}_{kname}_{noise:g}_{fmt}"
                    if name in done:
                        continue
                    row = run_case(name, encode(png, fmt), png, sharp, rec, args.out,
                                   k if args.wrong else None)
                    with log.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    rows.append(row)
                    f = row["features"]
                    print(f"{name}: in={row['input']:.2f} out={row['output']:.2f} "
                          f"s={row['strength']:.2f} dec={row.get('dec', float('nan')):.2f} "
                          f"res={f.get('residual', float('nan')):.2f} "
                          f"ov={f.get('overshoot', float('nan')):.2f} "
                          f"edge={f.get('edge_residual', float('nan')):.2f} "
                          f"noise={row['noise']:.4f} codec={row['codec_true']:.4f}/"
                          f"{row['codec_est']:.4f} {row['seconds']:.0f}s", flush=True)
                    if "wrong" in row:
                        w = row["wrong"]
                        print(f"  wrong kernel: s={w['strength']:.2f} out={w['output']:.2f} "
                              f"dec={w['dec']:.2f} res={w['features']['residual']:.2f} "
                              f"ov={w['features']['overshoot']:.2f} "
                              f"edge={w['features']['edge_residual']:.2f}", flush=True)
    print(table(rows, photos))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
