"""The evaluation loop: a checkpoint through the product's engine on each set.

The model runs through :class:`glow_core.engine.Engine` with :class:`RestoreOptions`, so
the numbers are what the product delivers (tiling, padding, precision included).
:func:`evaluate` takes an :class:`EvalConfig` and returns an :class:`EvalResult`; the
trainer's periodic validation calls it too, with an engine wrapped around its EMA model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from training.evaluation.oracles import ProgressFn, metrics, references
from training.evaluation.sets import DEFAULT_CROP, build_set, camera_summary, expand_sets

METHODS: tuple[str, ...] = ("blurry", "fast", "full", "wiener", "rl")


@dataclass
class EvalConfig:
    """What to measure and how; every field has the CLI's default."""

    sets: Sequence[str]
    checkpoint: str | Path | None = None  # ignored when evaluate() is given an engine
    limit: int | None = None  # at most this many images per set
    crop: int = DEFAULT_CROP  # centre crop side (multiple of 32), 0 = full frames
    steps: int = 4  # sampler steps of the full path
    seed: int = 0  # simulation and sampler seed
    device: str = "auto"
    precision: str = "auto"
    full: bool = True  # run the diffusion path when the checkpoint has one
    references: bool = True  # Wiener / Richardson-Lucy where the kernel is known
    camera: str = "default"  # camera pipeline of simulated sets: "default" or "off"
    border: int = 0  # pixels ignored at each edge by the metrics
    tile: int | None = None  # engine tile size (None = automatic)
    data_root: str | Path | None = None
    folder_split: str = "test"
    # The engine's physics-first kernel stage before the network (the product's path).
    # Off measures the network alone, as training validation does (and far faster).
    kernel_stage: bool = True

    def settings(self, run_full: bool) -> dict[str, Any]:
        return {"crop": self.crop, "limit": self.limit, "steps": self.steps, "seed": self.seed,
                "camera": self.camera, "border": self.border, "full": run_full,
                "references": self.references, "folder_split": self.folder_split,
                "kernel_stage": self.kernel_stage}


@dataclass
class SetResult:
    """One set: its description, per-image metrics and the per-pattern mean rows."""

    description: str
    images: list[dict[str, Any]]  # name, pattern, size, kernel_size, camera, metrics
    summary: list[dict[str, Any]]  # pattern, n, methods {psnr, ssim, seconds, n}, gain

    def row(self, pattern: str) -> dict[str, Any]:
        return next(r for r in self.summary if r["pattern"] == pattern)


@dataclass
class EvalResult:
    """Checkpoint identity, settings and one :class:`SetResult` per set (JSON via to_dict)."""

    checkpoint: str
    sha256: str
    stages: list[str]
    config: str
    device: str
    precision: str
    created: str
    settings: dict[str, Any]
    full_skipped_reason: str | None
    sets: dict[str, SetResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def method_psnr(self, set_name: str, method: str, pattern: str | None = None) -> float:
        """Mean PSNR of ``method`` on a set (its "all" row, or its only row by default)."""
        rows = self.sets[set_name].summary
        row = rows[-1] if pattern is None else self.sets[set_name].row(pattern)
        return float(row["methods"][method]["psnr"])


def _engine(config: EvalConfig, engine: Any) -> Any:
    if engine is not None:
        return engine
    from glow_core.engine import Engine

    if isinstance(config.checkpoint, Engine):
        return config.checkpoint
    return Engine(config.checkpoint, device=config.device, precision=config.precision)


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


def evaluate(config: EvalConfig, engine: Any = None,
             progress: ProgressFn | None = None) -> EvalResult:
    """Measure a checkpoint on ``config.sets``.

    ``engine``: a loaded :class:`~glow_core.engine.Engine` (else ``config.checkpoint`` is
    loaded on ``config.device``). Per set: per-image metrics (``blurry``, ``fast``,
    ``full`` when the checkpoint has a trained DiT and ``config.full``, ``wiener``/``rl``
    where the kernel is known and ``config.references``) and per-pattern mean rows. See
    :func:`scalars` for a flat view to log.
    """
    from glow_core.engine import RestoreOptions

    names = expand_sets(config.sets)
    if not names:
        raise ValueError("no sets to evaluate")
    engine = _engine(config, engine)
    run_full = bool(config.full and engine.full_available)
    fast_opts = RestoreOptions(mode="fast", seed=config.seed, tile=config.tile,
                               kernel_stage=config.kernel_stage)
    full_opts = RestoreOptions(mode="full", steps=config.steps, seed=config.seed,
                               tile=config.tile, kernel_stage=config.kernel_stage)
    fast_opts.validate()
    full_opts.validate()
    info = engine.checkpoint
    border = config.border
    result = EvalResult(
        checkpoint=str(info.path),
        sha256=info.sha256,
        stages=list(info.stages),
        config=engine.config.name,
        device=str(engine.device),
        precision=engine.precision,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        settings=config.settings(run_full),
        full_skipped_reason=None if run_full else (
            "disabled (--no-full)" if not config.full else
            "checkpoint has no trained DiT/autoencoder"),
    )
    for name in names:
        evalset = build_set(name, crop=config.crop, limit=config.limit, seed=config.seed,
                            camera=config.camera, data_root=config.data_root,
                            folder_split=config.folder_split)
        refs = references(evalset, border, progress) if config.references else None
        per_image = []
        for i, img in enumerate(evalset.images):
            scores: dict[str, dict[str, float]] = {
                "blurry": {**metrics(img.blurry, img.sharp, border), "seconds": 0.0}}
            out = engine.restore(img.blurry, fast_opts)
            scores["fast"] = {**metrics(out.image, img.sharp, border), "seconds": out.seconds}
            if run_full:
                out = engine.restore(img.blurry, full_opts)
                scores["full"] = {**metrics(out.image, img.sharp, border),
                                  "seconds": out.seconds}
            if refs is not None:
                scores.update(refs[i])
            per_image.append({
                "name": img.name,
                "pattern": img.pattern,
                "size": list(img.blurry.shape[:2]),
                "kernel_size": None if img.kernel is None else int(img.kernel.shape[0]),
                "camera": camera_summary(img.camera),
                "metrics": scores,
            })
            if progress is not None:
                progress(f"{name}: {i + 1}/{len(evalset.images)}")
        result.sets[name] = SetResult(evalset.description, per_image, _summarise(per_image))
    return result


def scalars(result: EvalResult) -> dict[str, float]:
    """Flat ``"<set>/<pattern>/<method>/<psnr|ssim>"`` means, for a trainer's log."""
    out: dict[str, float] = {}
    for name, s in result.sets.items():
        for row in s.summary:
            for m, v in row["methods"].items():
                out[f"{name}/{row['pattern']}/{m}/psnr"] = v["psnr"]
                out[f"{name}/{row['pattern']}/{m}/ssim"] = v["ssim"]
            if row["fast_minus_wiener_db"] is not None:
                out[f"{name}/{row['pattern']}/fast_minus_wiener_db"] = row["fast_minus_wiener_db"]
    return out
