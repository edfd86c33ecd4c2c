"""Replay the kernel stage's deconvolution and acceptance rules on cached blind estimates.

    python -m benchmarks.accept_replay estimate --out DIR [--set real|frames|kodak]
                                               [--data ../shared/data] [--crop 512] [--jobs 2]
    python -m benchmarks.accept_replay deconvolve --out DIR --set real --name NAME
                                                 [--deconv key=value ...] [--jobs 2]
    python -m benchmarks.accept_replay replay --out DIR --set real --name NAME
                                             [--accept key=value ...] [--json FILE]

Why: the stage's output depends on three things measured apart, the blind estimate (seconds
per photo), its full-strength deconvolution (about a second) and the acceptance test's
blend (a fraction of one). Tuning the last two on the whole benchmarks re-estimates every
kernel each time; here each step's result is kept under ``DIR`` (git-ignored ``runs/``) and
the next replays on it:

* ``estimate``: the stage's blind estimate of each case, with the scene priors an empty
  caption reads off the photo (:func:`glow_core.kernel_stage.stage_configs`), pickled with
  the blurry photo and those priors' deconvolution config (``DIR/estimates/SET/``). Sets:
  ``real`` the ``gopro_frameavg`` pairs' 512 px crops at the left, centre and right
  (:mod:`benchmarks.real_blur`), ``frames`` their whole frames, ``kodak`` the protocol's
  192 cases (:mod:`benchmarks.kernels`: the 24 photos x 8 measured kernels + 1 % noise,
  the same seeds).
* ``deconvolve``: each estimate's deconvolution at full strength as the stage runs it
  (:func:`glow_core.kernel.field.blind_noise`: the blind floor and its misfit share),
  with ``--deconv`` overrides of :class:`DeconvConfig` (``DIR/full/SET/NAME/``).
* ``replay``: the acceptance test's second half and blend
  (:func:`glow_core.kernel.field.accept_and_blend`, the engine's own code) on a cached
  deconvolution with ``--accept`` overrides of :class:`AcceptConfig`, scored like
  :mod:`benchmarks.real_blur`: the output at its best integer shift against the input
  as it is; losses / gains over 0.1 dB counted.

The caches hold pickled engine objects: rebuild them when the estimator changes.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._runner import run_rows, run_threaded  # noqa: E402
from benchmarks.kernels import KERNELS, best_shift, psnr, read_rgb  # noqa: E402
from benchmarks.real_blur import COUNT_DB, crop_box, pairs  # noqa: E402

SETS = ("real", "frames", "kodak")


@dataclasses.dataclass(frozen=True)
class Case:
    """One blurry photo: where its sharp reference is and how the blurry one is made."""

    name: str
    group: str  # "held out" / "the rest" (GoPro), the kernel's name (Kodak)
    blurry: Path
    sharp: Path
    box: tuple[int, int, int, int] | None = None  # the crop (GoPro sets)
    kernel: Path | None = None  # Kodak: the kernel that blurs the sharp photo
    seed: int = 0


def cases(data: Path, which: str, crop: int = 512) -> list[Case]:
    """The cases of a set, in a fixed order."""
    if which == "kodak":
        photos = sorted((data / "sharp" / "kodak24").glob("*.png"))
        return [Case(f"{Path(k).name}_{p.stem}", Path(k).name, p, p,
                     kernel=data / "kernels" / f"{k}.npy", seed=1000 * ki + ii)
                for ki, k in enumerate(KERNELS) for ii, p in enumerate(photos)]
    places = ("F",) if which == "frames" else ("L", "C", "R")
    out = []
    for name, blurry, sharp, held in pairs(data, "all"):
        h, w = read_rgb(blurry).shape[:2]
        for place in places:
            out.append(Case(f"{name}_{place}", "held out" if held else "the rest", blurry,
                            sharp, box=crop_box(h, w, place, crop)))
    return out


def _crop(img: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    if box is None:
        return img
    y0, x0, y1, x1 = box
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def load_sharp(case: Case) -> np.ndarray:
    """The sharp reference of a case, float32 sRGB."""
    return _crop(read_rgb(case.sharp), case.box)


def load_blurry(case: Case) -> np.ndarray:
    """The blurry photo of a case, float32 sRGB (Kodak: blurred here, as the protocol)."""
    if case.kernel is not None:
        from training.blur.protocol import blur_photo

        k = np.load(case.kernel).astype(np.float32)
        return blur_photo(read_rgb(case.sharp), k, 0.01, seed=case.seed).astype(np.float32)
    return _crop(read_rgb(case.blurry), case.box)


def _overrides(cls: type, pairs_: list[str]) -> dict:
    """``key=value`` strings -> typed overrides of dataclass ``cls`` (a clear error for an
    unknown key or a value that does not parse)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    default = cls()
    out = {}
    for item in pairs_:
        key, sep, text = item.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"{cls.__name__} has no field {key!r} (from {item!r})")
        current = getattr(default, key)
        if text == "None":
            out[key] = None
        elif isinstance(current, bool):
            if text not in ("True", "False"):
                raise SystemExit(f"{key} takes True or False, not {text!r}")
            out[key] = text == "True"
        elif isinstance(current, int):
            out[key] = int(text)
        else:
            out[key] = float(text)
    return out


