"""The kernel stage on real blur: every ``gopro_frameavg`` pair, at several places.

    python -m benchmarks.real_blur [--data ../shared/data] [--crop 512] [--places L,C,R]
                                   [--full] [--pairs all|heldout|train] [--jobs 2]
                                   [--threads 1] [--engine [--checkpoint FILE]]
                                   [--varying-blur] [--ceiling] [--json FILE]

The Kodak protocol (:mod:`benchmarks.kernels`) blurs with one exact kernel; a photographer's
photo is never that (the blur varies over the frame, objects move, the camera sharpens and
compresses). The only real captured blur at hand is ``pairs/gopro_frameavg``: 18 frames
averaged from 240 fps GoPro clips, the centre frame as the sharp reference. Per pair this
takes ``--crop`` px squares at the left, centre and right of the frame (``--places``; the
left / right ones 64 px in from the edge, all vertically centred; ``--full`` adds the whole
frame) and runs the engine's own kernel stage on each
(:func:`glow_core.kernel_stage.run_kernel_stage`: estimate, acceptance test, blend; caption
empty, so the photo decides its priors), as a user gets it before the network.

Reported per case and summarised for the held-out pairs (``training.paired``'s split) and
the rest (the stage learns nothing from them; they serve to develop its rules): PSNR /
SSIM of the input and the stage's output at the best integer shift within 12 px (as
:func:`benchmarks.kernels.run_gopro`), the blend strength, the kernel size, how many
outputs lose or gain more than 0.1 dB. The goal: on average above the input, and as few
losses as possible.

``--varying-blur`` runs the stage with a kernel per region (``spatially_varying``, the
app's "Blur varies across the photo") instead of one kernel; with ``--full`` the frame is
where that matters (a crop is one or two regions).

``--ceiling`` adds what synthetic blur has and real blur lacked: a ceiling. The kernel that
best blurs the sharp frame into the blurry one is fitted with the sharp frame known
(:mod:`benchmarks.pair_kernel`); the same deconvolution given it is the ceiling, how close
it re-blurs the sharp crop (``fit``) says how far one kernel explains the crop at all, and
how close the stage's own kernel does (``explained``, at its best shift) says how right
the estimate is.

``--engine`` adds what a user gets: the whole engine as the app runs it (fast mode, the
default checkpoint, the stage's deconvolution handed to the network) and the network alone
(the stage off), both scored like the stage. The stage alone is not the product: since the
network stands behind it, an accepted wrong kernel costs more than a refused right one.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from benchmarks._runner import photo_parser, process_engine, run_rows, run_threaded  # noqa: E402
from benchmarks.kernels import best_shift, heldout_gopro, psnr, read_rgb, ssim  # noqa: E402

PLACES = ("L", "C", "R")
#: A change under 0.1 dB is not counted as a loss or a gain.
COUNT_DB = 0.1


def crop_box(h: int, w: int, place: str, crop: int) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1) of the ``place`` square (L, C, R; F: the whole frame)."""
    if place == "F" or crop >= min(h, w):
        return 0, 0, h, w
    y0 = (h - crop) // 2
    margin = min(64, (w - crop) // 2)
    x0 = {"L": margin, "C": (w - crop) // 2, "R": w - crop - margin}[place]
    return y0, x0, y0 + crop, x0 + crop


def pairs(data: Path, which: str) -> list[tuple[str, Path, Path, bool]]:
    """(name, blurry, sharp, held out) of the pairs asked for."""
    root = data / "pairs" / "gopro_frameavg"
    held = {name for name, _, _ in heldout_gopro(data)}
    out = []
    for blurry in sorted((root / "blur").glob("*.png")):
        is_held = blurry.stem in held
        if which == "all" or (which == "heldout") == is_held:
            out.append((blurry.stem, blurry, root / "sharp" / blurry.name, is_held))
    return out


def engine_scores(blurry: np.ndarray, sharp: np.ndarray, checkpoint: str | None = None
                  ) -> dict:
    """PSNR / SSIM of the whole engine (fast mode) and of the network alone (stage off);
    ``checkpoint`` None: the app's default weights."""
    from glow_core.engine import RestoreOptions

    out = {}
    for key, stage_on in (("engine", True), ("network", False)):
        result = process_engine(checkpoint).restore(blurry,
                                                    RestoreOptions(kernel_stage=stage_on))
        shift = best_shift(result.image, sharp)
        out[f"{key}_psnr"] = psnr(result.image, sharp, shift)
        out[f"{key}_ssim"] = ssim(result.image, sharp, shift)
    return out


def fitted_field(kernel: np.ndarray, shape: tuple[int, int], accept_config=None):
    """A one-kernel blind field holding ``kernel`` as if the estimator had found it, fully
    confident: what the acceptance test would do with a perfect estimate."""
    from glow_core.kernel.field import KernelField

    h, w = shape
    return KernelField(kernels=kernel[None, None], confidences=np.ones((1, 1), np.float32),
                       boxes=np.array([[[0, 0, h, w]]]), global_kernel=kernel,
                       global_confidence=1.0, image_size=(h, w), uniform=True,
                       accept_config=accept_config)


def ceiling_scores(blurry: np.ndarray, sharp: np.ndarray, estimate: np.ndarray | None,
                   accept_config=None) -> dict:
    """The fitted kernel's deconvolution (the ceiling), the blind ``estimate``'s own at
    full strength (what the acceptance test then blends), how far each re-blurs the sharp
    crop into the blurry one, and the input's own figure on the same pixels
    (``fit_input``: the sharp crop itself, no blur).

    The ceiling is the deconvolution the stage gives a blind kernel (the blind noise
    floor: even the best-fitting single kernel misfits a real crop, and deconvolved at
    the photo's own noise it rings, ``ceiling_own``), at full strength; and blended by the
    acceptance test as the stage blends its own (``ceiling_accepted``: the stage with a
    perfect estimator; ``accept_config``: the scene's, as the stage read it)."""
    from benchmarks.pair_kernel import fit_kernel, fit_psnr, trail_parts
    from glow_core.kernel.config import DeconvConfig
    from glow_core.kernel.deconvolve import deconvolve
    from glow_core.kernel.field import accept_and_blend, blind_noise

    def scored(out: np.ndarray, key: str) -> dict:
        shift = best_shift(out, sharp)
        return {f"{key}_psnr": psnr(out, sharp, shift), f"{key}_ssim": ssim(out, sharp, shift)}

    fitted = fit_kernel(blurry, sharp)
    config, sigma, read, codec = blind_noise(blurry, DeconvConfig())
    full = deconvolve(blurry, fitted, config, noise_sigma=sigma)
    accepted = accept_and_blend(blurry, full, fitted_field(fitted, blurry.shape[:2],
                                                          accept_config),
                                read=read, codec=codec, misfit_share=config.common_noise_share)
    row = {**scored(full, "ceiling"), **scored(accepted, "ceiling_accepted"),
           **scored(deconvolve(blurry, fitted), "ceiling_own"),
           "fit_psnr": fit_psnr(blurry, sharp, fitted),
           "fit_input_psnr": fit_psnr(blurry, sharp, np.ones((1, 1), np.float32)),
           "explained_psnr": None, **scored(blurry, "estimate_full")}  # no estimate: as it is
    if estimate is not None:
        row.update(scored(deconvolve(blurry, estimate, config, noise_sigma=sigma),
                          "estimate_full"))
        row["explained_psnr"] = fit_psnr(blurry, sharp, estimate, shift=True)
    ys, xs = np.nonzero(fitted)
    row["fitted_extent"] = int(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)
    row["fitted_parts"] = int(trail_parts(fitted))
    return row


def run_case(name: str, bpath: Path, spath: Path, held: bool, place: str, crop: int,
             engine: bool = False, checkpoint: str | None = None,
             varying: bool = False, ceiling: bool = False) -> dict:
    """The engine's kernel stage on one crop of one pair (``engine``: and the whole engine
    and the network alone; ``varying``: a kernel per region; ``ceiling``: and the fitted
    kernel's scores, :func:`ceiling_scores`)."""
    from glow_core.kernel_stage import run_kernel_stage

    blurry, sharp = read_rgb(bpath), read_rgb(spath)
    y0, x0, y1, x1 = crop_box(*blurry.shape[:2], place, crop)
    blurry = np.ascontiguousarray(blurry[y0:y1, x0:x1])
    sharp = np.ascontiguousarray(sharp[y0:y1, x0:x1])
    t = time.perf_counter()
    stage = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                             spatially_varying=varying, report=lambda _f, _m: None,
                             cancel=None)
    seconds = time.perf_counter() - t
    out = blurry if stage.deconvolved is None else stage.deconvolved
    shift = best_shift(out, sharp)
    row = {"pair": name, "place": place, "held_out": held,
            "input_psnr": psnr(blurry, sharp), "input_ssim": ssim(blurry, sharp),
            "stage_psnr": psnr(out, sharp, shift), "stage_ssim": ssim(out, sharp, shift),
            "strength": float(stage.info.get("acceptance", {}).get("strength", 0.0))
            if not stage.info.get("backed_off") else 0.0,
            "kernel_size": stage.info.get("size"), "seconds": seconds,
            # the starts' confirmation: the one the acceptance judged, the global
            # estimate's (a field of regions)
            "agreement": stage.info.get("agreement"),
            "global_agreement": None if stage.field is None
            else stage.field.info.get("global_agreement")}
    if engine:
        row.update(engine_scores(blurry, sharp, checkpoint))
    if ceiling:
        est = stage.field
        row.update(ceiling_scores(blurry, sharp, None if est is None else est.global_kernel,
                                  None if est is None else est.accept_config))
    return row


def summarise(rows: list[dict]) -> dict:
    """Means and counts of a set of cases (empty: an empty dict)."""
    if not rows:
        return {}
    out = {"n": len(rows), "kept": int(sum(r["strength"] > 0 for r in rows)),
           "input_psnr": float(np.mean([r["input_psnr"] for r in rows])),
           "input_ssim": float(np.mean([r["input_ssim"] for r in rows]))}
    for key in OUTPUTS:
        if f"{key}_psnr" not in rows[0]:
            continue
        gain = np.array([r[f"{key}_psnr"] - r["input_psnr"] for r in rows])
        out[key] = {"psnr": float(np.mean([r[f"{key}_psnr"] for r in rows])),
                    "ssim": float(np.mean([r[f"{key}_ssim"] for r in rows])),
                    "gain": float(gain.mean()), "losses": int((gain < -COUNT_DB).sum()),
                    "gains": int((gain > COUNT_DB).sum()), "worst": float(gain.min()),
                    "best": float(gain.max())}
    for key in ("fit_psnr", "fit_input_psnr", "explained_psnr"):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key] = float(np.mean(values))
    return out


