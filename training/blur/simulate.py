"""The simulator's entry point: draw a blur pattern and a camera, make a training pair.

``simulate(sharp, rng, config)`` returns the blurry image, the sharp target (through the
same tone curve, so the network never learns to change tones), the ground-truth motion
field at full resolution and, for uniform blur, the kernel. Everything random comes
from ``rng``: the same seed gives the same sample.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from . import spatial
from .camera import (
    CameraConfig,
    CameraParams,
    add_noise,
    apply_tone,
    boost_highlights,
    clip_highlights,
    jpeg_compress,
    srgb_to_linear,
)
from .kernels import (
    MeasuredKernels,
    augment_kernel,
    blur_image,
    defocus_kernel,
    delta_kernel,
    gaussian_kernel,
    linear_kernel,
)
from .motion import constant_field, motion_from_covariance, motion_from_kernel
from .trajectory import ShakeParams, camera_shake_kernel, random_trajectory, render_trajectory

__all__ = ["BlurConfig", "BlurPattern", "BlurSample", "sample_kernel", "simulate"]


class BlurPattern(str, Enum):
    """Names of the blur patterns (the value is what :attr:`BlurSample.pattern` holds)."""

    SHAKE = "shake"  # random camera-shake trajectory
    LINEAR = "linear"  # uniform linear motion
    MEASURED = "measured"  # kernels from files, rotated/scaled
    DEFOCUS = "defocus"  # disk, soft edge, cat's eye
    GAUSSIAN = "gaussian"  # isotropic / anisotropic Gaussian
    COMPOUND = "compound"  # camera shake on top of mild defocus
    SPATIAL = "spatial"  # kernels varying smoothly across the frame
    ROTATION = "rotation"  # in-plane camera rotation
    OBJECT = "object"  # moving foreground layer over a differently blurred background
    FRAMES = "frames"  # average of a synthetic moving sequence (GoPro-like)
    NONE = "none"  # already sharp: the model must leave it alone


UNIFORM_PATTERNS = ("shake", "linear", "measured", "defocus", "gaussian", "compound")

DEFAULT_WEIGHTS: dict[str, float] = {
    "shake": 0.20,
    "linear": 0.10,
    "measured": 0.08,
    "defocus": 0.10,
    "gaussian": 0.06,
    "compound": 0.06,
    "spatial": 0.10,
    "rotation": 0.06,
    "object": 0.10,
    "frames": 0.12,
    "none": 0.02,
}


@dataclass
class BlurConfig:
    """Pattern weights and the ranges each pattern draws from (sizes in px)."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    shake_size: tuple[float, float] = (4.0, 40.0)
    shake_exposure: tuple[float, float] = (0.5, 1.0)
    linear_length: tuple[float, float] = (3.0, 40.0)
    defocus_radius: tuple[float, float] = (1.0, 12.0)
    defocus_soft_prob: float = 0.4
    cat_eye_prob: float = 0.3
    gaussian_sigma: tuple[float, float] = (0.5, 5.0)
    gaussian_aniso_prob: float = 0.6
    measured_scale: tuple[float, float] = (0.6, 1.4)
    kernel_root: Path | None = None  # None: <data root>/kernels; missing -> "shake" instead
    spatial_grid: tuple[int, int] = (2, 3)  # knots per axis, inclusive range
    rotation_deg: tuple[float, float] = (0.5, 5.0)
    object_background_sharp_prob: float = 0.4
    frames: tuple[int, int] = (7, 15)
    frame_shift: tuple[float, float] = (4.0, 30.0)
    frame_rotation_deg: float = 1.5
    max_kernel_fraction: float = 0.4  # cap on kernel size relative to min(H, W)
    camera: CameraConfig = field(default_factory=CameraConfig)

    @classmethod
    def only(cls, pattern: str | BlurPattern, **kw: object) -> BlurConfig:
        """A config that always draws ``pattern`` (previews, per-pattern evaluation)."""
        name = BlurPattern(pattern).value
        return cls(weights={name: 1.0}, **kw)  # type: ignore[arg-type]

    def choose(self, rng: np.random.Generator) -> str:
        names = [n for n, w in self.weights.items() if w > 0]
        p = np.array([self.weights[n] for n in names], float)
        return BlurPattern(names[int(rng.choice(len(names), p=p / p.sum()))]).value

    def max_kernel(self, height: int, width: int) -> int:
        """Largest odd kernel size allowed on an ``height x width`` crop."""
        return max(3, int(self.max_kernel_fraction * min(height, width)) | 1)


@dataclass
class BlurSample:
    """One training pair. Images float32 H x W x 3 in [0, 1]."""

    blurry: np.ndarray
    sharp: np.ndarray
    motion: np.ndarray  # H x W x 3: extent cos 2θ, extent sin 2θ, isotropic (px)
    pattern: str
    kernel: np.ndarray | None  # the uniform kernel, None for non-uniform patterns
    camera: CameraParams | None = None


@functools.lru_cache(maxsize=4)
def _measured_bank(root: str) -> MeasuredKernels:
    return MeasuredKernels.from_root(root)


