"""Evaluate a checkpoint: PSNR / SSIM per set and blur pattern, beside classical references.

``python -m training evaluate CHECKPOINT --set kodak-shake --set gopro-real ...``

Sets (see :func:`describe_set` and ``--help``):

- ``kodak-<pattern>`` / ``kodak-mixed``: the held-out ``sharp/kodak24`` photos (never
  trained on), centre-cropped, blurred by the simulator with one pattern (or the default
  pattern mix) and the default camera pipeline; every image's rng is fixed by
  ``(seed, pattern, file name)``, so every checkpoint meets exactly the same set.
  ``kodak-all`` expands to every pattern.
- ``synthetic[-<pattern>]``: the same on procedural dead-leaves images (needs no data;
  tests and smoke runs). ``synthetic`` alone is ``synthetic-mixed``.
- ``gopro-real``: the held-out real pairs of ``pairs/gopro_frameavg``.
- ``folder:<path>``: any paired folder :mod:`training.paired` reads (GoPro, HIDE,
  RealBlur, RSBlur, plain ``blur/`` + ``sharp/``), ``--folder-split`` (default ``test``).

The model runs through :class:`glow_core.engine.Engine` with :class:`RestoreOptions`, so
the numbers are what the product delivers (tiling, padding, precision included). Where
the simulator knows the uniform kernel, two classical non-blind references run in the
same process: Wiener (``skimage.restoration.wiener`` per channel) and Richardson-Lucy
(``richardson_lucy``, 30 iterations). They are *oracles*, deliberately generous: they get
the true kernel, they deconvolve in linear light through the true tone curve of the
simulated camera, the images are mirror-extended so FFT wrap-around adds no ringing, and
Wiener's balance is the best (by PSNR against the ground truth) of a small grid per
image. They are slow, so they are computed once per (set, crop, limit, seed) and kept in
memory for later calls in the same process (a trainer validating every few thousand
steps pays for them once).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from training.blur.camera import CameraConfig, CameraParams, apply_tone
from training.blur.simulate import BlurConfig, BlurPattern, simulate
from training.metrics import psnr, ssim

__all__ = [
    "METHODS",
    "EvalImage",
    "EvalSet",
    "build_set",
    "clear_cache",
    "evaluate",
    "expand_sets",
    "format_markdown",
    "format_table",
    "main",
    "richardson_lucy_reference",
    "scalars",
    "wiener_reference",
]

PATTERNS: tuple[str, ...] = tuple(p.value for p in BlurPattern)
METHODS: tuple[str, ...] = ("blurry", "fast", "full", "wiener", "rl")
METHOD_TITLES = {"blurry": "Blurry input", "fast": "Fast", "full": "Full",
                 "wiener": "Wiener*", "rl": "Richardson-Lucy*"}
WIENER_BALANCES: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
RL_ITERATIONS = 30
SYNTHETIC_COUNT = 8
DEFAULT_CROP = 256

ProgressFn = Callable[[str], None]


# ============================================================================ sets


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


def _camera_summary(cam: CameraParams | None) -> dict[str, Any] | None:
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


# ============================================================================ references


def _tone_maps(cam: CameraParams | None) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                   Callable[[np.ndarray], np.ndarray]]:
    """(display -> linear, linear -> display) for the simulated camera's tone curve."""
    if cam is None or not cam.linear or cam.tone.kind == "identity":
        return (lambda x: x), (lambda x: x)
    grid = np.linspace(0.0, 1.0, 4097, dtype=np.float32)
    curve = apply_tone(grid, cam.tone)
    curve = np.maximum.accumulate(curve)  # monotone for np.interp

    def to_linear(x: np.ndarray) -> np.ndarray:
        return np.interp(x, curve, grid).astype(np.float32)

    def to_display(x: np.ndarray) -> np.ndarray:
        return apply_tone(np.clip(x, 0.0, 1.0), cam.tone)

    return to_linear, to_display