# ------------------------------------------------------------------------------ the steps


def estimate_case(case: Case, dst: Path) -> dict:
    """The stage's blind estimate of one case, pickled with its blurry photo."""
    from glow_core.kernel_stage import estimate_field, stage_configs

    path = dst / f"{case.name}.pkl"
    if path.exists():  # resumable
        return {"case": case.name, "cached": True}
    blurry = load_blurry(case)
    t = time.perf_counter()
    _, kcfg, dcfg, fcfg, acfg = stage_configs("", blurry, None)
    kf = estimate_field(blurry, kernel_config=kcfg, field_config=fcfg, accept_config=acfg)
    seconds = time.perf_counter() - t
    tmp = path.with_suffix(".tmp")
    # the case as a dict: a pickled class would name the module it ran as (__main__)
    tmp.write_bytes(pickle.dumps({"case": dataclasses.asdict(case), "blurry": blurry,
                                  "field": kf, "deconv": dcfg}))
    tmp.replace(path)
    return {"case": case.name, "seconds": round(seconds, 2), "backs_off": kf.backs_off}


def _stage_skips(kf) -> bool:
    """The stage deconvolves nothing: the estimate backs off, or finds no blur to undo."""
    from glow_core.kernel_stage import MIN_SPREAD_PX, kernel_spread

    return kf.backs_off or kernel_spread(kf.global_kernel) < MIN_SPREAD_PX


def deconvolve_case(src: Path, dst: Path, overrides: dict) -> dict:
    """One cached estimate's full-strength deconvolution, as the stage runs it."""
    from glow_core.kernel import field as fld

    rec = pickle.loads(src.read_bytes())
    out = dst / f"{src.stem}.npz"
    kf, blurry, dcfg = rec["field"], rec["blurry"], rec["deconv"]  # the scene's priors'
    if out.exists() or _stage_skips(kf):
        return {"case": src.stem, "skipped": True}
    t = time.perf_counter()
    cfg, sigma, read, codec = fld.blind_noise(blurry, dataclasses.replace(dcfg, **overrides))
    plain = copy.copy(kf)
    plain.acceptance = None  # deconvolved as given: the blend is the replay's
    full = fld.deconvolve_field(blurry, plain, cfg, noise_sigma=sigma)
    seconds = time.perf_counter() - t
    tmp = dst / f"{src.stem}.tmp.npz"
    np.savez(tmp, full=full.astype(np.float16), read=read, codec=codec,
             share=cfg.common_noise_share, seconds=seconds)
    tmp.replace(out)
    return {"case": src.stem, "seconds": round(seconds, 2)}


