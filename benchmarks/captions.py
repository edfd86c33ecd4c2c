"""Do words steer the restoration? True, empty and wrong captions on held-out photos.

    python benchmarks/captions.py [CHECKPOINT] [--limit 8] [--crop 256] [--steps 4]
                                  [--pattern shake] [--strip docs/caption_strip.png]
                                  [--markdown FILE]

Held-out photos (sharp/kodak24, never trained on) are blurred by the simulator with a
fixed seed, then restored on the full path three times with the same seed: with the
photo's true caption (training/captions/kodak24.jsonl, written by looking at it), with an
empty caption, and with a deliberately wrong caption (another scene entirely). The table
gives PSNR/SSIM for each and how far the outputs move between captions (mean absolute
difference in 8-bit levels, and the PSNR between the two outputs).

    python benchmarks/captions.py --priors [caption_priors options]

runs :mod:`benchmarks.caption_priors` instead: where the words steer the kernel stage's
priors (text, night, face and Kodak subsets blurred with real kernels).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
WRONG_CAPTIONS = (
    "a page of small printed black text and a barcode on white thermal paper",
    "a night city street with neon signs, bright point lights and dark sky",
    "a close-up of a cat's face with long white whiskers and green eyes",
)


def true_captions() -> dict[str, str]:
    captions = {}
    path = ROOT / "training" / "captions" / "kodak24.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            captions[Path(entry["path"]).name] = entry["caption"]
    return captions


def _label(img: np.ndarray, text: str) -> Image.Image:
    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    canvas = Image.new("RGB", (pil.width, pil.height + 34), (24, 24, 24))
    canvas.paste(pil, (0, 34))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate([text[:44], text[44:88]]):
        draw.text((4, 2 + 15 * i), line, fill=(230, 230, 230))
    return canvas


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--priors" in argv:
        argv.remove("--priors")
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from benchmarks.caption_priors import main as priors_main

        return priors_main(argv)
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default=None,
                        help="glow checkpoint (default: the bundled weights)")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pattern", default="shake")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--strip", default=None, help="write an example strip PNG here")
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args(argv)

    from glow_core.engine import Engine, RestoreOptions
    from training.evaluation import build_set
    from training.metrics import psnr, ssim

    engine = Engine(args.checkpoint, device=args.device)
    if not engine.full_available:
        print("this checkpoint has no trained diffusion part: captions cannot act",
              file=sys.stderr)
        return 2
    evalset = build_set(f"kodak-{args.pattern}", crop=args.crop, limit=args.limit,
                        seed=args.seed)
    truth = true_captions()
    results = {k: {"psnr": [], "ssim": []} for k in ("true", "empty", "wrong")}
    moves = {"true_vs_empty": [], "wrong_vs_empty": []}
    strip = None
    for i, image in enumerate(evalset.images):
        name = Path(image.name).name if Path(image.name).suffix else f"{image.name}.png"
        caption = truth.get(name) or truth.get(Path(image.name).stem + ".png", "")
        wrong = WRONG_CAPTIONS[i % len(WRONG_CAPTIONS)]
        outs = {}
        for key, text in (("true", caption), ("empty", ""), ("wrong", wrong)):
            opts = RestoreOptions(mode="full", steps=args.steps, seed=args.seed, caption=text)
            outs[key] = engine.restore(image.blurry, opts).image
            results[key]["psnr"].append(psnr(outs[key], image.sharp))
            results[key]["ssim"].append(ssim(outs[key], image.sharp))
        moves["true_vs_empty"].append(outs["true"] - outs["empty"])
        moves["wrong_vs_empty"].append(outs["wrong"] - outs["empty"])
        if strip is None:
            tiles = [_label(image.blurry, "blurry input"),
                     _label(outs["true"], "true: " + caption),
                     _label(outs["empty"], "empty caption"),
                     _label(outs["wrong"], "wrong: " + wrong),
                     _label(image.sharp, "sharp (ground truth)")]
            strip = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
            x = 0
            for t in tiles:
                strip.paste(t, (x, 0))
                x += t.width
        print(f"  {image.name}: true {results['true']['psnr'][-1]:.2f} dB, "
              f"empty {results['empty']['psnr'][-1]:.2f}, wrong {results['wrong']['psnr'][-1]:.2f}",
              flush=True)

    def change(diffs: list[np.ndarray]) -> tuple[float, float]:
        mad = float(np.mean([np.abs(d).mean() for d in diffs]) * 255)
        mse = float(np.mean([np.square(d).mean() for d in diffs]))
        return mad, (100.0 if mse == 0 else float(-10 * np.log10(mse)))

    lines = [
        f"{len(evalset.images)} held-out kodak24 crops ({args.crop} px), simulated "
        f"`{args.pattern}` blur, full path, {args.steps} steps, seed {args.seed}.",
        "",
        "| caption | PSNR (dB) | SSIM | change vs empty: mean abs (8-bit levels) "
        "| change vs empty: PSNR between outputs (dB) |",
        "|---|---|---|---|---|",
    ]
    for key in ("true", "empty", "wrong"):
        p, s = np.mean(results[key]["psnr"]), np.mean(results[key]["ssim"])
        if key == "empty":
            move = "—", "—"
        else:
            mad, between = change(moves[f"{key}_vs_empty"])
            move = f"{mad:.3f}", f"{between:.1f}"
        lines.append(f"| {key} | {p:.3f} | {s:.4f} | {move[0]} | {move[1]} |")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.strip and strip is not None:
        Path(args.strip).parent.mkdir(parents=True, exist_ok=True)
        strip.save(args.strip)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
