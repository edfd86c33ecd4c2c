"""A compact copy of the training photos for a machine that cannot see ``../shared``.

The device machine takes at most 64 MiB of working tree, so each training photo
becomes at most ``--crops`` native-resolution JPEG crops of ``--size`` px (no resizing:
downscaling would make every photo sharper than a real capture, and the refiner learns
what sharp looks like). The held-out validation folders are left out, the kernels copied.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np

from training.sources import DEFAULT_DATA_ROOT, IMAGE_EXTENSIONS, VALIDATION_FOLDERS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--crops", type=int, default=2)
    ap.add_argument("--quality", type=int, default=90)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shutil.copytree(args.root / "kernels", args.dest / "kernels", dirs_exist_ok=True)
    n = 0
    for folder in sorted((args.root / "sharp").iterdir()):
        if not folder.is_dir() or folder.name in VALIDATION_FOLDERS:
            continue
        for f in sorted(folder.rglob("*")):
            if f.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                continue
            h, w = img.shape[:2]
            s = args.size
            crops = [(0, 0)] if h <= s and w <= s else [
                (int(rng.integers(0, max(1, h - s + 1))), int(rng.integers(0, max(1, w - s + 1))))
                for _ in range(args.crops)]
            rel = f.relative_to(args.root / "sharp").with_suffix("")
            for j, (y, x) in enumerate(crops):
                out = args.dest / "sharp" / f"{rel}_{j}.jpg"
                out.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(out), img[y:y + s, x:x + s],
                            [cv2.IMWRITE_JPEG_QUALITY, args.quality])
                n += 1
    print(f"{n} crops -> {args.dest}")


if __name__ == "__main__":
    main()
