"""Camera pipeline around the blur: linear light, highlights, clipping, noise, tone, JPEG.

Blur happens in the scene, i.e. in linear light, before the sensor clips and adds noise,
and before the camera's tone curve and compression. Simulating that order matters in
practice: lights streak instead of smearing into grey, noise is signal-dependent, and
JPEG blocks sit on top of the blur. Each step is a plain function with its parameters in
a dataclass; :class:`CameraConfig` draws random parameters for :func:`simulate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

__all__ = [
    "CameraConfig",
    "CameraParams",
    "HighlightParams",
    "NoiseParams",
    "ToneParams",
    "add_noise",
    "apply_tone",
    "boost_highlights",
    "clip_highlights",
    "jpeg_compress",
    "linear_to_srgb",
    "srgb_to_linear",
]


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """Invert the sRGB transfer curve (IEC 61966-2-1), float32."""
    x = np.asarray(x, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0) + 0.055) / 1.055) ** 2.4).astype(
        np.float32
    )


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Apply the sRGB transfer curve, float32 (inputs clipped at 0)."""
    x = np.maximum(np.asarray(x, np.float32), 0.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


@dataclass
class HighlightParams:
    """Boost ``count`` bright spots by up to ``gain`` (linear light) so they saturate."""

    count: int = 3
    gain: float = 4.0
    threshold: float = 0.6  # linear luminance that counts as "bright"
    radius: float = 12.0  # px, Gaussian footprint of a boosted region


def boost_highlights(
    linear: np.ndarray, params: HighlightParams, rng: np.random.Generator
) -> np.ndarray:
    """Push a few bright regions above 1 before blur, as real lights are.

    A displayed photo clips lamps at 1; the scene was far brighter, which is why a shaken
    lamp draws a bright streak rather than a dim smear. Seeds are drawn among pixels
    brighter than ``threshold`` (or the brightest 0.5 %); each boosts a soft blob, only
    on bright pixels, so dark surroundings stay put.
    """
    img = np.asarray(linear, np.float32)
    h, w = img.shape[:2]
    lum = img @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    thr = min(params.threshold, float(np.quantile(lum, 0.995)))
    ys, xs = np.nonzero(lum >= thr)
    if len(ys) == 0 or params.count <= 0:
        return img.copy()
    pick = rng.integers(0, len(ys), size=params.count)
    blobs = np.zeros((h, w), np.float32)
    blobs[ys[pick], xs[pick]] = 1.0
    blobs = cv2.GaussianBlur(blobs, (0, 0), params.radius)
    blobs /= max(float(blobs.max()), 1e-12)
    bright = np.clip((lum - thr) / max(1.0 - thr, 1e-3) * 2.0, 0.0, 1.0)
    factor = 1.0 + (params.gain - 1.0) * blobs * bright
    return img * factor[..., None]


def clip_highlights(x: np.ndarray) -> np.ndarray:
    """Sensor saturation: clip to [0, 1] (after blur)."""
    return np.clip(x, 0.0, 1.0).astype(np.float32)


@dataclass
class NoiseParams:
    """Poisson-Gaussian noise: variance ``shot * x + read`` (``read`` is a variance)."""

    shot: float = 0.0
    read: float = 0.0


def add_noise(x: np.ndarray, params: NoiseParams, rng: np.random.Generator) -> np.ndarray:
    """Shot noise ``shot * Poisson(x / shot)`` plus Gaussian read noise; not clipped.

    Mean is ``x`` and variance ``shot * x + read`` (for ``x >= 0``).
    """
    x = np.asarray(x, np.float32)
    out = x.astype(np.float64)
    if params.shot > 0:
        out = params.shot * rng.poisson(np.maximum(out, 0.0) / params.shot)
    if params.read > 0:
        out = out + rng.normal(0.0, np.sqrt(params.read), size=x.shape)
    return out.astype(np.float32)


@dataclass
class ToneParams:
    """Tone curve back to display values: sRGB, a plain gamma, or sRGB plus an S-curve."""

    kind: Literal["srgb", "gamma", "scurve", "identity"] = "srgb"
    gamma: float = 2.2
    contrast: float = 0.0  # S-curve strength in [0, 1]


def apply_tone(linear: np.ndarray, params: ToneParams) -> np.ndarray:
    """Map clipped linear light in [0, 1] to display values in [0, 1]."""
    x = np.clip(np.asarray(linear, np.float32), 0.0, 1.0)
    if params.kind == "identity":
        return x
    if params.kind == "gamma":
        return (x ** (1.0 / params.gamma)).astype(np.float32)
    y = linear_to_srgb(x)
    if params.kind == "scurve":
        s = y * y * (3.0 - 2.0 * y)  # smoothstep: monotone, fixes 0 and 1
        y = (1.0 - params.contrast) * y + params.contrast * s
    return np.clip(y, 0.0, 1.0).astype(np.float32)


def jpeg_compress(x: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip an RGB float image through JPEG at ``quality`` (cv2, 4:2:0)."""
    u8 = np.clip(np.round(np.asarray(x, np.float32) * 255.0), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return (dec.astype(np.float32) / 255.0).reshape(x.shape)


@dataclass
class CameraParams:
    """One drawn camera: every step's parameters (``None`` = step off)."""

    linear: bool = True
    highlight: HighlightParams | None = None
    noise: NoiseParams | None = None
    tone: ToneParams = field(default_factory=ToneParams)
    jpeg_quality: int | None = None


@dataclass
class CameraConfig:
    """Probabilities and ranges from which :meth:`sample` draws a :class:`CameraParams`."""

    linear_prob: float = 0.9  # else blur directly on display values (no tone curve)
    highlight_prob: float = 0.3
    highlight_count: tuple[int, int] = (1, 6)
    highlight_gain: tuple[float, float] = (1.5, 8.0)
    noise_prob: float = 0.7
    shot_noise: tuple[float, float] = (0.0, 0.01)  # 'a' of var = a x + b
    read_noise_std: tuple[float, float] = (0.0, 0.01)  # sqrt(b)
    tone_weights: dict[str, float] = field(
        default_factory=lambda: {"srgb": 0.6, "gamma": 0.2, "scurve": 0.2}
    )
    gamma: tuple[float, float] = (1.8, 2.6)
    contrast: tuple[float, float] = (0.1, 0.6)
    jpeg_prob: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)

    @classmethod
    def off(cls) -> CameraConfig:
        """No camera: blur the display values directly (tests, clean previews)."""
        return cls(linear_prob=0.0, highlight_prob=0.0, noise_prob=0.0, jpeg_prob=0.0)

    def sample(self, rng: np.random.Generator) -> CameraParams:
        linear = bool(rng.random() < self.linear_prob)
        hl = None
        if rng.random() < self.highlight_prob:
            hl = HighlightParams(
                count=int(rng.integers(self.highlight_count[0], self.highlight_count[1] + 1)),
                gain=float(rng.uniform(*self.highlight_gain)),
                radius=float(rng.uniform(4.0, 20.0)),
            )
        noise = None
        if rng.random() < self.noise_prob:
            noise = NoiseParams(
                shot=float(rng.uniform(*self.shot_noise)),
                read=float(rng.uniform(*self.read_noise_std)) ** 2,
            )
        tone = ToneParams(kind="identity")
        if linear:
            names = list(self.tone_weights)
            p = np.array([self.tone_weights[n] for n in names], float)
            kind = names[int(rng.choice(len(names), p=p / p.sum()))]
            tone = ToneParams(
                kind=kind,  # type: ignore[arg-type]
                gamma=float(rng.uniform(*self.gamma)),
                contrast=float(rng.uniform(*self.contrast)),
            )
        q = None
        if rng.random() < self.jpeg_prob:
            q = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
        return CameraParams(linear=linear, highlight=hl, noise=noise, tone=tone, jpeg_quality=q)
