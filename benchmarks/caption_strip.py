"""The same blurry receipt restored by the engine under three captions (README strip).

    python -m benchmarks.caption_strip [--data ../shared/data] [--kernel usrnet12/usrnet12_k10]
                                       [--out docs/receipt_captions.png]

The receipt is drawn here (Hershey fonts, prices, a barcode), so the strip copies no
photo of ``../shared/data``; only a measured shake kernel is read from there. It is
blurred the benchmark's way (linear light, 1 % noise, 8 bits) and restored by
:class:`glow_core.engine.Engine` on the shipped weights, blind (the kernel is estimated),
under a text caption, an empty caption (the photo decides) and a wrong (night) caption.
The strip shows sharp, blurry and the three restorations, each labelled with its PSNR;
the table adds the ceiling: the text caption with the true kernel given.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.kernels import best_shift, psnr  # noqa: E402
from training.blur.protocol import blur_photo  # noqa: E402

CAPTIONS: tuple[tuple[str, str], ...] = (
    ("text", "a receipt with small printed text"),
    ("empty", ""),
    ("wrong", "a night city street with neon signs and bright lights"),
)
BAND_LINES = 3
ITEMS = (("COFFEE BEANS 1KG", "18.90"), ("OAT MILK", "2.45"), ("CROISSANT x2", "3.80"),
         ("DARK CHOCOLATE", "4.15"), ("APPLES 1.2KG", "3.36"), ("SPARKLING WATER", "0.89"),
         ("BREAD, RYE", "3.10"), ("TOMATOES", "2.74"))


def render_receipt(width: int = 320, height: int = 420, seed: int = 0) -> np.ndarray:
    """A till receipt, sRGB float32 H x W x 3: small print, rules, a barcode, paper grain."""
    rng = np.random.default_rng(seed)
    paper = np.full((height, width), 236.0) + rng.normal(0, 2.0, (height, width))
    img = np.clip(cv2.GaussianBlur(paper, (0, 0), 1.2), 0, 255).astype(np.uint8)
    ink = 30
    font, small = cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN

    def text(s: str, x: int, y: int, scale: float, f: int = font, thick: int = 1) -> None:
        cv2.putText(img, s, (x, y), f, scale, ink, thick, cv2.LINE_AA)

    text("GLOW MARKET", 70, 34, 0.8, thick=2)
    text("12 HARBOUR ROAD  TEL 0123 456 789", 22, 54, 0.9, small)
    text("2026-11-30  14:05   TILL 3", 52, 72, 0.9, small)
    cv2.line(img, (14, 82), (width - 14, 82), ink, 1, cv2.LINE_AA)
    y = 102
    for name, price in ITEMS:
        text(name, 18, y, 0.42)
        text(price, width - 64, y, 0.42)
        y += 22
    cv2.line(img, (14, y - 10), (width - 14, y - 10), ink, 1, cv2.LINE_AA)
    text("TOTAL", 18, y + 12, 0.6, thick=2)
    text("39.39", width - 86, y + 12, 0.6, thick=2)
    text("CARD **** 4821   THANK YOU!", 30, y + 36, 0.9, small)
    x, top = 40, y + 50
    while x < width - 40:  # a barcode: bars of 1-3 px with gaps of 1-3 px
        w = int(rng.integers(1, 4))
        img[top:top + 40, x:x + w] = ink
        x += w + int(rng.integers(1, 4))
    rgb = np.repeat(img[..., None], 3, axis=2).astype(np.float32) / 255.0
    return rgb * np.array([1.0, 0.985, 0.95], np.float32)  # warm paper


def _label(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """The image (float sRGB) with a white caption band above it, uint8."""
    tile = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    band = np.full((18 * BAND_LINES + 8, tile.shape[1], 3), 255, np.uint8)
    for i, s in enumerate(lines):
        cv2.putText(band, s, (6, 18 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return np.concatenate([band, tile], axis=0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--kernel", default="usrnet12/usrnet12_k10")
    p.add_argument("--checkpoint", default=None, help="weights (default: the shipped ones)")
    p.add_argument("--out", default="docs/receipt_captions.png")
    args = p.parse_args(argv)

    from glow_core.engine import Engine, RestoreOptions
    from glow_core.semantics import DOUBT_NOTES

    sharp = render_receipt()
    kernel = np.load(Path(args.data) / "kernels" / f"{args.kernel}.npy").astype(np.float64)
    blurry = blur_photo(sharp, kernel, 0.01, seed=0)
    engine = Engine(args.checkpoint, device="cpu")
    tiles = [_label(sharp, ["sharp (drawn)"]),
             _label(blurry, ["blurry (floor)", f"{psnr(blurry, sharp):.2f} dB"])]
    print(f"{'caption':<58} {'kernel':<9} {'case':<20} {'PSNR':>6}")
    runs = [(key, caption, None) for key, caption in CAPTIONS]
    runs.append(("ceiling", CAPTIONS[0][1], kernel.astype(np.float32)))
    for key, caption, given in runs:
        result = engine.restore(blurry, RestoreOptions(caption=caption, kernel=given))
        out = np.asarray(result.image, np.float32)[..., :3]
        score = psnr(out, sharp, best_shift(out, sharp))
        priors = result.info.get("kernel", {}).get("priors", {})
        weights = priors.get("weights", {})
        case = max(weights, key=weights.get) if weights else "-"
        if set(priors.get("notes", [])) & set(DOUBT_NOTES.values()):
            case += " (off: general)"  # the words said it, the pixels did not agree
        shown = f'"{caption}"' if caption else "(empty: the photo decides)"
        how = "true" if given is not None else "estimated"
        print(f"{shown:<58} {how:<9} {case:<20} {score:6.2f}")
        if given is None:  # the strip shows what a user gets: blind
            tiles.append(_label(out, textwrap.wrap(shown, 40)[:BAND_LINES - 1]
                                + [f"{key}: {case} prior, {score:.2f} dB"]))
    strip = np.concatenate(tiles, axis=1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
