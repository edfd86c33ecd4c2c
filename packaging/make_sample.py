"""Make the bundled demo photo: a procedural street-corner scene, then camera shake.

Why procedural: the training photos under shared/data carry licences that do not allow
redistribution inside the app, so the demo image is drawn here from shapes, text and
noise. The scene is built to show what deblurring does: fine text at two sizes, stripes at
several frequencies, thin window frames, round signs, bricks and smooth gradients.

The blur is physically plausible: a random-walk camera-shake trajectory (Boracchi & Foi
style) rasterised with sub-pixel accuracy, applied in linear light, followed by
signal-dependent (shot + read) noise and JPEG compression, as a phone camera would.

    python packaging/make_sample.py   # writes resources/samples/sample_shake{.jpg,_sharp.png}
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "resources" / "samples"
WIDTH, HEIGHT = 768, 512
SUPER = 2  # draw at 2x and downsample: anti-aliased edges like a real lens


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    names = ["DejaVuSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf"] if bold else \
        ["DejaVuSans.ttf", "Arial.ttf", "arial.ttf"]
    for name in names:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def draw_scene(seed: int = 7) -> np.ndarray:
    """Return the sharp scene as float32 RGB in [0, 1], HEIGHT x WIDTH x 3."""
    rng = np.random.default_rng(seed)
    w, h = WIDTH * SUPER, HEIGHT * SUPER
    s = SUPER
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)

    # Sky: warm evening gradient behind the roofline.
    sky = np.linspace(0, 1, 140 * s)[:, None]
    top, bottom = np.array([92, 136, 196]), np.array([246, 206, 160])
    sky_rgb = (top * (1 - sky) + bottom * sky).astype(np.uint8)
    img.paste(Image.fromarray(np.repeat(sky_rgb[:, None, :], w, axis=1)), (0, 0))
    d.ellipse([560 * s, 30 * s, 620 * s, 90 * s], fill=(255, 236, 196))  # low sun

    # Left building: brick wall with windows.
    d.rectangle([0, 110 * s, 430 * s, 400 * s], fill=(150, 72, 52))
    for row, y in enumerate(range(110 * s, 400 * s, 10 * s)):
        d.line([0, y, 430 * s, y], fill=(196, 180, 160), width=s)
        offset = (row % 2) * 12 * s
        for x in range(offset, 430 * s, 24 * s):
            d.line([x, y, x, y + 10 * s], fill=(196, 180, 160), width=s)
            tint = int(rng.integers(-18, 18))
            d.rectangle([x + s, y + s, x + 23 * s, y + 9 * s],
                        fill=(150 + tint, 72 + tint // 2, 52 + tint // 3))
    for col in range(4):
        x0 = 24 * s + col * 102 * s
        d.rectangle([x0 - 4 * s, 126 * s, x0 + 70 * s, 216 * s], fill=(226, 220, 206))
        d.rectangle([x0, 130 * s, x0 + 66 * s, 212 * s], fill=(52, 70, 92))
        d.rectangle([x0 + 3 * s, 133 * s, x0 + 63 * s, 168 * s], fill=(120, 150, 182))
        d.line([x0 + 33 * s, 130 * s, x0 + 33 * s, 212 * s], fill=(226, 220, 206), width=3 * s)
        d.line([x0, 170 * s, x0 + 66 * s, 170 * s], fill=(226, 220, 206), width=3 * s)

    # Shop front: striped awning, sign with large and small text, glass door.
    stripes = ((214, 48, 49), (246, 242, 234))
    for i, x in enumerate(range(10 * s, 420 * s, 20 * s)):
        d.polygon([x, 232 * s, x + 20 * s, 232 * s, x + 26 * s, 262 * s, x + 6 * s, 262 * s],
                  fill=stripes[i % 2])
    for x in range(16 * s, 426 * s, 20 * s):  # scalloped edge
        d.pieslice([x, 252 * s, x + 20 * s, 272 * s], 0, 180, fill=(214, 48, 49))
    d.rectangle([40 * s, 282 * s, 396 * s, 330 * s], fill=(24, 40, 58))
    d.text((218 * s, 300 * s), "GLOW CAFE", font=_font(30 * s), fill=(255, 214, 120),
           anchor="mm")
    d.text((218 * s, 322 * s), "espresso - tea - pastries - open 7:00-22:00",
           font=_font(8 * s, bold=False), fill=(236, 236, 236), anchor="mm")
    d.rectangle([160 * s, 336 * s, 276 * s, 400 * s], fill=(40, 52, 60))
    d.rectangle([166 * s, 340 * s, 270 * s, 400 * s], fill=(96, 124, 140))
    d.line([218 * s, 340 * s, 218 * s, 400 * s], fill=(40, 52, 60), width=3 * s)
    d.text((60 * s, 352 * s), "MENU", font=_font(14 * s), fill=(250, 250, 250))
    d.rectangle([56 * s, 372 * s, 140 * s, 396 * s], fill=(32, 32, 32))
    for k, line in enumerate(("flat white 3.20", "croissant  2.40")):
        d.text((60 * s, (375 + 10 * k) * s), line, font=_font(7 * s, bold=False),
               fill=(240, 240, 220))

    # Right building: pale plaster, poster with a test-chart feel, round sign.
    d.rectangle([430 * s, 140 * s, w, 400 * s], fill=(218, 210, 188))
    d.rectangle([452 * s, 160 * s, 604 * s, 360 * s], fill=(250, 248, 240))
    d.rectangle([452 * s, 160 * s, 604 * s, 360 * s], outline=(30, 30, 30), width=2 * s)
    d.text((528 * s, 182 * s), "JAZZ", font=_font(28 * s), fill=(30, 40, 120), anchor="mm")
    d.text((528 * s, 206 * s), "FRIDAY 21:00", font=_font(12 * s), fill=(200, 40, 60),
           anchor="mm")
    for i, period in enumerate((8, 6, 4, 3)):  # stripe bars, coarse to fine
        y0 = (222 + 22 * i) * s
        for x in range(462 * s, 594 * s, period * s):
            d.rectangle([x, y0, x + period * s // 2 - 1, y0 + 16 * s], fill=(20, 20, 20))
    d.text((528 * s, 322 * s), "tickets at the door", font=_font(9 * s, bold=False),
           fill=(40, 40, 40), anchor="mm")
    d.text((528 * s, 340 * s), "www.example.org/jazz", font=_font(8 * s, bold=False),
           fill=(90, 90, 90), anchor="mm")
    d.ellipse([630 * s, 170 * s, 740 * s, 280 * s], fill=(250, 250, 250))
    d.ellipse([636 * s, 176 * s, 734 * s, 274 * s], fill=(200, 30, 40))
    d.ellipse([650 * s, 190 * s, 720 * s, 260 * s], fill=(250, 250, 250))
    d.text((685 * s, 225 * s), "30", font=_font(30 * s), fill=(20, 20, 20), anchor="mm")
    d.rectangle([682 * s, 280 * s, 688 * s, 420 * s], fill=(90, 96, 100))

    # Pavement with perspective joints, a kerb and a road.
    d.rectangle([0, 400 * s, w, h], fill=(150, 146, 140))
    for x in range(-400, WIDTH + 400, 48):
        d.line([x * s, 400 * s, (x + (x - WIDTH / 2) * 0.8) * s, 460 * s],
               fill=(120, 116, 112), width=s)
    for y in (414, 432):
        d.line([0, y * s, w, y * s], fill=(122, 118, 112), width=s)
    d.rectangle([0, 460 * s, w, 468 * s], fill=(206, 204, 198))
    d.rectangle([0, 468 * s, w, h], fill=(60, 62, 66))
    for x in range(20, WIDTH, 90):
        d.rectangle([x * s, 490 * s, (x + 50) * s, 496 * s], fill=(236, 236, 230))

    # Planter with a shrub: irregular organic texture next to the hard edges.
    d.rectangle([300 * s, 380 * s, 420 * s, 410 * s], fill=(96, 70, 52))
    for _ in range(260):
        cx, cy = rng.uniform(306, 414), rng.uniform(334, 386)
        r = rng.uniform(3, 9)
        g = int(rng.integers(80, 150))
        d.ellipse([(cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s],
                  fill=(int(g * 0.35), g, int(g * 0.3)))

    img = img.filter(ImageFilter.GaussianBlur(0.6 * s)).resize((WIDTH, HEIGHT), Image.LANCZOS)
    rgb = np.asarray(img, dtype=np.float32) / 255.0

    # Photographic finish: soft light falloff from upper right, gentle vignette, fine grain.
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    light = 0.88 + 0.14 * (xx / WIDTH) - 0.06 * (yy / HEIGHT)
    r2 = ((xx - WIDTH / 2) / (WIDTH / 2)) ** 2 + ((yy - HEIGHT / 2) / (HEIGHT / 2)) ** 2
    vignette = 1.0 - 0.18 * r2
    rgb = rgb * (light * vignette)[..., None]
    rgb += rng.normal(0.0, 0.006, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def shake_kernel(size: int = 25, length: float = 18.0, seed: int = 5) -> np.ndarray:
    """Random-walk camera-shake PSF: inertia + random jerks, rasterised sub-pixel."""
    rng = np.random.default_rng(seed)
    steps = 400
    velocity = np.exp(1j * rng.uniform(0, 2 * np.pi))
    pos = np.zeros(steps, dtype=np.complex128)
    for t in range(1, steps):
        velocity += 0.06 * (rng.normal() + 1j * rng.normal())  # jitter
        velocity -= 0.004 * pos[t - 1] / max(length, 1e-6)  # hand pulls back to centre
        velocity /= max(abs(velocity), 1e-9)
        pos[t] = pos[t - 1] + velocity
    pos *= length / max(np.abs(pos - pos.mean()).max() * 2, 1e-9)
    pos -= pos.mean()
    kernel = np.zeros((size, size), dtype=np.float64)
    c = size // 2
    for p in pos:  # bilinear splat keeps the path sub-pixel smooth
        x, y = p.real + c, p.imag + c
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                            (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if 0 <= x0 + dx < size and 0 <= y0 + dy < size:
                kernel[y0 + dy, x0 + dx] += wgt
    kernel = cv2.GaussianBlur(kernel, (0, 0), 0.5)
    return (kernel / kernel.sum()).astype(np.float32)


def apply_shake(sharp: np.ndarray, kernel: np.ndarray, seed: int = 11) -> np.ndarray:
    """Blur in linear light, then add shot + read noise like a small sensor at ISO ~800."""
    rng = np.random.default_rng(seed)
    linear = np.power(sharp, 2.2)
    blurred = cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT)
    shot = rng.normal(size=blurred.shape) * np.sqrt(np.clip(blurred, 0, None) * 0.0004)
    read = rng.normal(0.0, 0.0025, blurred.shape)
    noisy = np.clip(blurred + shot + read, 0.0, 1.0)
    return np.power(noisy, 1 / 2.2).astype(np.float32)


def _to_u8(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def make(out_dir: Path = OUT_DIR) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    sharp = draw_scene()
    blurry = apply_shake(sharp, shake_kernel())
    sharp_path = out_dir / "sample_shake_sharp.png"
    blurry_path = out_dir / "sample_shake.jpg"
    _to_u8(sharp).save(sharp_path, optimize=True)
    _to_u8(blurry).save(blurry_path, quality=92, optimize=True, subsampling=0)
    return blurry_path, sharp_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    for path in make(args.out):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
