"""Training data for the refiner: (deconvolved, blurry) -> sharp, deconvolved the engine's way.

Physics first (DESIGN.md): the engine deconvolves the photo with an estimated kernel, then
the pre-reconstruction cleans up what deconvolution leaves. An estimate is never the true
kernel, so every sample here is deconvolved with the simulator's TRUE kernel *corrupted
the way real estimates go wrong* (:func:`corrupt_kernel`): a sub-pixel shift, a scale of
0.8-1.25, a rotation of up to 10 degrees, a truncated tail, additive noise, a stray blob,
the wrong window size; sometimes the estimator's own output
(:func:`glow_core.kernel.estimate_kernel`), sometimes the true kernel, and sometimes no
deconvolution at all (the engine backs off on a low-confidence estimate and the network
sees the blurry photo twice). Deconvolution is :func:`glow_core.kernel.deconvolve` with
the engine's default :class:`~glow_core.kernel.DeconvConfig`, so training sees exactly the
images the engine produces.

Blur: the simulator's uniform patterns (camera shake, linear motion, defocus, Gaussian,
shake on defocus) and the measured real kernels except the benchmark's 8 held-out ones
(:data:`HELDOUT_KERNELS`), inside its camera pipeline (linear light, noise, tone, JPEG).

Deconvolution costs ~1 s per 128 px crop on one core, far more than a training step, so
each sample is a pure function of (seed, index) cached to disk (``cache/refine/...``,
git-ignored) and the dataset cycles over ``cache_size`` samples with random flips and
transposes. ``python -m training.deconv_data fill`` fills the cache ahead of training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

#: The blind benchmark's real kernels (``benchmarks/kernels.py``): never trained on.
HELDOUT_KERNELS: tuple[str, ...] = (
    "usrnet12/usrnet12_k09", "usrnet12/usrnet12_k10", "usrnet12/usrnet12_k11",
    "usrnet12/usrnet12_k12", "kair_large/k_large_1", "kair_large/k_large_2",
    "infwide_real/infwide_kernel_20_1", "infwide_real/infwide_kernel_23_1",
)

#: Blur families: the simulator's uniform patterns ("measured" draws only the kernels
#: that are not held out).
DEFAULT_FAMILIES: dict[str, float] = {
    "shake": 0.40, "linear": 0.12, "measured": 0.12, "defocus": 0.14, "gaussian": 0.10,
    "compound": 0.12,
}


@dataclass
class RefineDataConfig:
    crop: int = 128
    seed: int = 0
    cache_size: int = 2000  # distinct samples; the dataset cycles over them
    cache_dir: str = "cache/refine"
    data_root: str | None = None
    photo_weight: float = 0.85  # the rest: procedural dead-leaves images
    blur_scale: float = 0.7  # crops are small: kernels up to ~30-40 px
    families: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAMILIES))
    # Which kernel the deconvolution is given (the rest: the corrupted true kernel).
    p_true: float = 0.12  # the true kernel (user-supplied kernel files, lucky estimates)
    p_estimate: float = 0.04  # the estimator's own output (slow: a few seconds each)
    p_backoff: float = 0.04  # no deconvolution: the engine backed off
    # No blur at all: the sharp photo with noise, not deconvolved (the engine refuses a sharp
    # photo's estimate), its target itself. Without them the network learns that every input
    # is blurry and softens sharp ones: glow-small-v2, trained without, took sharp Kodak
    # 512 px centres to 25.4-41 dB against themselves (kodim13 25.4: the texture smoothed).
    p_sharp: float = 0.0
    # Of those sharp samples, the share that come deconvolved anyway with a small wrong
    # kernel, the blend the acceptance test lets through, and still the photo as target: the
    # kernel stage's false positive on a sharp photo (measured: 7 of 18 sharp GoPro frames
    # and 1-2 of 24 noisy Kodak photos deconvolved with 1.6-4.1 px estimates, each 10-25 dB
    # worse for it after v3, which trusts any deconvolution it is given; no acceptance
    # feature separates them). Measured (README, "Sharp photos"): 3,000 steps from v3 with
    # 15 % such samples (configs/refine_sharp_false.json) took the sharp GoPro frames only
    # 42.15 -> 42.34 dB and the sharp Kodak photos 44.53 -> 43.98: not shipped.
    p_sharp_deconvolved: float = 0.0
    augment: bool = True  # random flips / transposes of cached samples
    # "camera": the simulator's whole camera pipeline (random tone curves, JPEG, highlight
    # clipping: the deconvolution's sRGB assumption is often wrong there, measured: the
    # TRUE kernel gains only ~1 dB and loses on 29 % of samples). "linear": the engine's
    # own model of the photo, as the benchmark blurs it: sRGB -> linear, blur, back,
    # Gaussian noise ``noise`` (sRGB units), 8 bits; the true kernel then gains several dB.
    pipeline: str = "camera"
    noise: tuple[float, float] = (0.002, 0.02)

    def key(self) -> str:
        """Hash of everything that changes the cached samples (not cache_size/augment)."""
        data = {k: v for k, v in asdict(self).items()
                if k not in ("cache_size", "cache_dir", "augment", "data_root")}
        for name in ("p_sharp", "p_sharp_deconvolved"):  # older caches stay valid at 0
            if not data[name]:
                del data[name]
        return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]


# ----------------------------------------------------------------------------- kernels


def allowed_kernel_files(data_root: str | Path | None = None) -> list[Path]:
    """Measured kernels under ``kernels/`` minus :data:`HELDOUT_KERNELS`."""
    from training.sources import DEFAULT_DATA_ROOT

    root = (Path(data_root) if data_root else DEFAULT_DATA_ROOT) / "kernels"
    held = {root / f"{k}.npy" for k in HELDOUT_KERNELS}
    return sorted(p for p in root.glob("*/*.npy") if p not in held)


def _normalise(k: np.ndarray) -> np.ndarray:
    k = np.clip(np.asarray(k, np.float64), 0.0, None)
    s = k.sum()
    if s <= 0:
        out = np.zeros((3, 3))
        out[1, 1] = 1.0
        return out.astype(np.float32)
    return (k / s).astype(np.float32)


def _odd_pad(k: np.ndarray, size: int) -> np.ndarray:
    """Centre ``k`` in a size x size window (crop or zero-pad)."""
    h, w = k.shape
    out = np.zeros((size, size), np.float64)
    sy, sx = max(0, (h - size) // 2), max(0, (w - size) // 2)
    dy, dx = max(0, (size - h) // 2), max(0, (size - w) // 2)
    ch, cw = min(h, size), min(w, size)
    out[dy:dy + ch, dx:dx + cw] = k[sy:sy + ch, sx:sx + cw]
    return out


def corrupt_kernel(k: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """The true kernel damaged the way blind estimates are (1-4 of the errors below).

    Returns (kernel, names of the corruptions applied). The kernel stays non-negative,
    sums to 1 and has an odd square window.
    """
    k = np.asarray(k, np.float64)
    n0 = max(k.shape)
    n = n0 + 8 | 1  # room for scale / rotation / shift
    k = _odd_pad(k, n)
    ops = ["shift", "scale", "rotate", "truncate", "noise", "blob", "size"]
    probs = np.array([0.5, 0.45, 0.45, 0.35, 0.35, 0.2, 0.25])
    chosen = [o for o, p in zip(ops, probs) if rng.random() < p]
    if not chosen:
        chosen = [ops[int(rng.integers(len(ops)))]]
    c = (n - 1) / 2.0
    angle = float(rng.uniform(-10, 10)) if "rotate" in chosen else 0.0
    scale = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))) if "scale" in chosen else 1.0
    if angle or scale != 1.0 or "shift" in chosen:
        m = cv2.getRotationMatrix2D((c, c), angle, scale)
        if "shift" in chosen:
            m[:, 2] += rng.uniform(-1.5, 1.5, size=2)
        k = cv2.warpAffine(k, m, (n, n), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)
        k = np.clip(k, 0.0, None) / max(k.sum(), 1e-12) if k.sum() > 0 else _odd_pad(
            np.ones((1, 1)), n)
    peak = float(k.max())
    if "truncate" in chosen:  # the faint tail lost below a threshold
        k = np.where(k >= rng.uniform(0.05, 0.25) * peak, k, 0.0)
    if "noise" in chosen:  # speckle around the support, as a noisy solve leaves
        support = cv2.dilate((k > 0.02 * peak).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        speck = np.abs(rng.normal(0.0, rng.uniform(0.02, 0.1) * peak, k.shape))
        k = k + speck * (support if rng.random() < 0.7 else 1.0)
    if "blob" in chosen:  # a stray blob of 3-15 % of the mass
        yy, xx = np.mgrid[:n, :n]
        by, bx = rng.uniform(0.15 * n, 0.85 * n, size=2)
        s = rng.uniform(0.7, 2.0)
        blob = np.exp(-((yy - by) ** 2 + (xx - bx) ** 2) / (2 * s * s))
        k = k / k.sum() + rng.uniform(0.03, 0.15) * blob / blob.sum()
    if "size" in chosen:  # the window too small (cuts the kernel) or too large
        size = int(round(n0 * rng.uniform(0.6, 1.5))) | 1
        k = _odd_pad(k, max(3, size))
    return _normalise(k), chosen


# ----------------------------------------------------------------------------- samples


def _bank_root(cfg: RefineDataConfig) -> Path:
    """A folder of the allowed measured kernels (the simulator globs ``root/*/*.npy``)."""
    root = Path(cfg.cache_dir) / "kernels_allowed"
    files = allowed_kernel_files(cfg.data_root)
    marker = root / "LIST"
    listing = "\n".join(str(f) for f in files)
    if not marker.is_file() or marker.read_text() != listing:
        for f in files:
            dest = root / f.parent.name / f.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)
        marker.write_text(listing)
    return root


@dataclass
class _Sample:
    blurry: np.ndarray
    sharp: np.ndarray


def blur_linear(sharp: np.ndarray, kernel: np.ndarray, noise: float,
                rng: np.random.Generator) -> np.ndarray:
    """sRGB -> linear light, blur (reflect borders), -> sRGB, Gaussian noise, 8 bits."""
    from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear
    from training.blur.kernels import blur_image

    k = np.asarray(kernel, np.float32)
    if k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        k = np.pad(k, ((0, 1 - k.shape[0] % 2), (0, 1 - k.shape[1] % 2)))
    lin = blur_image(srgb_to_linear(np.asarray(sharp, np.float32)), k)
    out = linear_to_srgb(np.clip(lin, 0.0, 1.0)) + rng.normal(0.0, noise, sharp.shape)
    return (np.round(np.clip(out, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _sharp_sample(cfg: RefineDataConfig, sharp: np.ndarray, rng: np.random.Generator
                  ) -> dict[str, np.ndarray | str]:
    """A photo with no blur, through the same camera model (noise, 8 bits): not deconvolved,
    or (``p_sharp_deconvolved``) deconvolved with a small false kernel as the stage would
    (blind noise floor) and blended at the strength an acceptance test might give it."""
    from glow_core.kernel import deconvolve

    delta = np.ones((1, 1), np.float32)
    noise = float(rng.uniform(*cfg.noise))
    noisy = blur_linear(sharp, delta, noise, rng)
    if not (cfg.p_sharp_deconvolved and rng.random() < cfg.p_sharp_deconvolved):
        return {"blurry": noisy, "deconvolved": noisy, "sharp": sharp, "kernel_true": delta,
                "family": "sharp", "how": "backoff"}
    false = false_small_kernel(rng)
    deconvolved = deconvolve(noisy, false, noise_sigma=max(noise, 0.01))
    strength = float(rng.uniform(0.5, 1.0))
    out = strength * deconvolved + (1.0 - strength) * noisy
    return {"blurry": noisy, "deconvolved": np.asarray(out, np.float32), "sharp": sharp,
            "kernel_true": delta, "family": "sharp", "how": "false"}


def false_small_kernel(rng: np.random.Generator) -> np.ndarray:
    """A small kernel like the stage's estimates on sharp photos (rms spread ~1.4-4 px): a
    short straight or bent stroke softened by a Gaussian, at any angle, centred."""
    from training.blur.kernels import gaussian_kernel, splat_points
    from training.blur.simulate import _convolve_kernels

    length = float(rng.uniform(3.0, 13.0))
    angle = float(rng.uniform(0.0, np.pi))
    bend = float(rng.uniform(-0.6, 0.6))
    t = np.linspace(-0.5, 0.5, 64)
    xs, ys = t * length, bend * length * (t * t - 1 / 12)  # zero mean: splatted centred
    ca, sa = np.cos(angle), np.sin(angle)
    stroke = splat_points(np.stack([xs * ca - ys * sa, xs * sa + ys * ca], axis=1))
    return _convolve_kernels(stroke, gaussian_kernel(float(rng.uniform(0.4, 1.2))))


def make_sample(cfg: RefineDataConfig, index: int, photos: Any = None,
                kernel_root: Path | None = None) -> dict[str, np.ndarray | str]:
    """One (blurry, deconvolved, sharp) sample, a pure function of (config, index)."""
    from glow_core.kernel import deconvolve, estimate_kernel
    from training.blur.simulate import BlurConfig, simulate
    from training.datasets import SimulatedConfig
    from training.sources import DeadLeavesSource

    rng = np.random.default_rng([cfg.seed, 17, int(index)])
    if photos is not None and rng.random() < cfg.photo_weight:
        sharp, _ = photos.sample_item(rng, cfg.crop)
    else:
        sharp = DeadLeavesSource().sample(rng, cfg.crop)
    if cfg.p_sharp and rng.random() < cfg.p_sharp:
        return _sharp_sample(cfg, np.asarray(sharp, np.float32), rng)
    blur: BlurConfig = SimulatedConfig(blur_scale=cfg.blur_scale).blur_config()
    blur.kernel_root = kernel_root
    names = list(cfg.families)
    p = np.array([cfg.families[n] for n in names], float)
    family = names[int(rng.choice(len(names), p=p / p.sum()))]
    if family == "measured" and kernel_root is None:
        family = "shake"
    if cfg.pipeline == "linear":
        from training.blur.simulate import sample_kernel

        true = np.asarray(sample_kernel(family, rng, blur, blur.max_kernel(*sharp.shape[:2])),
                          np.float32)
        blurry = blur_linear(sharp, true, float(rng.uniform(*cfg.noise)), rng)
        sample = _Sample(blurry=blurry, sharp=np.asarray(sharp, np.float32))
    else:
        sample = simulate(sharp, rng, blur, pattern=family)
    true = np.asarray(sample.kernel if cfg.pipeline != "linear" else true, np.float32)
    u = rng.random()
    if u < cfg.p_backoff:
        how, kernel = "backoff", None
    elif u < cfg.p_backoff + cfg.p_true:
        how, kernel = "true", true
    elif u < cfg.p_backoff + cfg.p_true + cfg.p_estimate:
        how = "estimate"
        size = int(np.clip(round(max(true.shape) * rng.uniform(0.9, 1.5)), 7, cfg.crop // 3))
        try:
            kernel = estimate_kernel(sample.blurry, kernel_size=size).kernel
        except (ValueError, RuntimeError):  # an estimator failure: a corrupted kernel instead
            kernel, ops = corrupt_kernel(true, rng)
            how = "corrupt:" + "+".join(ops)
    else:
        kernel, ops = corrupt_kernel(true, rng)
        how = "corrupt:" + "+".join(ops)
    deconvolved = sample.blurry if kernel is None else deconvolve(sample.blurry, kernel)
    return {"blurry": sample.blurry.astype(np.float32),
            "deconvolved": np.asarray(deconvolved, np.float32),
            "sharp": sample.sharp.astype(np.float32), "kernel_true": true,
            "family": family, "how": how}


class DeconvRefineDataset(Dataset):
    """Cached (blurry, deconvolved, sharp) samples, CHW float tensors; cycles over the cache."""

    def __init__(self, config: RefineDataConfig, length: int = 1_000_000) -> None:
        self.config = config
        self.length = length
        self.folder = Path(config.cache_dir) / config.key()
        self._photos: Any = None
        self._kernel_root: Path | None = None
        self._ready = False

    def _setup(self) -> None:
        if self._ready:
            return
        from training.sources import training_source

        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._kernel_root = _bank_root(self.config)
            if not any(self._kernel_root.glob("*/*.npy")):
                self._kernel_root = None
        except FileNotFoundError:
            self._kernel_root = None
        if self.config.photo_weight > 0:
            try:
                self._photos = training_source(self.config.data_root)
            except FileNotFoundError:
                self._photos = None
        self._ready = True

    def __len__(self) -> int:
        return self.length

    def path(self, i: int) -> Path:
        return self.folder / f"{i:06d}.npz"

    def load_or_make(self, i: int) -> dict[str, Any]:
        path = self.path(i)
        if path.is_file():
            try:
                with np.load(path) as z:
                    return {k: z[k] for k in z.files}
            except (OSError, ValueError, EOFError):  # a half-written file of a killed filler
                pass
        self._setup()
        item = make_sample(self.config, i, self._photos, self._kernel_root)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **item)
        os.replace(tmp, path)
        return item

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = int(index) % self.config.cache_size
        item = self.load_or_make(i)
        imgs = [np.asarray(item[k], np.float32) for k in ("blurry", "deconvolved", "sharp")]
        if self.config.augment:
            rng = np.random.default_rng([self.config.seed, 23, int(index)])
            if rng.random() < 0.5:
                imgs = [im[:, ::-1] for im in imgs]
            if rng.random() < 0.5:
                imgs = [im[::-1] for im in imgs]
            if rng.random() < 0.5:
                imgs = [im.transpose(1, 0, 2) for im in imgs]
        blurry, deconvolved, sharp = (
            torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1) for im in imgs)
        return {"blurry": blurry, "deconvolved": deconvolved, "sharp": sharp,
                "how": str(item.get("how", "")), "index": int(index)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.deconv_data",
                                 description="fill the refiner's sample cache")
    ap.add_argument("cmd", choices=("fill",))
    ap.add_argument("--config", default="training/configs/refine.json",
                    help="a training config whose 'refine' section is used")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--stop", type=int, default=None)
    ap.add_argument("--step", type=int, default=1, help="-1 fills from the top down")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from training.config import load_config

    cfg = load_config(args.config).refine
    ds = DeconvRefineDataset(cfg)
    stop = cfg.cache_size if args.stop is None else args.stop
    order = range(args.start, stop) if args.step > 0 else range(stop - 1, args.start - 1, -1)
    for i in order:
        if not ds.path(i).is_file():
            item = ds.load_or_make(i)
            print(f"{i} {item['family']} {item['how']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
