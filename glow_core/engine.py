"""The engine: load a checkpoint, pick device and precision, restore photos of any size.

Everything the GUI and the CLI do to a photo goes through :meth:`Engine.restore`, which
tiles the photo (see :mod:`glow_core.tiling`), reports progress, honours cancellation
between tiles and between sampler steps, and never returns a black image: a tile whose
half-precision result is not finite is recomputed in float32.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from glow_core.cancel import Cancelled, CancelToken
from glow_core.checkpoint import CheckpointInfo, load_checkpoint, manifest_entry
from glow_core.config import GlowConfig
from glow_core.devices import available_devices, pick_device, pick_precision
from glow_core.errors import CheckpointError, EngineError, GlowError, MissingCheckpointError
from glow_core.kernel import KernelField
from glow_core.kernel_stage import (
    AFTER_DECONV,
    MEASURED_SPATIALLY_VARYING,
    KernelStageResult,
    NetworkPlan,
    estimate_field,
    motion_map,
    network_plan,
    paired_choice,
    run_kernel_stage,
    stage_configs,
    stage_info,
    validate_kernel_options,
)
from glow_core.limits import (
    DEFAULT_OVERLAP,
    DEFAULT_STEPS,
    MAX_STEPS,
    MIN_STEPS,
    MIN_TILE,
    MODES,
    PRECISIONS,
    STRENGTH_RANGE,
)
from glow_core.sampling import SAMPLERS
from glow_core.tiling import (
    Tile,
    auto_tile_size,
    available_memory,
    blend_weights,
    is_out_of_memory,
    plan_tiles,
    round_up,
)

Mode = Literal["fast", "full"]
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Convolutions run ~25 % faster channels-last in oneDNN (CPU; measured on a 1152 px tile of
# the small preset, 2 threads: 2.30 -> 1.71 s) and in cuDNN; MPS is left as it is.
_CHANNELS_LAST_DEVICES = ("cpu", "cuda")


@dataclass
class RestoreOptions:
    mode: Mode = "fast"
    steps: int = DEFAULT_STEPS
    seed: int = 0
    caption: str = ""
    strength: float = 1.0
    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    sampler: str = "euler"
    # --- the physics-first kernel stage (glow_core.kernel_stage) ---
    kernel_stage: bool = True  # estimate the blur kernel and deconvolve before the network
    # the user's kernel (k x k, non-negative): used as it is, no estimation
    kernel: np.ndarray | None = field(default=None, compare=False, repr=False)
    # a blind estimate made earlier on this photo (Engine.estimate_kernel): used without
    # estimating again, and still judged as an estimate (the blind noise floor, the
    # acceptance test), unlike ``kernel``, which is taken as exact
    estimate: KernelField | None = field(default=None, compare=False, repr=False)
    kernel_size: int | None = None  # odd side in pixels; None: automatic
    kernel_region: tuple[int, int, int, int] | None = None  # (y0, x0, y1, x1) to estimate from
    spatially_varying: bool = MEASURED_SPATIALLY_VARYING  # a kernel per region vs one kernel
    after_deconv: str = "auto"  # "auto" | "network" | "deconvolved" | "blend" (kernel_stage)
    # The caption (or, when empty, the photo) chooses the kernel stage's priors: text,
    # night, faces or general scenes (glow_core.semantics). False: general defaults.
    scene_priors: bool = True
    # The file stored the colour at half resolution (a 4:2:0 JPEG): the kernel stage solves
    # the deconvolution's chroma there, a third less work for nothing lost. None: as the
    # image says (``ImageData.chroma_subsampled``; a bare array: False).
    chroma_subsampled: bool | None = None

    def validate(self) -> None:
        if self.mode not in MODES:
            raise EngineError(f"mode must be 'fast' or 'full', not {self.mode!r}")
        if not MIN_STEPS <= int(self.steps) <= MAX_STEPS:
            raise EngineError(f"steps must be between {MIN_STEPS} and {MAX_STEPS}")
        lo, hi = STRENGTH_RANGE
        if not lo <= float(self.strength) <= hi:
            raise EngineError(f"strength must be between {lo:g} and {hi:g}")
        if self.tile is not None and int(self.tile) < MIN_TILE:
            raise EngineError(f"tile must be at least {MIN_TILE} pixels (or None for automatic)")
        if int(self.overlap) < 0:
            raise EngineError("overlap cannot be negative")
        if self.sampler not in SAMPLERS:
            raise EngineError(f"sampler must be one of {SAMPLERS}")
        if self.after_deconv not in AFTER_DECONV:
            raise EngineError(f"after_deconv must be one of {AFTER_DECONV}")
        validate_kernel_options(self.kernel, self.kernel_size, self.kernel_region)
        if self.kernel is not None and self.estimate is not None:
            raise EngineError("give a kernel or an earlier estimate, not both")


@dataclass
class ProgressInfo:
    fraction: float
    stage: str
    tile: int = 0
    tiles: int = 1
    step: int = 0
    steps: int = 0


@dataclass
class RestoreResult:
    """A restored photo, with how it was made.

    ``info`` holds: ``timings`` (seconds per stage: ``"prepare"``, ``"network"``,
    ``"sampling"`` for the full path, ``"blend"``, ``"total"``; a stage that runs before the
    network, such as kernel estimation, adds its own key), ``tiles``, ``tile_size``,
    ``fallbacks`` (tiles recomputed in float32), ``oom_retries``, ``device``, ``precision``
    (what the restore ended in) and ``configured_precision``; with the kernel stage on,
    ``kernel`` (see :func:`glow_core.kernel_stage.field_info`: source, size, confidence,
    seconds, backed_off, region confidences) and ``network`` (what the network did after
    deconvolution: "skipped", "on deconvolved", "blended 0.5 with deconvolved",
    "on blurry", "with deconvolved").
    ``kernel_field`` is the kernel (a 1 x 1 field) or the field of region kernels.
    """

    image: np.ndarray
    motion: np.ndarray | None
    seconds: float
    tile: int = 0
    tiles: int = 1
    precision: str = "fp32"
    info: dict[str, Any] = field(default_factory=dict)
    kernel_field: KernelField | None = None


ProgressFn = Callable[[ProgressInfo], None]


@dataclass
class _Restore:
    """The state of one :meth:`Engine.restore` call, carried through tiles and steps.

    Nothing here outlives the call: a float32 fallback decided for one photo never
    changes the precision the next photo starts in.
    """

    options: RestoreOptions
    precision: str  # the engine's precision; "fp32" once a tile had to fall back
    progress: ProgressFn | None = None
    cancel: CancelToken | None = None
    text: torch.Tensor | None = None  # caption tokens (full mode)
    mask: torch.Tensor | None = None
    noise: torch.Tensor | None = None  # latent noise for the whole canvas (full mode)
    tile_index: int = 0
    tile_count: int = 1
    fallbacks: int = 0
    oom_retries: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    base: float = 0.0  # progress already spent on earlier stages (the kernel stage)
    deconvolved: torch.Tensor | None = None  # padded canvas, for deconv_input checkpoints
    motion_map: torch.Tensor | None = None  # 1 x 3 x h x w on the padded latent grid

    def check(self) -> None:
        """Raise :class:`Cancelled` once the caller cancelled."""
        if self.cancel is not None and self.cancel.cancelled:
            raise Cancelled("restoration cancelled")

    def report(self, fraction: float, stage: str, step: int = 0, steps: int = 0) -> None:
        if self.progress is not None:
            fraction = self.base + (1.0 - self.base) * fraction
            self.progress(ProgressInfo(fraction, stage, self.tile_index + 1, self.tile_count,
                                       step, steps))

    @contextlib.contextmanager
    def timed(self, stage: str):
        """Add the seconds spent in the block to ``timings[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


# ------------------------------------------------------------------- checkpoints
def resolve_checkpoint(checkpoint: str | Path | None) -> tuple[Path, dict[str, Any] | None]:
    """The checkpoint to load and its manifest entry (``None`` when it has none).

    ``None`` means the default checkpoint, chosen by the one rule in
    :func:`glow_core.resources.default_checkpoint`; every failure to find weights becomes
    :class:`MissingCheckpointError` saying what to do.
    """
    from glow_core.resources import default_checkpoint

    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise MissingCheckpointError(f"checkpoint file not found: {path}")
    else:
        try:
            path = default_checkpoint()
        except FileNotFoundError as exc:
            raise MissingCheckpointError(
                f"no GLOW weights are installed ({exc}). Pass --checkpoint "
                "FILE.safetensors, or train one with "
                "`python -m training train training/configs/<stage>.json`."
            ) from exc
    return path, manifest_entry(path.parent, path.name)


def _to_pixels(image: Any) -> np.ndarray:
    pixels = getattr(image, "pixels", image)
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise EngineError(f"expected an H x W x 3 image, got shape {pixels.shape}")
    pixels = pixels[..., :3]
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    pixels = pixels.astype(np.float32, copy=False)
    if not np.isfinite(pixels).all():
        raise EngineError("the image contains NaN or infinite values")
    return np.clip(pixels, 0.0, 1.0)


class Engine:
    """One loaded model on one device; safe to call from one worker thread at a time."""

    def __init__(self, checkpoint: str | Path | None = None, device: str = "auto",
                 precision: str = "auto", expected_sha256: str | None = None) -> None:
        path, entry = resolve_checkpoint(checkpoint)
        expected = expected_sha256 or (entry or {}).get("sha256")
        self.device = pick_device(device)
        self.precision = pick_precision(precision, self.device)
        self.model, self.info = load_checkpoint(path, expected, device=self.device)
        if self.device.type in _CHANNELS_LAST_DEVICES:
            self.model.to(memory_format=torch.channels_last)
        self.manifest_entry: dict[str, Any] | None = entry
        self._init_state()

    @classmethod
    def from_model(cls, model: torch.nn.Module, stages: list[str], *,
                   device: str | torch.device = "auto", precision: str = "auto",
                   name: str = "<in memory>") -> Engine:
        """An engine around a model already in memory (the trainer's EMA copy, to validate).

        ``stages`` names the trained parts, as a checkpoint would record them.
        """
        engine = cls.__new__(cls)
        engine.device = pick_device(device)
        engine.precision = pick_precision(precision, engine.device)
        engine.model = model.to(engine.device).eval()
        engine.info = CheckpointInfo(path=Path(name), config=model.config, sha256="",
                                     stages=sorted(stages))
        engine.manifest_entry = None
        engine._init_state()
        return engine

    def _init_state(self) -> None:
        self._encoder = None
        self._caption_cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> GlowConfig:
        return self.model.config

    @property
    def checkpoint(self) -> CheckpointInfo:
        return self.info

    @property
    def multiple(self) -> int:
        return self.config.pixel_multiple

    @property
    def full_available(self) -> bool:
        """The diffusion path needs a trained DiT and autoencoder."""
        return {"dit", "autoencoder"} <= set(self.info.stages)

    @staticmethod
    def available_devices() -> list[str]:
        return available_devices()

    @property
    def context(self) -> int:
        """Margin of real image around each tile: covers the network's effective reach."""
        return round_up(self.config.prerecon.stat_window, self.multiple)

    # --------------------------------------------------------------------- memory
    def bytes_per_pixel(self, mode: Mode) -> float:
        """Peak activation bytes per processed pixel (calibrated by benchmarks/speed.py)."""
        item = 2 if self.precision in ("fp16", "bf16") else 4
        per = self.config.prerecon.width * 10
        if mode == "full":
            per += self.config.autoencoder.widths[0] * 10 + self.config.fusion.width * 6
        return float(per * item)

    def auto_tile(self, mode: Mode) -> int:
        free = available_memory(self.device)
        cap = 2048 if self.device.type != "cpu" else 1024
        return auto_tile_size(self.bytes_per_pixel(mode), free, self.multiple, self.context,
                              max_tile=cap)

    def estimate_memory(self, height: int, width: int,
                        options: RestoreOptions | None = None) -> int:
        """Bytes a restoration of an H x W photo with `options` is expected to need."""
        options = options or RestoreOptions()
        tile = options.tile or self.auto_tile(options.mode)
        window = min(round_up(height, self.multiple), tile + 2 * self.context) * min(
            round_up(width, self.multiple), tile + 2 * self.context)
        weights = sum(p.numel() * p.element_size() for p in self.model.parameters())
        canvas = height * width * 4 * 8  # input, accumulators, output (float32)
        return int(window * self.bytes_per_pixel(options.mode) + canvas + weights)

    # --------------------------------------------------------------------- captions
    def _caption_tokens(self, caption: str) -> tuple[torch.Tensor, torch.Tensor]:
        length = self.config.max_caption_tokens
        dim = self.config.dit.text_dim
        from glow_core.text.base import is_blank_caption

        if is_blank_caption(caption):
            return (torch.zeros(1, length, dim, device=self.device),
                    torch.zeros(1, length, dtype=torch.bool, device=self.device))
        caption = caption.strip()
        if caption not in self._caption_cache:
            if self._encoder is None:
                from glow_core.text import check_encoder, get_encoder

                encoder = get_encoder(self.config.text_encoder, device="cpu")
                # The DiT only understands the encoder it was trained with.
                check_encoder(self.config.text_encoder, encoder.name)
                self._encoder = encoder
            tokens, mask = self._encoder.encode([caption], length)
            self._caption_cache[caption] = (tokens.to(self.device).float(), mask.to(self.device))
        return self._caption_cache[caption]

    # ---------------------------------------------------------------------- restore
    def _autocast(self, precision: str) -> contextlib.AbstractContextManager:
        if precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_DTYPES[precision])

    def restore(self, image: Any, options: RestoreOptions | None = None,
                progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> RestoreResult:
        options = options or RestoreOptions()
        options.validate()
        if options.mode == "full" and not self.full_available:
            raise EngineError(
                "this checkpoint has no trained diffusion part (stages: "
                f"{', '.join(self.info.stages) or 'none'}); use the fast mode"
            )
        pixels = _to_pixels(image)
        start = time.perf_counter()
        tile = options.tile or self.auto_tile(options.mode)
        run = _Restore(options, self.precision, progress, cancel)
        with self._lock:
            subsampled = (options.chroma_subsampled if options.chroma_subsampled is not None
                          else bool(getattr(image, "chroma_subsampled", False)))
            stage = (self._kernel_stage(run, pixels, subsampled) if options.kernel_stage
                     else None)
            plan = network_plan(self.model, stage, options.after_deconv, options.mode,
                                paired_choice(self.manifest_entry))
            net_in = self._prepare_network(run, pixels, stage, plan)
            while not plan.skip:
                try:
                    image_out, motion, tiles = self._restore_tiled(run, net_in, tile)
                    break
                except Cancelled:
                    raise
                except Exception as exc:
                    if not is_out_of_memory(exc) or tile <= 2 * self.multiple:
                        raise
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    tile = max(self.multiple, tile // 2 // self.multiple * self.multiple)
                    run.oom_retries += 1
            if plan.skip:
                image_out, motion, tiles = stage.deconvolved, None, 0
                run.report(1.0, "deconvolved")
            elif plan.weight != 1.0:
                # blended with the deconvolution, whichever image was the network's input
                base = net_in if plan.input == "deconvolved" else np.ascontiguousarray(
                    stage.deconvolved[..., :3], dtype=np.float32)
                image_out = base + plan.weight * (image_out - base)
        image_out = np.clip(image_out, 0.0, 1.0)
        if options.strength < 1.0:
            image_out = pixels + options.strength * (image_out - pixels)
        seconds = time.perf_counter() - start
        run.timings["total"] = seconds
        return RestoreResult(
            image=image_out.astype(np.float32),
            motion=motion,
            seconds=seconds,
            tile=tile,
            tiles=tiles,
            precision=run.precision,
            info={
                "timings": dict(run.timings),
                "tiles": tiles,
                "tile_size": tile,
                "fallbacks": run.fallbacks,
                "oom_retries": run.oom_retries,
                "device": str(self.device),
                "precision": run.precision,
                "configured_precision": self.precision,
                "mode": options.mode,
                **stage_info(stage, plan),
            },
            kernel_field=stage.field if stage is not None else None,
        )

    # ------------------------------------------------------------------ kernel stage
    def _kernel_stage(self, run: _Restore, pixels: np.ndarray,
                      chroma_subsampled: bool = False) -> KernelStageResult:
        """Estimate (or take) the kernel and deconvolve; its progress is the first part."""
        options = run.options
        share = 0.7 if options.mode == "fast" else 0.3

        def report(fraction: float, stage: str) -> None:
            run.report(share * fraction, stage)

        with run.timed("kernel"):
            stage = run_kernel_stage(
                pixels, kernel=options.kernel, estimate=options.estimate,
                kernel_size=options.kernel_size,
                region=options.kernel_region, spatially_varying=options.spatially_varying,
                report=report, cancel=run.cancel, device=self._kernel_device,
                caption=options.caption, scene_priors=options.scene_priors,
                chroma_subsampled=chroma_subsampled)
        run.base = share
        return stage

    @property
    def _kernel_device(self) -> str | None:
        """The kernel stage runs on the engine's CUDA device; elsewhere on the CPU (MPS has
        no float64, which parts of the estimator use)."""
        return str(self.device) if self.device.type == "cuda" else None

    def _prepare_network(self, run: _Restore, pixels: np.ndarray,
                         stage: KernelStageResult | None, plan: NetworkPlan) -> np.ndarray:
        """The network's main input; extra inputs (deconvolved, motion map) go on ``run``."""
        if plan.skip:
            return pixels
        if plan.pass_deconvolved:  # with no deconvolution (stage off) it gets the photo
            deconv = pixels if stage is None or stage.deconvolved is None else stage.deconvolved
            run.deconvolved, _ = self._padded_tensor(np.ascontiguousarray(deconv[..., :3]))
        if stage is None:
            return pixels
        if plan.pass_motion and stage.field is not None and not stage.backed_off:
            h, w = pixels.shape[:2]
            hp, wp = round_up(h, self.multiple), round_up(w, self.multiple)
            f = self.config.latent_factor
            m = motion_map(stage.field, (hp // f, wp // f), (hp, wp))
            run.motion_map = None if m is None else m.to(self.device)
        if plan.input == "deconvolved" and stage.deconvolved is not None:
            return np.ascontiguousarray(stage.deconvolved[..., :3], dtype=np.float32)
        return pixels

    def estimate_kernel(self, image: Any, *, kernel_size: int | None = None,
                        region: tuple[int, int, int, int] | None = None,
                        spatially_varying: bool = MEASURED_SPATIALLY_VARYING,
                        progress: ProgressFn | None = None,
                        cancel: CancelToken | None = None, caption: str = "",
                        scene_priors: bool = True) -> KernelField:
        """The blur kernel (a 1 x 1 field) or field of region kernels, without restoring.

        For the GUI's "Estimate blur": ``field.global_confidence`` and ``field.backs_off``
        say how far to trust it; ``field.info["seconds"]`` how long it took.
        """
        validate_kernel_options(None, kernel_size, region)
        pixels = _to_pixels(image)

        def report(fraction: float, _message: str) -> None:
            if progress is not None:
                progress(ProgressInfo(float(fraction), "estimating blur"))

        start = time.perf_counter()
        _priors, kcfg, _dcfg, fcfg, acfg = stage_configs(caption, pixels,
                                                         self._kernel_device, scene_priors)
        kf = estimate_field(pixels, kernel_size=kernel_size, region=region,
                            spatially_varying=spatially_varying, progress=report,
                            cancel=cancel, kernel_config=kcfg, field_config=fcfg,
                            accept_config=acfg)
        kf.info["seconds"] = time.perf_counter() - start
        return kf

    def estimate_motion(self, image: Any) -> np.ndarray:
        """The motion field alone (latent grid, pixels): extent*cos2θ, extent*sin2θ, defocus."""
        from glow_core.models.motion import MOTION_SCALE

        pixels = _to_pixels(image)
        x, (h, w) = self._padded_tensor(pixels)
        with torch.inference_mode():
            field_ = self.model.motion(x).float()[0].permute(1, 2, 0).cpu().numpy()
        f = self.config.latent_factor
        return field_[: -(-h // f), : -(-w // f)] * MOTION_SCALE

    # ---------------------------------------------------------------- internals
    def _padded_tensor(self, pixels: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        h, w = pixels.shape[:2]
        x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None]
        ph, pw = round_up(h, self.multiple) - h, round_up(w, self.multiple) - w
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return x.to(self.device), (h, w)

    def _restore_tiled(self, run: _Restore, pixels: np.ndarray, tile: int
                       ) -> tuple[np.ndarray, np.ndarray, int]:
        from glow_core.models.motion import MOTION_SCALE

        options = run.options
        with run.timed("prepare"):
            canvas, (h, w) = self._padded_tensor(pixels)
            _, _, hp, wp = canvas.shape
            f = self.config.latent_factor
            tiles = plan_tiles(hp, wp, tile, options.overlap, self.context, self.multiple)
            out = np.zeros((hp, wp, 3), dtype=np.float32)
            weight = np.zeros((hp, wp, 1), dtype=np.float32)
            motion = np.zeros((hp // f, wp // f, 3), dtype=np.float32)
            motion_w = np.zeros((hp // f, wp // f, 1), dtype=np.float32)
            if options.mode == "full":
                run.text, run.mask = self._caption_tokens(options.caption)
                generator = torch.Generator().manual_seed(int(options.seed))
                run.noise = torch.randn(self.model.latent_shape(hp, wp), generator=generator)
        steps = options.steps if options.mode == "full" else 0
        run.tile_count = len(tiles)
        for index, t in enumerate(tiles):
            run.tile_index = index
            run.check()
            rgb, mot = self._run_tile(run, canvas, t)
            with run.timed("blend"):
                wgt = blend_weights(t, tiles)[..., None]
                out[t.y0:t.y1, t.x0:t.x1] += rgb * wgt
                weight[t.y0:t.y1, t.x0:t.x1] += wgt
                ly0, ly1, lx0, lx1 = t.y0 // f, t.y1 // f, t.x0 // f, t.x1 // f
                lw = wgt[::f, ::f][: ly1 - ly0, : lx1 - lx0]
                motion[ly0:ly1, lx0:lx1] += mot * lw
                motion_w[ly0:ly1, lx0:lx1] += lw
            run.report((index + 1) / len(tiles), "tiles", steps, steps)
        with run.timed("blend"):
            out = out[:h, :w] / weight[:h, :w]
            lh, lw_ = -(-h // f), -(-w // f)
            motion = motion[:lh, :lw_] / np.maximum(motion_w[:lh, :lw_], 1e-8) * MOTION_SCALE
        return out, motion, len(tiles)

    def _run_tile(self, run: _Restore, canvas: torch.Tensor, t: Tile
                  ) -> tuple[np.ndarray, np.ndarray]:
        window = canvas[:, :, t.wy0:t.wy1, t.wx0:t.wx1]
        window = self._layout(window)
        rgb, mot = self._forward(run, window, t, run.precision)
        if run.precision != "fp32" and not (torch.isfinite(rgb).all()
                                            and torch.isfinite(mot).all()):
            # Half precision overflowed: this and the rest of *this* photo run in float32.
            run.precision = "fp32"
            run.fallbacks += 1
            rgb, mot = self._forward(run, window, t, "fp32")
        ys, xs = t.core_in_window
        f = self.config.latent_factor
        rgb_np = rgb[0, :, ys, xs].float().permute(1, 2, 0).cpu().numpy()
        mys = slice(ys.start // f, ys.stop // f)
        mxs = slice(xs.start // f, xs.stop // f)
        mot_np = mot[0, :, mys, mxs].float().permute(1, 2, 0).cpu().numpy()
        return rgb_np, mot_np

    def _layout(self, window: torch.Tensor) -> torch.Tensor:
        """The memory layout the model's convolutions run fastest in on this device."""
        if self.device.type in _CHANNELS_LAST_DEVICES:
            return window.contiguous(memory_format=torch.channels_last)
        return window

    def _extra_inputs(self, run: _Restore, t: Tile) -> dict[str, torch.Tensor]:
        """The kernel stage's inputs for this tile (checkpoints trained to take them)."""
        extra: dict[str, torch.Tensor] = {}
        if run.deconvolved is not None:
            extra["deconvolved"] = self._layout(run.deconvolved[:, :, t.wy0:t.wy1, t.wx0:t.wx1])
        if run.motion_map is not None:
            f = self.config.latent_factor
            extra["motion"] = run.motion_map[:, :, t.wy0 // f:t.wy1 // f, t.wx0 // f:t.wx1 // f]
        return extra

    def _forward(self, run: _Restore, window: torch.Tensor, t: Tile, precision: str
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        options = run.options
        with torch.inference_mode(), self._autocast(precision):
            with run.timed("network"):
                fast = model.fast(window, **self._extra_inputs(run, t))
            if options.mode == "fast":
                return fast.rgb.float(), fast.motion.float()
            f = self.config.latent_factor
            tile_noise = run.noise[:, :, t.wy0 // f:t.wy1 // f, t.wx0 // f:t.wx1 // f]

            def on_step(step: int, total: int) -> None:
                run.check()
                run.report((run.tile_index + step / (total + 1)) / run.tile_count,
                           "sampling", step, total)

            with run.timed("sampling"):
                latent = model.sample_latent(model.condition(fast), run.text, run.mask,
                                             tile_noise.to(self.device, window.dtype),
                                             options.steps, options.sampler, callback=on_step)
                rgb = model.finish(latent, fast.rgb)
            return rgb.float(), fast.motion.float()


__all__ = [
    "Cancelled",
    "CancelToken",
    "CheckpointError",
    "Engine",
    "EngineError",
    "GlowError",
    "MissingCheckpointError",
    "ProgressInfo",
    "RestoreOptions",
    "RestoreResult",
    "PRECISIONS",
    "available_devices",
    "resolve_checkpoint",
]