def replay_case(src: Path, full_dir: Path, overrides: dict) -> dict:
    """The acceptance blend of one cached deconvolution, scored."""
    from glow_core.kernel.config import AcceptConfig
    from glow_core.kernel.field import accept_and_blend

    rec = pickle.loads(src.read_bytes())
    case, blurry, kf = Case(**rec["case"]), rec["blurry"], copy.deepcopy(rec["field"])
    sharp = load_sharp(case)
    row = {"case": case.name, "group": case.group, "input": psnr(blurry, sharp)}
    cached = full_dir / f"{src.stem}.npz"
    if _stage_skips(kf) or not cached.exists():
        return {**row, "output": row["input"], "strength": 0.0, "full": None}
    z = np.load(cached)
    full = z["full"].astype(np.float32)
    kf.accept_config = dataclasses.replace(kf.accept_config or AcceptConfig(), **overrides)
    out = accept_and_blend(blurry, full, kf, read=float(z["read"]), codec=float(z["codec"]),
                           misfit_share=float(z["share"]))
    return {**row, "output": psnr(out, sharp, best_shift(out, sharp)),
            "strength": float(kf.acceptance.strength),
            "full": psnr(full, sharp, best_shift(full, sharp)),
            "reasons": list(kf.acceptance.reasons)}


# ---------------------------------------------------------------------------- the report


def summarise(rows: list[dict]) -> dict:
    """Means and counts of replayed rows (empty: an empty dict)."""
    if not rows:
        return {}
    gain = np.array([r["output"] - r["input"] for r in rows])
    full = [r for r in rows if r["full"] is not None]
    return {"n": len(rows), "input": float(np.mean([r["input"] for r in rows])),
            "output": float(np.mean([r["output"] for r in rows])),
            "gain": float(gain.mean()), "losses": int((gain < -COUNT_DB).sum()),
            "gains": int((gain > COUNT_DB).sum()), "worst": float(gain.min()),
            "kept": int(sum(r["strength"] > 0 for r in rows)),
            "full_n": len(full),
            "full_gain": float(np.mean([r["full"] - r["input"] for r in full]))
            if full else float("nan")}


def markdown_table(summary: dict[str, dict]) -> str:
    lines = ["| cases | n | input | stage output | mean gain | losses / gains > 0.1 dB | "
             "worst | kept | full strength, gain (n) |", "|---|---|---|---|---|---|---|---|---|"]
    for label, s in summary.items():
        if s:
            lines.append(f"| {label} | {s['n']} | {s['input']:.3f} | {s['output']:.3f} | "
                         f"{s['gain']:+.3f} dB | {s['losses']} / {s['gains']} | "
                         f"{s['worst']:+.2f} | {s['kept']} | {s['full_gain']:+.3f} "
                         f"({s['full_n']}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("estimate", "deconvolve", "replay"))
    ap.add_argument("--out", type=Path, required=True, help="the cache folder")
    ap.add_argument("--set", dest="which", choices=SETS, default="real")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--crop", type=int, default=512)
    ap.add_argument("--name", default="default", help="the deconvolution variant's name")
    ap.add_argument("--deconv", nargs="*", default=[], help="DeconvConfig key=value")
    ap.add_argument("--accept", nargs="*", default=[], help="AcceptConfig key=value")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from glow_core.kernel.config import AcceptConfig, DeconvConfig

    estimates = args.out / "estimates" / args.which
    full_dir = args.out / "full" / args.which / args.name
    if args.step == "estimate":
        found = cases(args.data, args.which, args.crop)
        if not found:
            ap.error(f"no {args.which} cases under {args.data}")
        estimates.mkdir(parents=True, exist_ok=True)
        run_rows(functools.partial(run_threaded, estimate_case),
                 [(c, estimates, 1) for c in found], args.jobs)
        return 0
    sources = sorted(estimates.glob("*.pkl"))
    if not sources:
        ap.error(f"no estimates under {estimates}: run the estimate step first")
    if args.step == "deconvolve":
        overrides = _overrides(DeconvConfig, args.deconv)
        full_dir.mkdir(parents=True, exist_ok=True)
        (full_dir / "deconv.json").write_text(json.dumps(args.deconv))
        run_rows(functools.partial(run_threaded, deconvolve_case),
                 [(s, full_dir, overrides, 1) for s in sources], args.jobs)
        return 0
    overrides = _overrides(AcceptConfig, args.accept)
    rows = run_rows(functools.partial(run_threaded, replay_case),
                    [(s, full_dir, overrides, 1) for s in sources], args.jobs)
    groups = sorted({r["group"] for r in rows})
    summary = {g: summarise([r for r in rows if r["group"] == g]) for g in groups}
    summary["all"] = summarise(rows)
    table = markdown_table(summary)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "table": table,
                                         "deconv": args.name, "accept": args.accept},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