def _kernel_root(cfg: BlurConfig) -> Path:
    if cfg.kernel_root is not None:
        return Path(cfg.kernel_root)
    from ..sources import DEFAULT_DATA_ROOT

    return DEFAULT_DATA_ROOT / "kernels"


def _u(rng: np.random.Generator, lo_hi: tuple[float, float], cap: float) -> float:
    lo, hi = lo_hi
    return float(rng.uniform(min(lo, cap), min(hi, cap)))


def sample_kernel(
    family: str, rng: np.random.Generator, cfg: BlurConfig, max_size: int
) -> np.ndarray:
    """Draw a uniform kernel of ``family`` (one of :data:`UNIFORM_PATTERNS`) <= ``max_size``."""
    k = _sample_kernel(family, rng, cfg, max_size)
    for _ in range(3):  # rare overshoot (centring, trimming): shrink to fit
        if k.shape[0] <= max_size:
            break
        k = augment_kernel(k, 0.0, (max_size - 2) / k.shape[0])
    return k


def _sample_kernel(
    family: str, rng: np.random.Generator, cfg: BlurConfig, max_size: int
) -> np.ndarray:
    if family == "measured":
        bank = _measured_bank(str(_kernel_root(cfg)))
        if len(bank) == 0:
            family = "shake"
        else:
            return bank.sample(rng, cfg.measured_scale, max_size=max_size)
    if family == "shake":
        size = _u(rng, cfg.shake_size, max_size - 3)
        return camera_shake_kernel(rng, size, cfg.shake_exposure, max_size=max_size)
    if family == "linear":
        length = _u(rng, cfg.linear_length, max_size - 2)
        return linear_kernel(length, float(rng.uniform(0, np.pi)))
    if family == "defocus":
        radius = _u(rng, cfg.defocus_radius, (max_size - 2) / 2)
        soft = float(rng.uniform(0, 0.5)) if rng.random() < cfg.defocus_soft_prob else 0.0
        cat = float(rng.uniform(0.1, 0.5)) if rng.random() < cfg.cat_eye_prob else 0.0
        return defocus_kernel(radius, soft, cat, float(rng.uniform(0, 2 * np.pi)))
    if family == "gaussian":
        s1 = _u(rng, cfg.gaussian_sigma, (max_size - 1) / 6)
        s2 = s1 * float(rng.uniform(0.2, 1.0)) if rng.random() < cfg.gaussian_aniso_prob else None
        return gaussian_kernel(s1, s2, float(rng.uniform(0, np.pi)))
    if family == "compound":
        r = _u(rng, (1.0, 3.0), max_size / 6)
        d = defocus_kernel(r, float(rng.uniform(0, 0.5)))
        room = max_size - d.shape[0] + 1
        s = camera_shake_kernel(rng, _u(rng, cfg.shake_size, room), max_size=room)
        return _convolve_kernels(s, d)
    raise ValueError(f"not a uniform blur family: {family!r}")


def _convolve_kernels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.signal import convolve

    k = convolve(a.astype(np.float64), b.astype(np.float64), mode="full")
    return (np.clip(k, 0, None) / k.sum()).astype(np.float32)


# A pattern maps (linear image, rng, cfg, max kernel, foreground) to
# (blurred, sharp target, covariance field or None, kernel or None).
_Result = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]
_PatternFn = Callable[
    [np.ndarray, np.random.Generator, BlurConfig, int, np.ndarray | None], _Result
]


def _uniform(family: str) -> _PatternFn:
    def run(x, rng, cfg, maxk, fg):  # signature fixed by _PatternFn
        k = sample_kernel(family, rng, cfg, maxk)
        return blur_image(x, k), x, None, k

    return run


def _spatial(x, rng, cfg, maxk, fg):
    h, w = x.shape[:2]
    gy, gx = (int(rng.integers(cfg.spatial_grid[0], cfg.spatial_grid[1] + 1)) for _ in range(2))
    family = ("shake", "linear", "defocus", "gaussian")[int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))]
    n = gy * gx
    if family == "shake":
        # One camera path seen differently across the frame (scale and slight rotation).
        path = random_trajectory(rng, ShakeParams())
        path = path / max(float(np.max(path.max(0) - path.min(0))), 1e-9)
        size = _u(rng, cfg.shake_size, maxk - 3)
        kernels = []
        for _ in range(n):
            a = rng.normal(0, 0.3)
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            kernels.append(render_trajectory(path @ rot.T * size * rng.uniform(0.3, 1.0)))
    elif family == "linear":
        base = rng.uniform(0, np.pi)
        kernels = [
            linear_kernel(_u(rng, cfg.linear_length, maxk - 2), base + rng.normal(0, 0.5))
            for _ in range(n)
        ]
    else:
        kernels = [sample_kernel(family, rng, cfg, maxk) for _ in range(n)]
    weights = spatial.blend_weights(h, w, (gy, gx))
    blurred, cov = spatial.spatially_varying_blur(x, kernels, weights)
    return blurred, x, cov, None


