"""Do captions steer the kernel stage? True, empty and wrong captions on semantic subsets.

    python -m benchmarks.caption_priors [--data ../shared/data] [--per 2] [--crop 256]
                                        [--subsets text,night,face,kodak] [--true-kernel]
                                        [--kernels small|all]
                                        [--markdown FILE] [--json FILE] [--strip FILE]

Subsets built from ``../shared/data`` (crops of ``--crop`` px, chosen deterministically):
``text`` (sharp/receipts_300dpi + sharp/easyocr_signs2), ``night`` (sharp/nightshot5),
``face`` (sharp/celebahq_faces), ``kodak`` (sharp/kodak24). Each crop is blurred in linear
light with one of the real shake kernels in turn (Levin's usrnet12_k09..k12; with
``--kernels all`` also Lai's kair_large and INFWIDE's infwide_real) by the protocol of
:mod:`benchmarks.kernels` (1 % noise, 8 bits). Night crops first get their clipped lights
scaled x ``NIGHT_GAIN`` in linear
light (a lamp is far brighter than the 8-bit white it was stored as) and the blurry photo
is clipped again: real night blur has saturated streaks (Hu et al. 2014).

Each blurry crop is restored by the engine's kernel stage
(:func:`glow_core.kernel_stage.run_kernel_stage`: estimate, back-off, deconvolution and the
acceptance test; with ``--true-kernel`` the deconvolution alone) with the priors of
:func:`glow_core.semantics.semantic_priors` under the true caption, an empty caption (the
image decides) and a wrong one (text <-> night, others cycle). Scores: PSNR / SSIM at the
best integer shift (blind deblurring cannot know the absolute position), the mean absolute
change between outputs in 8-bit levels, and how often the image alone picks the true case.
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

from benchmarks.captions import true_captions  # noqa: E402
from benchmarks.kernels import (  # noqa: E402
    KERNELS,
    best_shift,
    blur_photo,
    psnr,
    read_rgb,
    ssim,
)
from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear  # noqa: E402

NIGHT_GAIN = 6.0
CAPTIONS = {
    "text": ("a receipt with small printed black text on white paper",
             "a street sign with white letters"),
    "night": ("a city street at night with bright street lights and lit signs",),
    "face": ("a portrait of a person's face",),
    "kodak": (),  # from training/captions/kodak24.jsonl
}
WRONG = {
    "text": "a night city street with neon signs, bright point lights and dark sky",
    "night": "a page of small printed black text and a barcode on white thermal paper",
    "face": "a page of small printed black text and a barcode on white thermal paper",
    "kodak": ("a page of small printed black text and a barcode on white thermal paper",
              "a night city street with neon signs, bright point lights and dark sky",
              "a close-up portrait of a smiling woman's face"),
}
TRUE_CASE = {"text": "text", "night": "night", "face": "face", "kodak": "general"}


def _best_window(img: np.ndarray, crop: int, score) -> np.ndarray:
    h, w = img.shape[:2]
    if h <= crop or w <= crop:
        c = min(h, w, crop)
        return img[(h - c) // 2:(h - c) // 2 + c, (w - c) // 2:(w - c) // 2 + c]
    best, arg = -np.inf, (0, 0)
    for y in np.linspace(0, h - crop, 5).astype(int):
        for x in np.linspace(0, w - crop, 5).astype(int):
            s = score(img[y:y + crop, x:x + crop])
            if s > best:
                best, arg = s, (y, x)
    y, x = arg
    return img[y:y + crop, x:x + crop]


def _edges(a: np.ndarray) -> float:
    g = a.mean(-1)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def _lights(a: np.ndarray) -> float:
    """Night crops: some clipped lights, mostly dark, with edges."""
    clipped = float((a.max(-1) >= 0.98).mean())
    return min(clipped, 0.005) * 200 + 2.0 * (0.5 - float(a.mean())) + _edges(a)


def _downscale(img: np.ndarray, factor: int) -> np.ndarray:
    h, w = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    lin = srgb_to_linear(img[:h, :w])
    lin = lin.reshape(h // factor, factor, w // factor, factor, -1).mean((1, 3))
    return linear_to_srgb(lin).astype(np.float32)


def _resize(img: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(pil.resize((side, side), Image.LANCZOS), dtype=np.float32) / 255.0


#: Levin's four shakes (25 px): the default, affordable on a CPU; ``--kernels all`` adds
#: the large ones (55-70 px), whose context margins make each solve ~6x dearer.
SMALL_KERNELS = KERNELS[:4]


def build(data: Path, subsets: list[str], per: int, crop: int,
          kernels: tuple[str, ...] = SMALL_KERNELS) -> list[dict]:
    """Deterministic list of cases: subset, name, sharp, blurry, kernel, captions."""
    sharp = data / "sharp"
    items: list[dict] = []
    kodak = true_captions()
    for sub in subsets:
        if sub == "text":
            files = sorted((sharp / "receipts_300dpi").glob("*"))[: max(1, per - 1)]
            files += sorted((sharp / "easyocr_signs2").glob("*"))[:1]
        elif sub == "night":
            files = sorted((sharp / "nightshot5").glob("*"))[:per]
        elif sub == "face":
            files = sorted((sharp / "celebahq_faces").glob("*"))[:per]
        else:
            files = sorted((sharp / "kodak24").glob("*.png"))[:per]
        for i, f in enumerate(files):
            img = read_rgb(f)
            if sub == "night" and max(img.shape[:2]) > 1000:
                img = _downscale(img, 2)
            score = _lights if sub == "night" else _edges
            if sub == "face":  # the whole portrait, downscaled (a crop cuts the face)
                img = _resize(img, crop)
            elif sub == "kodak":
                h, w = img.shape[:2]
                c = min(h, w, crop)
                img = img[(h - c) // 2:(h - c) // 2 + c, (w - c) // 2:(w - c) // 2 + c]
            else:
                img = _best_window(img, crop, score)
            img = np.ascontiguousarray(img[..., :3], dtype=np.float32)
            kname = kernels[len(items) % len(kernels)]
            kern = np.load(data / "kernels" / f"{kname}.npy").astype(np.float64)
            seed = len(items)
            if sub == "night":
                lin = srgb_to_linear(img)
                lin = np.where(img.max(-1, keepdims=True) >= 0.98, lin * NIGHT_GAIN, lin)
                blurry = _blur_hdr(lin, kern, seed)
            else:
                blurry = blur_photo(img, kern, 0.01, seed)
            if sub == "kodak":
                true = kodak.get(f.name, "a photo")
                wrong = WRONG["kodak"][i % 3]
            else:
                caps = CAPTIONS[sub]
                true = caps[1] if (sub == "text" and "easyocr" in str(f)) else caps[0]
                wrong = WRONG[sub]
            items.append({"subset": sub, "name": f.name, "sharp": img, "blurry": blurry,
                          "kernel": kname, "true": true, "wrong": wrong})
    return items


def _blur_hdr(lin: np.ndarray, kern: np.ndarray, seed: int) -> np.ndarray:
    """blur_photo for a linear image that may exceed 1: clip after the blur."""
    # blur_photo works on sRGB in [0, 1]; blur the scaled-down image, then scale back up.
    peak = float(lin.max())
    srgb = linear_to_srgb(np.clip(lin / peak, 0, 1)).astype(np.float32)
    blurred = blur_photo(srgb, kern, 0.0, seed)  # 8-bit rounding at 1/peak: re-done below
    out = srgb_to_linear(blurred) * peak
    out = linear_to_srgb(np.clip(out, 0, 1)).astype(np.float32)
    out = out + np.random.default_rng(seed).normal(0.0, 0.01, out.shape)
    return (np.round(np.clip(out, 0, 1) * 255) / 255).astype(np.float32)


def restore(blurry: np.ndarray, priors, true_kernel: np.ndarray | None = None,
            caption: str = "") -> np.ndarray:
    """With the true kernel: the priors' deconvolution alone. Blind: the engine's whole
    kernel stage under ``caption`` (estimate, back-off rules, deconvolution, acceptance
    test), i.e. what a user gets before the network."""
    from glow_core.kernel import deconvolve
    from glow_core.kernel_stage import run_kernel_stage

    if true_kernel is not None:
        return deconvolve(blurry, true_kernel, priors.deconv)
    stage = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                             spatially_varying=False, report=lambda _f, _s: None,
                             cancel=None, caption=caption)
    return blurry if stage.deconvolved is None else stage.deconvolved


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--per", type=int, default=2)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--kernels", default="small", help="small (Levin's four) or all eight")
    p.add_argument("--subsets", default="text,night,face,kodak")
    p.add_argument("--true-kernel", action="store_true",
                   help="non-blind: deconvolve with the true kernel (isolates the priors)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--markdown", default=None)
    p.add_argument("--json", default=None)
    p.add_argument("--strip", default=None, help="PNG strip of the first text crop")
    args = p.parse_args(argv)

    import torch

    from glow_core.semantics import semantic_priors

    torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not data.is_dir():
        alt = ROOT / ".." / ".." / "shared" / "data"
        data = alt if alt.is_dir() else data
    items = build(data, args.subsets.split(","), args.per, args.crop,
                  KERNELS if args.kernels == "all" else SMALL_KERNELS)
    rows: dict[str, dict] = {}
    strip = None
    for it in items:
        t0 = time.perf_counter()
        kern = (np.load(data / "kernels" / f"{it['kernel']}.npy") if args.true_kernel
                else None)
        outs, picks, cache = {}, {}, {}
        for key, cap in (("true", it["true"]), ("empty", ""), ("wrong", it["wrong"])):
            pri = semantic_priors(cap, it["blurry"])
            picks[key] = max(pri.weights, key=pri.weights.get)
            sig = repr((pri.kernel, pri.deconv, pri.field, pri.accept))
            if sig not in cache:  # identical priors give identical outputs
                cache[sig] = restore(it["blurry"], pri, kern, cap)
            outs[key] = cache[sig]
        r = rows.setdefault(it["subset"], {k: {"psnr": [], "ssim": []}
                                           for k in ("true", "empty", "wrong", "input")}
                            | {"d_true_wrong": [], "d_true_empty": [], "image_right": []})
        r["input"]["psnr"].append(psnr(it["blurry"], it["sharp"]))
        r["input"]["ssim"].append(ssim(it["blurry"], it["sharp"]))
        for key in ("true", "empty", "wrong"):
            sh = best_shift(outs[key], it["sharp"])
            r[key]["psnr"].append(psnr(outs[key], it["sharp"], sh))
            r[key]["ssim"].append(ssim(outs[key], it["sharp"], sh))
        r["d_true_wrong"].append(float(np.abs(outs["true"] - outs["wrong"]).mean() * 255))
        r["d_true_empty"].append(float(np.abs(outs["true"] - outs["empty"]).mean() * 255))
        r["image_right"].append(picks["empty"] == TRUE_CASE[it["subset"]])
        print(f"  {it['subset']}/{it['name']} [{it['kernel'].split('/')[-1]}]: "
              f"true {r['true']['psnr'][-1]:.2f} ({picks['true']}) empty "
              f"{r['empty']['psnr'][-1]:.2f} ({picks['empty']}) wrong "
              f"{r['wrong']['psnr'][-1]:.2f} ({picks['wrong']}) input "
              f"{r['input']['psnr'][-1]:.2f}  {time.perf_counter() - t0:.0f} s", flush=True)
        if strip is None and it["subset"] == "text" and args.strip:
            strip = [it["blurry"], outs["true"], outs["empty"], outs["wrong"], it["sharp"]]

    mode = "true kernel (non-blind)" if args.true_kernel else "blind (the engine's kernel stage)"
    lines = [f"Kernel stage, {mode}; crops of {args.crop} px, real kernels, 1 % noise.", "",
             "| subset | n | input | true | empty | wrong | true-wrong (dB) | "
             "mean abs change true/wrong, true/empty (8-bit) | image picks right case |",
             "|---|---|---|---|---|---|---|---|---|"]
    summary = {}
    for sub, r in rows.items():
        m = {k: (float(np.mean(r[k]["psnr"])), float(np.mean(r[k]["ssim"])))
             for k in ("input", "true", "empty", "wrong")}
        summary[sub] = {k: {"psnr": v[0], "ssim": v[1]} for k, v in m.items()} | {
            "change_true_wrong": float(np.mean(r["d_true_wrong"])),
            "change_true_empty": float(np.mean(r["d_true_empty"])),
            "image_right": float(np.mean(r["image_right"])), "n": len(r["image_right"]),
            "per_image": {k: r[k]["psnr"] for k in ("true", "empty", "wrong")}}
        cell = {k: f"{m[k][0]:.2f} / {m[k][1]:.3f}" for k in m}
        lines.append(
            f"| {sub} | {len(r['image_right'])} | {cell['input']} | {cell['true']} | "
            f"{cell['empty']} | {cell['wrong']} | {m['true'][0] - m['wrong'][0]:+.2f} | "
            f"{np.mean(r['d_true_wrong']):.2f}, {np.mean(r['d_true_empty']):.2f} | "
            f"{sum(r['image_right'])}/{len(r['image_right'])} |")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    if args.strip and strip is not None:
        from PIL import Image

        tiles = np.concatenate([np.clip(t, 0, 1) for t in strip], axis=1)
        Path(args.strip).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((tiles * 255 + 0.5).astype(np.uint8)).save(args.strip)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