#: The outputs scored per case: the stage alone, and with ``--engine`` the whole engine
#: and the network alone.
OUTPUTS = ("stage", "engine", "network", "estimate_full", "ceiling", "ceiling_accepted",
           "ceiling_own")
_LABELS = {"stage": "stage alone", "engine": "whole engine", "network": "network alone",
           "estimate_full": "the estimate deconvolved at full strength",
           "ceiling": "ceiling (fitted kernel, blind noise floor)",
           "ceiling_accepted": "the ceiling blended by the acceptance test",
           "ceiling_own": "fitted kernel at the photo's own noise"}


def markdown_table(summary: dict[str, dict]) -> str:
    lines = ["| pairs | cases | output | input PSNR / SSIM | output PSNR / SSIM | mean gain | "
             "losses / gains > 0.1 dB | worst / best | deconvolution kept |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, s in summary.items():
        if not s:
            continue
        for key in OUTPUTS:
            if key not in s:
                continue
            o = s[key]
            lines.append(
                f"| {label} | {s['n']} | {_LABELS[key]} | {s['input_psnr']:.2f} / "
                f"{s['input_ssim']:.3f} | {o['psnr']:.2f} / {o['ssim']:.3f} | "
                f"{o['gain']:+.2f} dB | {o['losses']} / {o['gains']} | "
                f"{o['worst']:+.2f} / {o['best']:+.2f} | {s['kept']} |")
    fits = {label: s for label, s in summary.items() if s and "fit_psnr" in s}
    if fits:
        lines += ["", "| pairs | the sharp crop against the blurry one (dB) | re-blurred by the "
                  "fitted kernel | by the stage's estimate (best shift) |", "|---|---|---|---|"]
        for label, s in fits.items():
            lines.append(f"| {label} | {s['fit_input_psnr']:.2f} | {s['fit_psnr']:.2f} | "
                         f"{s.get('explained_psnr', float('nan')):.2f} |")
    return "\n".join(lines)


#: The ceiling's split of the cases by the fitted kernel's shape
#: (:func:`benchmarks.pair_kernel.trail_parts`).
TRAIL = "one trail (fitted kernel in 1-2 pieces)"
DOTS = "a string of dots (3 or more pieces)"


def main(argv: list[str] | None = None) -> int:
    ap = photo_parser(__doc__)
    ap.add_argument("--places", default=",".join(PLACES),
                    help="comma list of L, C, R (crops) and F (the whole frame)")
    ap.add_argument("--full", action="store_true", help="add the whole frame (F)")
    ap.add_argument("--pairs", choices=("all", "heldout", "train"), default="all")
    ap.add_argument("--engine", action="store_true",
                    help="also the whole engine (fast mode) and the network alone")
    ap.add_argument("--varying-blur", action="store_true",
                    help="the stage with a kernel per region instead of one kernel")
    ap.add_argument("--ceiling", action="store_true",
                    help="also the kernel fitted to each pair: the ceiling, and how far "
                         "one kernel and the stage's estimate explain the blur")
    ap.add_argument("--checkpoint", default=None,
                    help="weights for --engine (default: the app's default checkpoint)")
    args = ap.parse_args(argv)
    places = [p.strip().upper() for p in args.places.split(",") if p.strip()]
    if args.full and "F" not in places:
        places.append("F")
    bad = [p for p in places if p not in (*PLACES, "F")]
    if bad:
        ap.error(f"unknown place(s) {bad}: use L, C, R, F")
    found = pairs(args.data, args.pairs)
    if not found:
        ap.error(f"no gopro_frameavg pairs under {args.data}")
    cases = [(*p, place, args.crop, args.engine, args.checkpoint, args.varying_blur,
              args.ceiling, args.threads) for p in found for place in places]
    rows = run_rows(functools.partial(run_threaded, run_case), cases, args.jobs)
    summary = {"held out": summarise([r for r in rows if r["held_out"]]),
               "the rest": summarise([r for r in rows if not r["held_out"]]),
               "all": summarise(rows)}
    if args.ceiling:  # frame averaging draws dots where a shaken exposure draws a trail
        summary[TRAIL] = summarise([r for r in rows if r["fitted_parts"] <= 2])
        summary[DOTS] = summarise([r for r in rows if r["fitted_parts"] > 2])
    table = markdown_table(summary)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "table": table,
                                         "crop": args.crop, "places": places}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