def _circular_blur(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Circular convolution (kernel centred at ``k.shape // 2``), as Wiener's model assumes."""
    h, w = x.shape
    pad = np.zeros((h, w))
    pad[:k.shape[0], :k.shape[1]] = k
    pad = np.roll(pad, (-(k.shape[0] // 2), -(k.shape[1] // 2)), axis=(0, 1))
    return np.fft.irfft2(np.fft.rfft2(x) * np.fft.rfft2(pad), s=(h, w))


def _edge_taper(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, int]:
    """Reflect-pad one channel by a kernel width and taper it towards its circular re-blur.

    The simulator blurs with reflected borders, which no circular (FFT) model reproduces
    for asymmetric kernels; that mismatch rings across the whole Wiener result. Blending,
    over a kernel width on each side of the image edge, towards the circularly re-blurred
    image (MATLAB's ``edgetaper`` idea) makes the data consistent with the model there.
    Returns (tapered padded channel, pad).
    """
    h, w = x.shape
    pad = min(k.shape[0], h - 1, w - 1)
    inner = min(k.shape[0], h // 4, w // 4)
    p = np.pad(x, pad, mode="reflect")
    n = pad + inner

    def ramp(length: int) -> np.ndarray:
        r = np.ones(length)
        t = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
        r[:n] = t
        r[-n:] = np.minimum(r[-n:], t[::-1])
        return r

    alpha = np.outer(ramp(p.shape[0]), ramp(p.shape[1]))
    return alpha * p + (1.0 - alpha) * _circular_blur(p, k), pad


def wiener_reference(blurry: np.ndarray, sharp: np.ndarray, kernel: np.ndarray,
                     camera: CameraParams | None = None,
                     balances: Sequence[float] = WIENER_BALANCES
                     ) -> tuple[np.ndarray, float]:
    """Oracle Wiener deconvolution: the best-PSNR balance of ``balances``; (image, balance)."""
    from skimage.restoration import wiener

    to_linear, to_display = _tone_maps(camera)
    lin = to_linear(blurry).astype(np.float64)
    h, w = lin.shape[:2]
    psf = np.asarray(kernel, np.float64)
    tapered = [_edge_taper(lin[..., c], psf) for c in range(3)]
    best: tuple[float, float, np.ndarray] | None = None
    for balance in balances:
        out = np.stack([wiener(ch, psf, balance, clip=False)[pad:pad + h, pad:pad + w]
                        for ch, pad in tapered], axis=2)
        out = to_display(np.clip(out, 0.0, 1.0).astype(np.float32))
        score = psnr(out, sharp)
        if best is None or score > best[0]:
            best = (score, float(balance), out)
    assert best is not None
    return best[2], best[1]


def richardson_lucy_reference(blurry: np.ndarray, kernel: np.ndarray,
                              camera: CameraParams | None = None,
                              iterations: int = RL_ITERATIONS) -> np.ndarray:
    """Oracle Richardson-Lucy (true kernel, linear light, padded and edge-tapered borders)."""
    from skimage.restoration import richardson_lucy

    to_linear, to_display = _tone_maps(camera)
    lin = to_linear(blurry).astype(np.float64)
    h, w = lin.shape[:2]
    psf = np.asarray(kernel, np.float64)
    tapered = [_edge_taper(lin[..., c], psf) for c in range(3)]
    pad = tapered[0][1]
    padded = np.stack([t for t, _ in tapered], axis=2).astype(np.float32)
    out = richardson_lucy(np.clip(padded, 1e-4, 1.0), psf.astype(np.float32)[..., None],
                          num_iter=iterations, clip=True, filter_epsilon=1e-7)
    return to_display(out[pad:pad + h, pad:pad + w].astype(np.float32))


def _metrics(out: np.ndarray, sharp: np.ndarray, border: int) -> dict[str, float]:
    return {"psnr": float(psnr(out, sharp, border)), "ssim": float(ssim(out, sharp, border))}


def _references(evalset: EvalSet, border: int,
                progress: ProgressFn | None) -> list[dict[str, dict[str, float]]]:
    """Per image: {"wiener": {...}, "rl": {...}} (empty without a kernel); cached on the set."""
    if evalset.references is not None and evalset.references_border == border:
        return evalset.references
    refs: list[dict[str, dict[str, float]]] = []
    for i, img in enumerate(evalset.images):
        entry: dict[str, dict[str, float]] = {}
        if img.kernel is not None:
            t0 = time.perf_counter()
            out, balance = wiener_reference(img.blurry, img.sharp, img.kernel, img.camera)
            entry["wiener"] = {**_metrics(out, img.sharp, border), "balance": balance,
                               "seconds": time.perf_counter() - t0}
            t0 = time.perf_counter()
            out = richardson_lucy_reference(img.blurry, img.kernel, img.camera)
            entry["rl"] = {**_metrics(out, img.sharp, border),
                           "seconds": time.perf_counter() - t0}
            if progress is not None:
                progress(f"{evalset.name}: references {i + 1}/{len(evalset.images)}")
        refs.append(entry)
    evalset.references = refs
    evalset.references_border = border
    return refs


# ============================================================================ evaluation


def _engine(checkpoint: Any, device: str, precision: str) -> Any:
    from glow_core.engine import Engine

    if isinstance(checkpoint, Engine):
        return checkpoint
    return Engine(checkpoint, device=device, precision=precision)


def _summarise(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean PSNR / SSIM / seconds per method, per pattern (plus "all" when mixed)."""
    patterns = list(dict.fromkeys(im["pattern"] for im in images))
    groups = [(p, [im for im in images if im["pattern"] == p]) for p in patterns]
    if len(groups) > 1:
        groups.append(("all", images))
    rows = []
    for pattern, group in groups:
        methods: dict[str, dict[str, float]] = {}
        for m in METHODS:
            vals = [im["metrics"][m] for im in group if m in im["metrics"]]
            if vals:
                methods[m] = {
                    "psnr": float(np.mean([v["psnr"] for v in vals])),
                    "ssim": float(np.mean([v["ssim"] for v in vals])),
                    "seconds": float(np.mean([v.get("seconds", 0.0) for v in vals])),
                    "n": len(vals),
                }
        gains = [im["metrics"]["fast"]["psnr"] - im["metrics"]["wiener"]["psnr"]
                 for im in group if "wiener" in im["metrics"] and "fast" in im["metrics"]]
        rows.append({"pattern": pattern, "n": len(group), "methods": methods,
                     "fast_minus_wiener_db": float(np.mean(gains)) if gains else None})
    return rows


def evaluate(checkpoint: Any, sets: Sequence[str], *, limit: int | None = None,
             crop: int = DEFAULT_CROP, steps: int = 4, seed: int = 0, device: str = "auto",
             precision: str = "auto", full: bool = True, references: bool = True,
             camera: str = "default", border: int = 0, tile: int | None = None,
             data_root: str | Path | None = None, folder_split: str = "test",
             progress: ProgressFn | None = None) -> dict[str, Any]:
    """Measure a checkpoint (path, or a loaded :class:`Engine`) on ``sets``.

    Returns a JSON-ready dict: checkpoint identity and settings, and per set its
    description, per-image metrics (``blurry``, ``fast``, ``full`` when the checkpoint
    has a trained DiT and ``full`` is true, ``wiener``/``rl`` where the kernel is known
    and ``references`` is true) and ``summary`` rows of means per pattern. See
    :func:`scalars` for a flat view to log.
    """
    from glow_core.engine import RestoreOptions

    names = expand_sets(sets)
    if not names:
        raise ValueError("no sets to evaluate")
    engine = _engine(checkpoint, device, precision)
    run_full = bool(full and engine.full_available)
    fast_opts = RestoreOptions(mode="fast", seed=seed, tile=tile)
    full_opts = RestoreOptions(mode="full", steps=steps, seed=seed, tile=tile)
    fast_opts.validate()
    full_opts.validate()
    info = engine.checkpoint
    result: dict[str, Any] = {
        "checkpoint": str(info.path),
        "sha256": info.sha256,
        "stages": list(info.stages),
        "config": engine.config.name,
        "device": str(engine.device),
        "precision": engine.precision,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {"crop": crop, "limit": limit, "steps": steps, "seed": seed,
                     "camera": camera, "border": border, "full": run_full,
                     "references": references, "folder_split": folder_split},
        "full_skipped_reason": None if run_full else (
            "disabled (--no-full)" if not full else
            "checkpoint has no trained DiT/autoencoder"),
        "sets": {},
    }
    for name in names:
        evalset = build_set(name, crop=crop, limit=limit, seed=seed, camera=camera,
                            data_root=data_root, folder_split=folder_split)
        refs = _references(evalset, border, progress) if references else None
        per_image = []
        for i, img in enumerate(evalset.images):
            metrics: dict[str, dict[str, float]] = {
                "blurry": {**_metrics(img.blurry, img.sharp, border), "seconds": 0.0}}
            out = engine.restore(img.blurry, fast_opts)
            metrics["fast"] = {**_metrics(out.image, img.sharp, border), "seconds": out.seconds}
            if run_full:
                out = engine.restore(img.blurry, full_opts)
                metrics["full"] = {**_metrics(out.image, img.sharp, border),
                                   "seconds": out.seconds}
            if refs is not None:
                metrics.update(refs[i])
            per_image.append({
                "name": img.name,
                "pattern": img.pattern,
                "size": list(img.blurry.shape[:2]),
                "kernel_size": None if img.kernel is None else int(img.kernel.shape[0]),
                "camera": _camera_summary(img.camera),
                "metrics": metrics,
            })
            if progress is not None:
                progress(f"{name}: {i + 1}/{len(evalset.images)}")
        result["sets"][name] = {"description": evalset.description, "images": per_image,
                                "summary": _summarise(per_image)}
    return result


def scalars(result: dict[str, Any]) -> dict[str, float]:
    """Flat ``"<set>/<pattern>/<method>/<psnr|ssim>"`` means, for a trainer's log."""
    out: dict[str, float] = {}
    for name, s in result["sets"].items():
        for row in s["summary"]:
            for m, v in row["methods"].items():
                out[f"{name}/{row['pattern']}/{m}/psnr"] = v["psnr"]
                out[f"{name}/{row['pattern']}/{m}/ssim"] = v["ssim"]
            if row["fast_minus_wiener_db"] is not None:
                out[f"{name}/{row['pattern']}/fast_minus_wiener_db"] = row["fast_minus_wiener_db"]
    return out


# ============================================================================ reports


def _columns(result: dict[str, Any]) -> list[str]:
    present = {m for s in result["sets"].values() for row in s["summary"] for m in row["methods"]}
    return [m for m in METHODS if m in present]


def _title(method: str, result: dict[str, Any]) -> str:
    if method == "full":
        return f"Full ({result['settings']['steps']} steps)"
    return METHOD_TITLES[method]


def _cell(row: dict[str, Any], method: str) -> str:
    v = row["methods"].get(method)
    return "–" if v is None else f"{v['psnr']:.2f} / {v['ssim']:.3f}"


def _gain(row: dict[str, Any]) -> str:
    g = row["fast_minus_wiener_db"]
    return "–" if g is None else f"{g:+.2f}"


def format_table(result: dict[str, Any]) -> str:
    """Plain-text tables (one per set): mean PSNR (dB) / SSIM per method and pattern."""
    cols = _columns(result)
    lines = [f"checkpoint {result['checkpoint']} (stages: {', '.join(result['stages']) or '-'}; "
             f"{result['device']}, {result['precision']})"]
    if result["full_skipped_reason"]:
        lines.append(f"full path not run: {result['full_skipped_reason']}")
    head = ["pattern", "n", *[_title(m, result) for m in cols], "fast-wiener dB"]
    for name, s in result["sets"].items():
        rows = [[r["pattern"], str(r["n"]), *[_cell(r, m) for m in cols], _gain(r)]
                for r in s["summary"]]
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        lines += ["", f"{name}: {s['description']}",
                  "  ".join(h.ljust(w) for h, w in zip(head, widths)),
                  "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    if "wiener" in cols or "rl" in cols:
        lines += ["", _REFERENCE_NOTE]
    return "\n".join(lines)


_REFERENCE_NOTE = (
    "* oracle references (uniform-kernel sets only): true kernel, deconvolution in linear "
    "light through the true tone curve, padded and edge-tapered borders; Wiener's balance is the "
    f"best-PSNR of {len(WIENER_BALANCES)} values per image; Richardson-Lucy runs "
    f"{RL_ITERATIONS} iterations. They are generous upper bounds for classical non-blind "
    "deconvolution, not blind methods."
)


def format_markdown(result: dict[str, Any]) -> str:
    """The same tables as Markdown, with the settings and notes a README needs."""
    cols = _columns(result)
    st = result["settings"]
    out = [
        "# GLOW Deblur evaluation", "",
        f"- checkpoint: `{Path(result['checkpoint']).name}` (sha256 `{result['sha256'][:12]}`, "
        f"config `{result['config']}`, stages: {', '.join(result['stages']) or '-'})",
        f"- device: {result['device']} ({result['precision']}); crop {st['crop'] or 'full'}, "
        f"seed {st['seed']}, full-path steps {st['steps']}, border {st['border']} px",
        f"- created {result['created']}",
        "- cells: mean PSNR (dB) / SSIM against the sharp image; `fast-wiener`: mean PSNR "
        "gain of the fast path over the Wiener reference on the same images",
    ]
    if result["full_skipped_reason"]:
        out.append(f"- full path not run: {result['full_skipped_reason']}")
    head = ["pattern", "n", *[_title(m, result) for m in cols], "fast-wiener (dB)"]
    for name, s in result["sets"].items():
        out += ["", f"## {name}", "", s["description"], "",
                "| " + " | ".join(head) + " |",
                "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
        for r in s["summary"]:
            cells = [r["pattern"], str(r["n"]), *[_cell(r, m) for m in cols], _gain(r)]
            out.append("| " + " | ".join(cells) + " |")
    if "wiener" in cols or "rl" in cols:
        out += ["", "\\" + _REFERENCE_NOTE]
    return "\n".join(out) + "\n"


# ============================================================================ CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training evaluate",
        description="PSNR / SSIM of a checkpoint's fast and full paths per set and blur "
                    "pattern, beside oracle Wiener and Richardson-Lucy references.",
        epilog="sets: kodak-<pattern> (" + ", ".join(PATTERNS) + "), kodak-mixed, kodak-all, "
               "synthetic[-<pattern>] (procedural, no data needed), gopro-real (held-out "
               "pairs/gopro_frameavg), folder:<path> (GoPro/HIDE/RealBlur/RSBlur/plain).",
    )
    p.add_argument("checkpoint", help="a .safetensors checkpoint")
    p.add_argument("--set", dest="sets", action="append", required=True, metavar="NAME",
                   help="a set to evaluate (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="at most N images per set")
    p.add_argument("--crop", type=int, default=DEFAULT_CROP,
                   help="centre crop side, a multiple of 32; 0 = full frames (default 256)")
    p.add_argument("--steps", type=int, default=4, help="sampler steps of the full path")
    p.add_argument("--seed", type=int, default=0, help="simulation and sampler seed")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda:N, mps")
    p.add_argument("--precision", default="auto", help="auto, fp32, fp16, bf16")
    p.add_argument("--tile", type=int, default=None, help="engine tile size (default auto)")
    p.add_argument("--camera", choices=("default", "off"), default="default",
                   help="camera pipeline of simulated sets (default: noise, tone, JPEG on)")
    p.add_argument("--border", type=int, default=0, help="pixels ignored at each edge")
    p.add_argument("--folder-split", default="test", help="split of folder: sets")
    p.add_argument("--data-root", default=None, help="shared data folder (default ../shared/data)")
    p.add_argument("--no-full", action="store_true", help="skip the diffusion path")
    p.add_argument("--no-references", action="store_true",
                   help="skip the Wiener / Richardson-Lucy references")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write all results")
    p.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                   help="write the tables as Markdown")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from glow_core.checkpoint import CheckpointError
    from glow_core.engine import EngineError
    from training.paired import PairedDataError

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    try:
        result = evaluate(
            args.checkpoint, args.sets, limit=args.limit, crop=args.crop, steps=args.steps,
            seed=args.seed, device=args.device, precision=args.precision,
            full=not args.no_full, references=not args.no_references, camera=args.camera,
            border=args.border, tile=args.tile, data_root=args.data_root,
            folder_split=args.folder_split, progress=progress,
        )
    except (EngineError, CheckpointError, PairedDataError, FileNotFoundError,
            ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    for path, text in ((args.json, lambda: json.dumps(result, indent=2) + "\n"),
                       (args.markdown, lambda: format_markdown(result))):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
