"""What the engine does to photos that are not blurry: it should leave them alone.

    python -m benchmarks.sharp_photos [--data ../shared/data] [--crop 512] [--noise 0.01]
                                      [--checkpoint FILE] [--jobs 2] [--json FILE]

A folder run meets sharp photos as often as shaken ones, and a deblurrer that softens a
sharp photo is worse than none. Per photo this runs the whole engine as the app does (fast
mode, the kernel stage on, the default checkpoint or ``--checkpoint``) on:

* the 24 Kodak photos' centre crops, as they are (``clean``) and with Gaussian noise of
  ``--noise`` in sRGB, 8 bits (``noisy``: a sharp high-ISO photo; scored against the clean
  photo, so removing the noise counts as a gain);
* the centre crops of the ``gopro_frameavg`` sharp references (``gopro sharp``: a real
  camera's sharp frames, compressed and demosaiced).

Reported per set: the input's and the output's PSNR / SSIM against the sharp photo (no
shift: nothing here moves), the worst output, and how often the kernel stage deconvolved
(it should refuse: there is no blur to undo). A clean input scores infinite PSNR against
itself, so for ``clean`` and ``gopro sharp`` the output's PSNR is the whole story: above
~40 dB no one sees a change.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from benchmarks._runner import photo_parser, process_engine, run_rows, run_threaded  # noqa: E402
from benchmarks.kernels import centre_crop, psnr, read_rgb, ssim  # noqa: E402

SETS = ("clean", "noisy", "gopro sharp")
#: An input at or above this PSNR is the sharp photo itself (``psnr`` caps an exact match
#: at 120 dB); its score says nothing and is left out of the input's mean.
ITSELF_DB = 100.0


def add_noise(photo: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Gaussian noise of ``sigma`` (sRGB units), quantised to 8 bits like a saved photo."""
    rng = np.random.default_rng(seed)
    noisy = np.clip(photo + rng.normal(0.0, sigma, photo.shape), 0.0, 1.0)
    return (np.round(noisy * 255.0) / 255.0).astype(np.float32)


def cases(data: Path, noise: float) -> list[tuple[str, str, Path, float, int]]:
    """(set, name, photo, noise, seed) of every photo measured."""
    kodak = sorted((data / "sharp" / "kodak24").glob("*.png"))
    out = [("clean", p.stem, p, 0.0, 0) for p in kodak]
    out += [("noisy", p.stem, p, noise, i) for i, p in enumerate(kodak)]
    gopro = sorted((data / "pairs" / "gopro_frameavg" / "sharp").glob("*.png"))
    out += [("gopro sharp", p.stem, p, 0.0, 0) for p in gopro]
    return out


def run_case(which: str, name: str, path: Path, noise: float, seed: int, crop: int,
             checkpoint: str | None) -> dict:
    """The engine on one sharp photo (with noise when asked), scored against it."""
    from glow_core.engine import RestoreOptions

    sharp = centre_crop(read_rgb(path), crop)
    photo = add_noise(sharp, noise, seed) if noise > 0 else sharp
    result = process_engine(checkpoint).restore(photo, RestoreOptions())
    kernel = result.info.get("kernel", {})
    return {"set": which, "name": name, "noise": noise,
            "input_psnr": psnr(photo, sharp), "input_ssim": ssim(photo, sharp),
            "output_psnr": psnr(result.image, sharp), "output_ssim": ssim(result.image, sharp),
            "deconvolved": not kernel.get("backed_off", True)}


def summarise(rows: list[dict]) -> dict:
    """Means per set (the input's PSNR over the noisy inputs only: a clean one is the photo
    itself)."""
    out = {}
    for which in SETS:
        sel = [r for r in rows if r["set"] == which]
        if not sel:
            continue
        inp = [r["input_psnr"] for r in sel if r["input_psnr"] < ITSELF_DB]
        out[which] = {
            "n": len(sel),
            "input_psnr": float(np.mean(inp)) if inp else float("inf"),
            "input_ssim": float(np.mean([r["input_ssim"] for r in sel])),
            "output_psnr": float(np.mean([r["output_psnr"] for r in sel])),
            "output_ssim": float(np.mean([r["output_ssim"] for r in sel])),
            "worst_psnr": float(min(r["output_psnr"] for r in sel)),
            "worst": min(sel, key=lambda r: r["output_psnr"])["name"],
            "deconvolved": int(sum(r["deconvolved"] for r in sel)),
        }
    return out


def markdown_table(summary: dict) -> str:
    lines = ["| photos | n | input PSNR / SSIM | output PSNR / SSIM | worst output | "
             "deconvolved |", "|---|---|---|---|---|---|"]
    for which, s in summary.items():
        inp = "sharp itself" if not math.isfinite(s["input_psnr"]) else \
            f"{s['input_psnr']:.2f} / {s['input_ssim']:.3f}"
        lines.append(f"| {which} | {s['n']} | {inp} | {s['output_psnr']:.2f} / "
                     f"{s['output_ssim']:.3f} | {s['worst_psnr']:.2f} ({s['worst']}) | "
                     f"{s['deconvolved']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = photo_parser(__doc__)
    ap.add_argument("--noise", type=float, default=0.01, help="sigma of the noisy set, sRGB")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma list of {SETS}")
    args = ap.parse_args(argv)
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    bad = [s for s in wanted if s not in SETS]
    if bad:
        ap.error(f"unknown set(s) {bad}: use {', '.join(SETS)}")
    found = [c for c in cases(args.data, args.noise) if c[0] in wanted]
    if not found:
        ap.error(f"no sharp photos under {args.data}")
    jobs = [(*c, args.crop, args.checkpoint, args.threads) for c in found]
    rows = run_rows(functools.partial(run_threaded, run_case), jobs, args.jobs)
    summary = summarise(rows)
    table = markdown_table(summary)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "table": table,
                                         "crop": args.crop, "noise": args.noise}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