def _rotation(x, rng, cfg, maxk, fg):
    h, w = x.shape[:2]
    c = ((w - 1) / 2 + rng.uniform(-0.75, 0.75) * w, (h - 1) / 2 + rng.uniform(-0.75, 0.75) * h)
    rmax = max(np.hypot(px - c[0], py - c[1]) for px in (0, w - 1) for py in (0, h - 1))
    angle = np.radians(rng.uniform(*cfg.rotation_deg))
    angle = min(angle, (maxk - 2) / max(rmax, 1.0)) * rng.choice([-1.0, 1.0])
    blurred, cov = spatial.rotation_blur(x, float(angle), c)
    return blurred, x, cov, None


def _object(x, rng, cfg, maxk, fg):
    h, w = x.shape[:2]
    mask = spatial.random_mask(rng, h, w)
    if fg is None:
        if rng.random() < 0.5:
            fg = x  # a region of the scene itself moves
        else:  # stand-in for "another photo": the same one turned and shifted
            fg = np.roll(x[::-1, ::-1], (int(rng.integers(h)), int(rng.integers(w))), (0, 1))
    kf = sample_kernel("linear" if rng.random() < 0.5 else "shake", rng, cfg, maxk)
    if rng.random() < cfg.object_background_sharp_prob:
        kb = delta_kernel()
    else:
        family = "defocus" if rng.random() < 0.5 else "shake"
        small = BlurConfig(shake_size=(2.0, 8.0), defocus_radius=(1.0, 4.0), camera=cfg.camera)
        kb = sample_kernel(family, rng, small, maxk)
    blurred, sharp, _, cov = spatial.object_motion_blur(x, np.ascontiguousarray(fg), mask, kf, kb)
    return blurred, sharp, cov, None


def _frames(x, rng, cfg, maxk, fg):
    h, w = x.shape[:2]
    n = int(rng.integers(cfg.frames[0], cfg.frames[1] + 1))
    shift = _u(rng, cfg.frame_shift, maxk - 2)
    rot = np.radians(rng.uniform(-cfg.frame_rotation_deg, cfg.frame_rotation_deg))
    c = ((w - 1) / 2 + rng.uniform(-0.5, 0.5) * w, (h - 1) / 2 + rng.uniform(-0.5, 0.5) * h)
    mats = spatial.random_motion_sequence(rng, n, shift, float(rot), c)
    blurred, cov = spatial.frame_average_blur(x, mats)
    return blurred, x, cov, None


def _none(x, rng, cfg, maxk, fg):
    return x.copy(), x, None, delta_kernel()


_PATTERNS: dict[str, _PatternFn] = {
    **{name: _uniform(name) for name in UNIFORM_PATTERNS},
    "spatial": _spatial,
    "rotation": _rotation,
    "object": _object,
    "frames": _frames,
    "none": _none,
}


def _fit(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Resize/crop an external foreground to the sample's size."""
    fh, fw = img.shape[:2]
    s = max(h / fh, w / fw)
    if s > 1 or fh > 2 * h or fw > 2 * w:
        img = cv2.resize(
            img,
            (max(w, round(fw * s)), max(h, round(fh * s))),
            interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
        )
    return np.ascontiguousarray(img[:h, :w], np.float32)


def simulate(
    sharp: np.ndarray,
    rng: np.random.Generator,
    config: BlurConfig | None = None,
    *,
    pattern: str | BlurPattern | None = None,
    foreground: np.ndarray | None = None,
) -> BlurSample:
    """Blur a sharp float32 H x W x 3 image in [0, 1] with a random pattern and camera.

    ``pattern`` forces a pattern; ``foreground`` (H x W x 3, [0, 1]) is another photo for
    the object-motion layer (by default a region of the same photo moves).
    """
    cfg = config or BlurConfig()
    img = np.asarray(sharp, np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected H x W x 3, got {img.shape}")
    h, w = img.shape[:2]
    name = BlurPattern(pattern).value if pattern is not None else cfg.choose(rng)
    cam = cfg.camera.sample(rng)
    x = srgb_to_linear(img) if cam.linear else img.copy()
    if cam.highlight is not None:
        x = boost_highlights(x, cam.highlight, rng)
    fg = None
    if foreground is not None:
        fg = _fit(np.asarray(foreground, np.float32), h, w)
        fg = srgb_to_linear(fg) if cam.linear else fg
    blurred, target, cov, kernel = _PATTERNS[name](x, rng, cfg, cfg.max_kernel(h, w), fg)
    if cov is not None:
        motion = motion_from_covariance(cov)
    else:
        motion = constant_field(motion_from_kernel(kernel), h, w)
    blurred = clip_highlights(blurred)
    if cam.noise is not None:
        blurred = clip_highlights(add_noise(blurred, cam.noise, rng))
    blurry = apply_tone(blurred, cam.tone)
    target = apply_tone(clip_highlights(target), cam.tone)
    if cam.jpeg_quality is not None:
        blurry = jpeg_compress(blurry, cam.jpeg_quality)
    return BlurSample(
        blurry.astype(np.float32), target.astype(np.float32), motion, name, kernel, cam
    )
