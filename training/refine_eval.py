"""Evaluate the refiner against the deconvolution alone (issue 10 item 4).

    python -m training.refine_eval prepare [--images 12] [--blind-images 6] [--crop 256]
    python -m training.refine_eval score CKPT [CKPT ...] [--json FILE] [--markdown FILE]

Protocol (the kernel benchmark's, ``benchmarks/kernels.py``): held-out Kodak photos
(``sharp/kodak24``, never trained on), blurred in linear light with the 8
held-out real shake kernels (usrnet12_k09..k12, kair_large/*, infwide_real/*) + 1 %
Gaussian noise, 8-bit. Each blurry photo is deconvolved by ``glow_core.kernel.deconvolve``
(engine defaults) given (a) the true kernel and (b) the blind estimate
(``estimate_kernel``; below the field's minimum confidence the stage backs off and the
"deconvolved" image is the blurry one, as in the engine). ``prepare`` caches these (the
expensive part) under ``cache/refine_eval``; ``score`` runs each checkpoint's fast path on
(deconvolved, blurry) and reports PSNR / SSIM (8 px border excluded) of blurry,
deconvolved and refined, for (a) and (b).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from training.blur.protocol import blur_photo
from training.deconv_data import HELDOUT_KERNELS
from training.metrics import psnr, ssim

__all__ = ["HELDOUT_KERNELS", "prepare", "refine", "score", "score_models"]
BORDER = 8
CACHE = Path("cache/refine_eval")


def _data_root(root: str | None) -> Path:
    from training.sources import DEFAULT_DATA_ROOT

    return Path(root) if root else DEFAULT_DATA_ROOT




def _read(path: Path, crop: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        img = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return _centre(img, crop)


def _centre(img: np.ndarray, crop: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(crop, h, w)
    return np.ascontiguousarray(img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s])


def prepare(images: int, blind_images: int, crop: int, data_root: str | None,
            out: Path = CACHE) -> None:
    from glow_core.kernel import FieldConfig, deconvolve, estimate_kernel

    root = _data_root(data_root)
    files = sorted((root / "sharp" / "kodak24").glob("*.png"))
    step = max(1, len(files) // images)
    chosen = files[::step][:images]
    blind_every = max(1, len(chosen) // max(1, blind_images))
    out.mkdir(parents=True, exist_ok=True)
    floor = FieldConfig().min_confidence
    for ki, kname in enumerate(HELDOUT_KERNELS):
        k = np.load(root / "kernels" / f"{kname}.npy").astype(np.float32)
        for ii, f in enumerate(chosen):
            dest = out / f"{kname.split('/')[-1]}__{f.stem}.npz"
            if dest.is_file():
                continue
            full = _read(f, 10**6)
            blurry_full = blur_photo(full, k, 0.01, seed=1000 * ki + ii)
            sharp, blurry = _centre(full, crop), _centre(blurry_full, crop)
            t = time.perf_counter()
            true = deconvolve(blurry, k)
            item = {"sharp": sharp, "blurry": blurry, "true": true,
                    "t_true": time.perf_counter() - t}
            if ii % blind_every == 0:
                t = time.perf_counter()
                try:
                    est = estimate_kernel(blurry_full)  # blind on the whole photo
                    conf = float(est.confidence)
                except (ValueError, RuntimeError) as exc:  # estimator failure: back off
                    print(f"{dest.name}: estimate_kernel failed ({exc}); backing off",
                          flush=True)
                    est, conf = None, -1.0
                item["confidence"] = conf
                item["blind"] = (blurry if est is None or conf < floor
                                 else deconvolve(blurry, est.kernel))
                item["t_blind"] = time.perf_counter() - t
            np.savez_compressed(dest, **item)
            print(f"{dest.name}: true {psnr(true, sharp, BORDER):.2f} "
                  f"blurry {psnr(blurry, sharp, BORDER):.2f}"
                  + (f" blind {psnr(item['blind'], sharp, BORDER):.2f}" if "blind" in item
                     else ""), flush=True)


def _to_t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


@torch.inference_mode()
def refine(model: torch.nn.Module, blurry: np.ndarray, deconvolved: np.ndarray) -> np.ndarray:
    """The fast path on one photo (reflect-padded to the model's multiple)."""
    mult = model.config.pixel_multiple
    h, w = blurry.shape[:2]
    ph, pw = (-h) % mult, (-w) % mult
    b, d = _to_t(blurry), _to_t(deconvolved)
    if ph or pw:
        b = torch.nn.functional.pad(b, (0, pw, 0, ph), mode="reflect")
        d = torch.nn.functional.pad(d, (0, pw, 0, ph), mode="reflect")
    out = model.fast(b, deconvolved=d).rgb[0, :, :h, :w]
    return out.clamp(0, 1).permute(1, 2, 0).numpy()


def score(checkpoints: list[str], cache: Path = CACHE) -> dict:
    from glow_core.checkpoint import load_checkpoint

    files = sorted(cache.glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"nothing cached under {cache}: run prepare first")
    models = {}
    for c in checkpoints:
        m, _ = load_checkpoint(c)
        models[c] = m.float().eval()
    return score_models(models, files)


def score_models(models: dict[str, torch.nn.Module], files: list[Path]) -> dict:
    """Mean PSNR / SSIM per "true|blind / blurry|deconvolved|<model name>" over ``files``."""
    models = {name: m.eval() for name, m in models.items()}
    rows: dict[str, dict[str, list[float]]] = {}

    def add(key: str, out: np.ndarray, sharp: np.ndarray) -> None:
        r = rows.setdefault(key, {"psnr": [], "ssim": []})
        r["psnr"].append(float(psnr(out, sharp, BORDER)))
        r["ssim"].append(float(ssim(out, sharp, BORDER)))

    for f in files:
        with np.load(f) as zf:
            z = {k: zf[k] for k in zf.files}
        sharp = z["sharp"]
        add("true/blurry", z["blurry"], sharp)
        add("true/deconvolved", z["true"], sharp)
        for c, m in models.items():
            add(f"true/{c}", refine(m, z["blurry"], z["true"]), sharp)
        if "blind" in z:
            add("blind/blurry", z["blurry"], sharp)
            add("blind/deconvolved", z["blind"], sharp)
            for c, m in models.items():
                add(f"blind/{c}", refine(m, z["blurry"], z["blind"]), sharp)
    return {k: {"psnr": float(np.mean(v["psnr"])), "ssim": float(np.mean(v["ssim"])),
                "n": len(v["psnr"])} for k, v in rows.items()}


def markdown(result: dict) -> str:
    lines = ["| kernel given to deconvolution | method | PSNR | SSIM | n |",
             "|---|---|---|---|---|"]
    for key, v in result.items():
        which, method = key.split("/", 1)
        lines.append(f"| {which} | {method} | {v['psnr']:.2f} | {v['ssim']:.3f} | {v['n']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.refine_eval")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--images", type=int, default=12)
    p.add_argument("--blind-images", type=int, default=6)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--data-root", default=None)
    p.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("score")
    s.add_argument("checkpoints", nargs="+")
    s.add_argument("--json", type=Path, default=None)
    s.add_argument("--markdown", type=Path, default=None)
    s.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.cmd == "prepare":
        prepare(args.images, args.blind_images, args.crop, args.data_root)
        return 0
    result = score(args.checkpoints)
    table = markdown(result)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
