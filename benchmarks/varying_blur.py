"""Blur that changes across the frame: one kernel against a field of them.

    python -m benchmarks.varying_blur [--data ../shared/data] [--kinds uniform rotate scale]
                                      [--limit N] [--jobs 2] [--threads 1] [--json FILE]

The protocol of ``benchmarks/kernels.py`` blurs a photo with one kernel; a hand-held photo's
blur turns and stretches across the frame (roll about the lens axis, depth). Here the blur
at every pixel is known: 10 photos (the six DIV2K validation photos halved, four Urban100
buildings; 768 x 576 centre crops) x 3 measured kernels (Levin's k10 and k12, INFWIDE's
real 20) x 3 patterns, blurred in linear light with 1 % noise, 8-bit
(:func:`training.blur.protocol.blur_photo_varying`):

* **uniform**: the kernel everywhere (the field must not lose to one kernel here);
* **rotate**: the kernel turned -25, 0 and +25 degrees from the left edge to the right
  (camera roll);
* **scale**: the kernel at 0.6, 1 and 1.4 x its length from the top to the bottom.

Per case: the input; the engine's kernel stage, blind, with one kernel and with a field of
them (``spatially_varying``), as a restore with an empty caption runs it; two ceilings, the
same deconvolution given the truth: one kernel (the true kernel at the centre) and the
true field (the true kernel at the centre of each region of the field's grid). PSNR in dB
over the whole photo.
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

from benchmarks._runner import photo_parser, run_rows, run_threaded  # noqa: E402

PHOTOS: tuple[str, ...] = (
    "div2k_valid6/0803", "div2k_valid6/0830", "div2k_valid6/0853", "div2k_valid6/0886",
    "div2k_valid6/0894", "div2k_valid6/0898", "urban100_more/img_012",
    "urban100_more/img_027", "urban100_more/img_049", "urban100_more/img_065")
KERNELS: tuple[str, ...] = ("usrnet12/usrnet12_k10", "usrnet12/usrnet12_k12",
                            "infwide_real/infwide_kernel_20_1")
KINDS: tuple[str, ...] = ("uniform", "rotate", "scale")
SIZE = (576, 768)  # height, width
#: Outputs scored per case, in the table's order.
OUTPUTS = ("one", "field", "true_one", "true_field")
_LABELS = {"one": "one kernel", "field": "field", "true_one": "true kernel (centre)",
           "true_field": "true field"}


def read_photo(path: Path, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The centre ``size`` crop, of the photo halved first when it is twice as large
    (a 2K photo's blur then spans as much of the scene as a 1 MP one's)."""
    import cv2

    from benchmarks.kernels import read_rgb

    img = read_rgb(path)
    h, w = img.shape[:2]
    if min(h / size[0], w / size[1]) >= 2:
        img = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    if h < size[0] or w < size[1]:
        raise ValueError(f"{path} is {w} x {h}, smaller than {size[1]} x {size[0]}")
    y0, x0 = (h - size[0]) // 2, (w - size[1]) // 2
    return np.ascontiguousarray(img[y0:y0 + size[0], x0:x0 + size[1]])


def pattern(kernel: np.ndarray, kind: str) -> tuple[list[np.ndarray], tuple[int, int]]:
    """The knots' kernels (one shape) and their grid for a blur ``kind``."""
    from glow_core.kernel.field import _pad_to
    from training.blur.kernels import augment_kernel

    if kind == "uniform":
        ks, grid = [kernel], (1, 1)
    elif kind == "rotate":
        ks, grid = [augment_kernel(kernel, a) for a in (-25.0, 0.0, 25.0)], (1, 3)
    elif kind == "scale":
        ks, grid = [augment_kernel(kernel, 0.0, s) for s in (0.6, 1.0, 1.4)], (3, 1)
    else:
        raise ValueError(f"unknown blur pattern {kind!r}")
    n = max(k.shape[0] for k in ks) | 1
    return [_pad_to(np.asarray(k, np.float64), n).astype(np.float32) for k in ks], grid


def true_field(kernels: list[np.ndarray], grid: tuple[int, int], size: tuple[int, int],
               boxes: np.ndarray):
    """A :class:`KernelField` holding the true kernel at the centre of each box."""
    from glow_core.kernel.field import KernelField
    from training.blur.protocol import varying_kernel_at

    gy, gx = boxes.shape[:2]
    n = kernels[0].shape[0]
    ks = np.zeros((gy, gx, n, n), np.float32)
    for i in range(gy):
        for j in range(gx):
            y0, x0, y1, x1 = boxes[i, j]
            ks[i, j] = varying_kernel_at(kernels, grid, size, (y0 + y1) / 2, (x0 + x1) / 2)
    centre = varying_kernel_at(kernels, grid, size, size[0] / 2, size[1] / 2)
    return KernelField(kernels=ks, confidences=np.ones((gy, gx)), boxes=boxes,
                       global_kernel=centre, global_confidence=1.0, image_size=size,
                       uniform=len(kernels) == 1)


