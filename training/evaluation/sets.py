"""Evaluation sets: which images, blurred how, and cached in memory.

Sets (see ``python -m training evaluate --help``):

- ``kodak-<pattern>`` / ``kodak-mixed``: the held-out ``sharp/kodak24`` photos (never
  trained on), centre-cropped, blurred by the simulator with one pattern (or the default
  pattern mix) and the default camera pipeline; every image's rng is fixed by
  ``(seed, pattern, file name)``, so every checkpoint meets exactly the same set.
  ``kodak-all`` expands to every pattern.
- ``synthetic[-<pattern>]``: the same on procedural dead-leaves images (needs no data;
  tests and smoke runs). ``synthetic`` alone is ``synthetic-mixed``.
- ``gopro-real``: the held-out real pairs of ``pairs/gopro_frameavg``.
- ``folder:<path>``: any paired folder :mod:`training.paired` reads (GoPro, HIDE,
  RealBlur, RSBlur, plain ``blur/`` + ``sharp/``), ``folder_split`` (default ``test``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.blur.camera import CameraConfig, CameraParams
from training.blur.simulate import BlurConfig, BlurPattern, simulate

PATTERNS: tuple[str, ...] = tuple(p.value for p in BlurPattern)
SYNTHETIC_COUNT = 8
DEFAULT_CROP = 256


@dataclass
class EvalImage:
    """One evaluation pair; ``kernel``/``camera`` are known for simulated uniform blur."""

    name: str
    blurry: np.ndarray
    sharp: np.ndarray
    pattern: str
    kernel: np.ndarray | None = None
    camera: CameraParams | None = None


@dataclass
class EvalSet:
    name: str
    description: str
    images: list[EvalImage]
    references: list[dict[str, dict[str, float]]] | None = None  # filled lazily, cached
    references_border: int | None = None  # the metric border the references were scored at
    seconds_building: float = 0.0


@dataclass(frozen=True)
class _Key:
    name: str
    crop: int
    limit: int | None
    seed: int
    camera: str
    data_root: str
    folder_split: str


_CACHE: dict[_Key, EvalSet] = {}


def clear_cache() -> None:
    """Forget the simulated sets and their classical references."""
    _CACHE.clear()


def expand_sets(names: Sequence[str]) -> list[str]:
    """Resolve aliases (``kodak-all``, ``synthetic``) and check every name."""
    out: list[str] = []
    for name in names:
        if name == "kodak-all":
            out += [f"kodak-{p}" for p in PATTERNS]
            continue
        if name == "synthetic":
            name = "synthetic-mixed"
        _parse(name)
        out.append(name)
    return list(dict.fromkeys(out))


def _parse(name: str) -> tuple[str, str]:
    """(kind, argument): ("sim-kodak", pattern), ("sim-synthetic", ...), ("gopro", ""), ..."""
    if name == "gopro-real":
        return "gopro", ""
    if name.startswith("folder:"):
        if not name[len("folder:"):]:
            raise ValueError("folder: needs a path, e.g. folder:/data/RealBlur")
        return "folder", name[len("folder:"):]
    for source in ("kodak", "synthetic"):
        if name.startswith(source + "-"):
            pattern = name[len(source) + 1:]
            if pattern == "mixed" or pattern in PATTERNS:
                return f"sim-{source}", pattern
            raise ValueError(f"unknown blur pattern {pattern!r} in set {name!r}; patterns: "
                             f"{', '.join(PATTERNS)}, mixed")
    raise ValueError(f"unknown set {name!r}; sets: kodak-<pattern>, kodak-mixed, kodak-all, "
                     "synthetic[-<pattern>], gopro-real, folder:<path>")


def _data_root(data_root: str | Path | None) -> Path:
    if data_root is not None:
        return Path(data_root)
    from training.sources import DEFAULT_DATA_ROOT

    return DEFAULT_DATA_ROOT


def _center_crop(img: np.ndarray, crop: int) -> np.ndarray:
    if not crop:
        return img
    h, w = img.shape[:2]
    ch, cw = min(crop, h), min(crop, w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])


def _camera_config(camera: str) -> CameraConfig:
    if camera == "default":
        return CameraConfig()
    if camera == "off":
        return CameraConfig.off()
    raise ValueError(f"camera must be 'default' or 'off', not {camera!r}")


def describe_camera(camera: str) -> str:
    """One sentence on the camera pipeline simulated sets go through."""
    if camera == "off":
        return ("camera pipeline off: blur applied directly to display values, "
                "no noise, no tone curve, no JPEG")
    c = CameraConfig()
    tones = ", ".join(f"{k} {v:.0%}" for k, v in c.tone_weights.items())
    return (
        f"default simulator camera: blur in linear light for {c.linear_prob:.0%} of images "
        f"(then a tone curve: {tones}), boosted highlights {c.highlight_prob:.0%}, "
        f"Poisson-Gaussian noise {c.noise_prob:.0%} (shot a in {list(c.shot_noise)}, read "
        f"sigma in {list(c.read_noise_std)}), JPEG {c.jpeg_prob:.0%} "
        f"(quality {c.jpeg_quality[0]}-{c.jpeg_quality[1]})"
    )


def camera_summary(cam: CameraParams | None) -> dict[str, Any] | None:
    if cam is None:
        return None
    return {
        "linear": cam.linear,
        "tone": cam.tone.kind,
        "highlights": cam.highlight is not None,
        "noise_shot": cam.noise.shot if cam.noise else 0.0,
        "noise_read_sigma": float(np.sqrt(cam.noise.read)) if cam.noise else 0.0,
        "jpeg_quality": cam.jpeg_quality,
    }


def _simulated(source: str, pattern: str, crop: int, limit: int | None, seed: int,
               camera: str, data_root: Path) -> tuple[list[EvalImage], str]:
    from training.paired import read_rgb

    size = crop or DEFAULT_CROP
    sharp_images: list[tuple[str, np.ndarray]] = []
    if source == "kodak":
        from training.sources import validation_files

        files = validation_files(data_root)
        if not files:
            raise FileNotFoundError(f"no validation photos under {data_root / 'sharp'}")
        for f in files[:limit]:
            sharp_images.append((f.stem, _center_crop(read_rgb(f), crop)))
        where = (f"{len(sharp_images)} held-out Kodak photos, "
                 + (f"{crop}x{crop} centre crops" if crop else "full frames"))
    else:
        from training.sources import dead_leaves

        for i in range(SYNTHETIC_COUNT if limit is None else limit):
            rng = np.random.default_rng([seed, 0x5EED, i])
            sharp_images.append((f"dead-leaves-{i:02d}", dead_leaves(rng, size)))
        where = f"{len(sharp_images)} procedural dead-leaves images, {size}x{size}"
    kw: dict[str, Any] = {"camera": _camera_config(camera),
                          "kernel_root": data_root / "kernels"}
    cfg = BlurConfig(**kw) if pattern == "mixed" else BlurConfig.only(pattern, **kw)
    images = []
    for name, sharp in sharp_images:
        rng = np.random.default_rng([seed, zlib.crc32(f"{pattern}/{name}".encode())])
        sample = simulate(sharp, rng, cfg, pattern=None if pattern == "mixed" else pattern)
        images.append(EvalImage(name, sample.blurry, sample.sharp, sample.pattern,
                                sample.kernel, sample.camera))
    blur = "the default pattern mix" if pattern == "mixed" else f"'{pattern}' blur"
    return images, f"{where}, {blur} (simulator seed {seed}); {describe_camera(camera)}"


def _real(pairs: Sequence[Any], crop: int, limit: int | None) -> list[EvalImage]:
    from training.paired import PairedDataError, center_crop_pair, read_rgb

    images = []
    for pair in list(pairs)[:limit]:
        blurry, sharp = read_rgb(pair.blurry), read_rgb(pair.sharp)
        if blurry.shape != sharp.shape:
            raise PairedDataError(f"pair sizes differ: {pair.blurry} {blurry.shape[:2]} vs "
                                  f"{pair.sharp} {sharp.shape[:2]}")
        if crop:
            blurry, sharp = center_crop_pair(blurry, sharp, crop)
        images.append(EvalImage(pair.name, np.ascontiguousarray(blurry),
                                np.ascontiguousarray(sharp), "real"))
    return images


def build_set(name: str, *, crop: int = DEFAULT_CROP, limit: int | None = None, seed: int = 0,
              camera: str = "default", data_root: str | Path | None = None,
              folder_split: str = "test") -> EvalSet:
    """The images of set ``name`` (cached in memory, with its references once computed)."""
    if crop < 0 or crop % 32:
        raise ValueError(f"crop must be 0 (full frame) or a positive multiple of 32, not {crop}")
    if limit is not None and limit <= 0:
        raise ValueError("limit must be positive")
    root = _data_root(data_root)
    key = _Key(name, crop, limit, seed, camera, str(root), folder_split)
    if key in _CACHE:
        return _CACHE[key]
    start = time.perf_counter()
    kind, arg = _parse(name)
    if kind.startswith("sim-"):
        images, description = _simulated(kind[4:], arg, crop, limit, seed, camera, root)
    elif kind == "gopro":
        from training.paired import gopro_frameavg_split

        images = _real(gopro_frameavg_split(root, "heldout"), crop, limit)
        description = (f"{len(images)} held-out real frame-averaging pairs of "
                       f"pairs/gopro_frameavg, "
                       + (f"{crop}x{crop} centre crops" if crop else "full 1280x720 frames"))
    else:
        from training.paired import detect_layout, find_pairs

        layout = detect_layout(arg)
        images = _real(find_pairs(arg, "auto", folder_split), crop, limit)
        description = (f"{len(images)} real pairs of {arg} ({layout} layout, "
                       f"{folder_split} split), "
                       + (f"{crop}x{crop} centre crops" if crop else "full frames"))
    result = EvalSet(name, description, images, seconds_building=time.perf_counter() - start)
    _CACHE[key] = result
    return result
