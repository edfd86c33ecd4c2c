"""Dev benchmark for blind kernel estimation (glow_core.kernel.estimate_kernel).

Protocol: Kodak24 sharp photos (500x500, sRGB) -> linear light -> blurred with a measured
kernel (``scipy.signal.convolve(..., mode="same")``, then the kernel-wide border is
cropped so no zero padding is seen) -> sRGB -> + Gaussian noise (sigma on [0, 1]) ->
8-bit. Then: estimate the kernel blind, deconvolve with it and with the TRUE kernel by
the same non-blind method, and report PSNR (on the crop, a further 8 px border excluded)
of the blurry input (floor), true-kernel deconvolution (ceiling), blind deconvolution,
the error ratio MSE_blind / MSE_true, the kernel similarity (max NCC over shifts) and
seconds.

Usage: python benchmarks/kernel_dev.py [--images 6] [--kernels k09,k10,...] [--noise 0.01]
       [--crop 320] [--deconv own|helper] [--size auto|true]
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import sys
import time

import numpy as np
import scipy.signal
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from glow_core.kernel import (  # noqa: E402
    KernelConfig,
    estimate_kernel,
    extend_periodic,
    kernel_similarity,
    linear_to_srgb,
    psf2otf,
    srgb_to_linear,
)
from glow_core.kernel.fft import crop_back, otf_of_gradients  # noqa: E402

DATA = os.environ.get("GLOW_DATA", "/work/shared/data")
KERNELS = {
    "k09": "usrnet12/usrnet12_k09",
    "k10": "usrnet12/usrnet12_k10",
    "k11": "usrnet12/usrnet12_k11",
    "k12": "usrnet12/usrnet12_k12",
    "inf20": "infwide_real/infwide_kernel_20_1",
    "inf23": "infwide_real/infwide_kernel_23_1",
    "large1": "kair_large/k_large_1",
    "large2": "kair_large/k_large_2",
}


def blur_photo(sharp: np.ndarray, k: np.ndarray, noise: float, rng: np.random.Generator):
    """Blur in linear light, crop the border the kernel reaches, add noise, quantise."""
    lin = srgb_to_linear(sharp)
    bl = np.stack([scipy.signal.convolve(lin[..., c], k, mode="same") for c in range(3)], -1)
    m = max(k.shape) // 2 + 1  # beyond this the zero padding of "same" is not seen
    bl = linear_to_srgb(bl)[m:-m, m:-m]
    gt = sharp[m:-m, m:-m]
    bl = bl + noise * rng.standard_normal(bl.shape)
    bl = np.round(np.clip(bl, 0, 1) * 255) / 255
    return bl.astype(np.float32), gt


def quick_deconv(srgb: np.ndarray, k: np.ndarray, noise: float) -> np.ndarray:
    """Fixed non-blind deconvolution: hyper-Laplacian (alpha 2/3 approximated by IRLS-free
    HQS with a shrinkage) in linear light, on a periodic extension. Same for every kernel,
    so it only serves to compare kernels."""
    lin = torch.from_numpy(srgb_to_linear(srgb)).permute(2, 0, 1).double()
    kt = torch.from_numpy(k).double()
    yp, crop = extend_periodic(lin, max(k.shape) + 8)
    shape = yp.shape[-2:]
    ko = psf2otf(kt, shape)
    dx, dy = otf_of_gradients(shape, dtype=torch.float64)
    lam = 2e-3 + 0.2 * noise  # prior weight grows with noise
    num1 = ko.conj() * torch.fft.rfft2(yp)
    den_k = ko.abs() ** 2
    den_d = dx.abs() ** 2 + dy.abs() ** 2
    x = yp
    beta = 1e-3
    for _ in range(8):
        gx = torch.roll(x, -1, -1) - x
        gy = torch.roll(x, -1, -2) - x
        # TV-like shrinkage (L1): soft threshold at lam / beta
        t = lam / beta
        mag = torch.sqrt(gx**2 + gy**2) + 1e-12
        s = torch.clamp(mag - t, min=0) / mag
        gx, gy = gx * s, gy * s
        div = (torch.roll(gx, 1, -1) - gx) + (torch.roll(gy, 1, -2) - gy)
        x = torch.fft.irfft2((num1 + beta * torch.fft.rfft2(div)) / (den_k + beta * den_d), s=shape)
        beta *= 2.5
    out = crop_back(x, crop).permute(1, 2, 0).float().numpy()
    return np.clip(linear_to_srgb(out), 0, 1)


def psnr(a: np.ndarray, b: np.ndarray, border: int = 8) -> float:
    a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--crop", type=int, default=0, help="centre crop of the sharp photo (0: all)")
    ap.add_argument("--size", default="auto", choices=["auto", "true"])
    ap.add_argument("--deconv", default="own", choices=["own", "helper"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="KernelConfig override key=value")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    paths = sorted(glob.glob(os.path.join(DATA, "sharp/kodak24/*")))
    paths = paths[args.first : args.first + args.images]
    if args.deconv == "helper":
        from glow_core.kernel.deconvolve import deconvolve

        def dec(img, k, noise):
            return deconvolve(img, k)
    else:
        dec = quick_deconv
    base = KernelConfig()
    over = {}
    for kv in args.set:
        key, val = kv.split("=")
        over[key] = type(getattr(base, key))(val)
    cfg = KernelConfig(**over)
    rows = []
    print(f"overrides {over}")
    print(f"noise {args.noise}, crop {args.crop or 'full'}, size {args.size}, deconv {args.deconv}, "
          f"threads {torch.get_num_threads()}")
    print(f"{'image':10s} {'kernel':7s} {'blurry':>7s} {'true':>7s} {'blind':>7s} {'ratio':>6s} "
          f"{'sim':>5s} {'conf':>5s} {'size':>4s} {'sec':>5s}")
    for ki, kname in enumerate(args.kernels.split(",")):
        k = np.load(os.path.join(DATA, "kernels", KERNELS[kname] + ".npy"))
        for ii, p in enumerate(paths):
            sharp = np.asarray(Image.open(p).convert("RGB"), np.float32) / 255
            if args.crop:
                h, w = sharp.shape[:2]
                c = args.crop + 2 * (max(k.shape) // 2 + 1)
                y0, x0 = max(0, (h - c) // 2), max(0, (w - c) // 2)
                sharp = sharp[y0 : y0 + c, x0 : x0 + c]
            rng = np.random.default_rng(1000 * ki + ii)
            blurry, gt = blur_photo(sharp, k, args.noise, rng)
            t = time.perf_counter()
            est = estimate_kernel(blurry, cfg, kernel_size=max(k.shape) if args.size == "true" else None)
            sec = time.perf_counter() - t
            p_blur = psnr(blurry, gt)
            x_true = dec(blurry, k, args.noise)
            x_blind = dec(blurry, est.kernel, args.noise)
            p_true, p_blind = psnr(x_true, gt), psnr(x_blind, gt)
            ratio = 10 ** ((p_true - p_blind) / 10)
            sim = kernel_similarity(est.kernel, k)
            rows.append((p_blur, p_true, p_blind, ratio, sim, est.confidence, sec, blurry.shape))
            print(f"{os.path.basename(p)[:10]:10s} {kname:7s} {p_blur:7.2f} {p_true:7.2f} "
                  f"{p_blind:7.2f} {ratio:6.2f} {sim:5.2f} {est.confidence:5.2f} {est.size:4d} "
                  f"{sec:5.1f}", flush=True)
    a = np.array([r[:7] for r in rows])
    mp = np.mean([r[7][0] * r[7][1] / 1e6 for r in rows])
    print(f"MEAN {'':14s} {a[:,0].mean():7.2f} {a[:,1].mean():7.2f} {a[:,2].mean():7.2f} "
          f"{np.median(a[:,3]):6.2f}(median) sim {a[:,4].mean():.2f}  share ratio<=2: "
          f"{np.mean(a[:,3] <= 2):.0%}  sec {a[:,6].mean():.1f} ({a[:,6].mean()/mp:.1f} s/MP, "
          f"{mp:.2f} MP)")


if __name__ == "__main__":
    main()