def stage_output(blurry: np.ndarray, spatially_varying: bool) -> tuple[np.ndarray, dict]:
    """The engine's kernel stage, blind, as a restore with an empty caption runs it."""
    from glow_core.kernel_stage import run_kernel_stage

    t = time.perf_counter()
    stage = run_kernel_stage(blurry, kernel=None, kernel_size=None, region=None,
                             spatially_varying=spatially_varying,
                             report=lambda _f, _m: None, cancel=None)
    out = blurry if stage.deconvolved is None else stage.deconvolved
    f = stage.field
    return out, {"seconds": time.perf_counter() - t,
                 "grid": list(f.grid) if f is not None else None,
                 "uniform": bool(f.uniform) if f is not None else None,
                 "strength": float(f.strength) if f is not None else 0.0,
                 # the starts' confirmation: the one the acceptance judged, the global
                 # estimate's (a field of regions)
                 "agreement": f.info.get("agreement") if f is not None else None,
                 "global_agreement": f.info.get("global_agreement") if f is not None else None}


def run_case(data: Path, photo: str, kernel: str, kind: str,
             size: tuple[int, int] = SIZE) -> dict:
    from benchmarks.kernels import psnr
    from glow_core.kernel.deconvolve import deconvolve
    from glow_core.kernel.field import deconvolve_field, field_grid
    from training.blur.kernels import load_kernel
    from training.blur.protocol import blur_photo_varying

    sharp = read_photo(data / "sharp" / f"{photo}.png", size)
    ks, grid = pattern(load_kernel(data / "kernels" / f"{kernel}.npy"), kind)
    seed = PHOTOS.index(photo) if photo in PHOTOS else 0
    blurry = blur_photo_varying(sharp, ks, grid, 0.01, seed)
    row: dict = {"photo": photo, "kernel": kernel, "kind": kind,
                 "input": psnr(blurry, sharp)}
    for key, varying in (("one", False), ("field", True)):
        out, info = stage_output(blurry, varying)
        row[key] = psnr(out, sharp)
        row.update({f"{key}_{k}": v for k, v in info.items()})
    truth = true_field(ks, grid, size, field_grid(*size, ks[0].shape[0]))
    row["true_one"] = psnr(deconvolve(blurry, truth.global_kernel), sharp)
    row["true_field"] = psnr(deconvolve_field(blurry, truth), sharp)
    return row


def summarise(rows: list[dict]) -> dict:
    """Per output: mean PSNR; and the field against one kernel (wins / losses > 0.1 dB)."""
    if not rows:
        return {}
    out = {"n": len(rows), "input": float(np.mean([r["input"] for r in rows]))}
    for key in OUTPUTS:
        out[key] = float(np.mean([r[key] for r in rows]))
    diff = np.array([r["field"] - r["one"] for r in rows])
    out["field_wins"] = int((diff > 0.1).sum())
    out["field_losses"] = int((diff < -0.1).sum())
    out["field_worst"] = float(diff.min())
    out["uniform"] = int(sum(bool(r["field_uniform"]) for r in rows))
    out["seconds"] = {k: float(np.mean([r[f"{k}_seconds"] for r in rows]))
                      for k in ("one", "field")}
    return out


def markdown_table(summary: dict[str, dict]) -> str:
    lines = ["| blur | cases | input | " + " | ".join(_LABELS[k] for k in OUTPUTS)
             + " | field vs one: wins / losses > 0.1 dB (worst) | fields made uniform "
             "| seconds one / field |",
             "|---|---|---|" + "---|" * len(OUTPUTS) + "---|---|---|"]
    for label, s in summary.items():
        if not s:
            continue
        lines.append(
            f"| {label} | {s['n']} | {s['input']:.2f} | "
            + " | ".join(f"{s[k]:.2f}" for k in OUTPUTS)
            + f" | {s['field_wins']} / {s['field_losses']} ({s['field_worst']:+.2f}) | "
            f"{s['uniform']} | {s['seconds']['one']:.1f} / {s['seconds']['field']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = photo_parser(__doc__)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--limit", type=int, default=None, help="the first N photos only")
    args = ap.parse_args(argv)
    photos = PHOTOS[:args.limit] if args.limit else PHOTOS
    missing = [p for p in photos if not (args.data / "sharp" / f"{p}.png").exists()]
    if missing:
        ap.error(f"photos missing under {args.data / 'sharp'}: {', '.join(missing)}")
    cases = [(args.data, p, k, kind, args.threads)
             for p in photos for k in KERNELS for kind in args.kinds]
    rows = run_rows(functools.partial(run_threaded, run_case), cases, args.jobs)
    summary = {kind: summarise([r for r in rows if r["kind"] == kind]) for kind in args.kinds}
    summary["all"] = summarise(rows)
    table = markdown_table(summary)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary, "table": table},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
