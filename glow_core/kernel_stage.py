"""The engine's physics-first stage: find the blur kernel, deconvolve, hand over to the network.

:meth:`glow_core.engine.Engine.restore` calls :func:`run_kernel_stage` before the network
(issue 10, "Physics first" in DESIGN.md):

1. **kernel**: the user's kernel (no estimation), or a blind estimate; one kernel for the
   photo, or a :class:`~glow_core.kernel.KernelField` of region kernels
   (``RestoreOptions.spatially_varying``); a dragged ``kernel_region`` always means one
   kernel estimated from there; the caption (or, when it is empty, the photo itself)
   chooses the priors of estimation and deconvolution (:mod:`glow_core.semantics`: text,
   night, faces, general scenes);
2. **back off**: below the field's minimum confidence (a sharp photo, a failed estimate)
   nothing is deconvolved and the photo goes to the network as before;
3. **deconvolve** the whole photo (the kernel package tiles it with context margins, so a
   12 MP photo stays small in memory);
4. the caller decides what the network sees (:func:`network_plan`).

Everything here raises the engine's :class:`~glow_core.cancel.Cancelled` when the token
fires, and :class:`~glow_core.errors.EngineError` for a kernel that cannot be used.
"""

from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from glow_core.cancel import Cancelled, CancelToken
from glow_core.errors import EngineError
from glow_core.kernel import (
    AcceptConfig,
    DeconvCancelled,
    DeconvConfig,
    FieldConfig,
    KernelCancelled,
    KernelConfig,
    KernelField,
    KernelFileError,
    deconvolve_field,
    estimate_kernel,
    estimate_kernel_field,
    kernel_spread,
)
from glow_core.kernel._memory import keep_freed_blocks
from glow_core.kernel.field import attach_acceptance
from glow_core.kernel.kernel_io import validate_kernel
from glow_core.limits import MIN_REGION
from glow_core.semantics import SemanticPriors, semantic_priors
from glow_core.semantics.defocus import preserve_defocus

Region = tuple[int, int, int, int]
Source = Literal["estimated", "user"]
#: What the network does after deconvolution (``RestoreOptions.after_deconv``):
#: ``"network"`` runs it on the deconvolved photo, ``"deconvolved"`` skips it and keeps
#: the deconvolution, ``"blend"`` averages the two (:data:`BLEND_WEIGHT`). ``"auto"``
#: follows :data:`MEASURED_AFTER_DECONV` for checkpoints trained without the deconvolved
#: input; those trained with it always get both images, and "auto" then follows
#: :data:`MEASURED_AFTER_DECONV_PAIRED` ("blend": their output averaged with the
#: deconvolution).
AfterDeconv = Literal["auto", "network", "deconvolved", "blend"]
AFTER_DECONV: tuple[str, ...] = ("auto", "network", "deconvolved", "blend")
#: The default for checkpoints without ``prerecon.deconv_input``, measured by
#: ``benchmarks/kernel_network.py`` (README "Blur kernels (physics first)"): on Kodak x
#: real shake kernels + 1 % noise, the mean of the deconvolution and the network run on it
#: beat the deconvolution alone by ~0.1 dB and the network on it by ~0.08 dB (the shipped
#: network was trained on blurry input only: it sharpens, and also adds back some ringing).
MEASURED_AFTER_DECONV: Literal["network", "deconvolved", "blend"] = "blend"
#: Share of the network's output in "blend" (the rest: the deconvolution).
BLEND_WEIGHT = 0.5
#: The default for checkpoints that take the deconvolution beside the photo when their
#: manifest entry records no measured choice (``"after_deconv"``, :func:`paired_choice`;
#: ``glow-small-v2`` and files from outside the weights folder): "blend" keeps the network's
#: output (given both) averaged with the deconvolution, "network" its output alone.
#: Measured for v2 where the kernel stage accepted its deconvolution (2026-12-01, 512 px
#: crops, the stage's own blind estimates; README "The network on real blur"), PSNR in dB, network's
#: output / deconvolution alone / blend: real ``gopro_frameavg`` crops held out (4) 26.66 / 26.64 /
#: 26.73, the other pairs' crops (19) 28.86 / 29.27 / 29.16; 12 Kodak photos x 4 real shake kernels
#: + 1 % noise (47) 25.11 / 25.04 / 25.19. The blend beat the network's output on 17 of the 23 real
#: crops and lost on none by more than 0.05 dB; on Kodak 15 up, 2 down (worst -0.33).
MEASURED_AFTER_DECONV_PAIRED: Literal["network", "blend"] = "blend"
#: What a paired checkpoint's manifest entry may record as its measured "auto" choice.
PAIRED_CHOICES: tuple[str, ...] = ("network", "blend")
#: Spatially varying field by default? Measured: see README (cost ~16 estimates).
MEASURED_SPATIALLY_VARYING = False
MIN_KERNEL = 3
MAX_KERNEL = 151
#: Below this side the photo holds too few edges for a blind estimate: the stage backs off.
MIN_ESTIMATE_SIDE = 128
#: An estimated kernel narrower than this (rms radius, px) is "no blur" (the reason:
#: :attr:`KernelConfig.no_blur_spread`).
MIN_SPREAD_PX = KernelConfig().no_blur_spread


def paired_choice(entry: dict[str, Any] | None) -> str | None:
    """The "auto" choice measured for one checkpoint (its manifest entry's
    ``"after_deconv"``), or None. Why per checkpoint: how far a refiner's output should be
    trusted over the deconvolution it was given depends on how it was trained (v2's own
    output lost to the deconvolution on real crops, so it is averaged with it; a refiner
    trained with sharp photos beat that average), so the measurement lives beside the
    weights it was made on."""
    choice = (entry or {}).get("after_deconv")
    return choice if choice in PAIRED_CHOICES else None


def validate_kernel_options(kernel: np.ndarray | None, kernel_size: int | None,
                            kernel_region: Region | None) -> None:
    """The checks of :meth:`RestoreOptions.validate` for the kernel fields."""
    if kernel_size is not None and not MIN_KERNEL <= int(kernel_size) <= MAX_KERNEL:
        raise EngineError(f"kernel size must be between {MIN_KERNEL} and {MAX_KERNEL} pixels "
                          "(or None for automatic)")
    if kernel is not None:
        try:
            validate_kernel(np.asarray(kernel), name="the given kernel")
        except KernelFileError as exc:
            raise EngineError(str(exc)) from None
    if kernel_region is not None:
        try:
            y0, x0, y1, x1 = (int(v) for v in kernel_region)
        except (TypeError, ValueError):
            raise EngineError("kernel region must be four whole numbers (y0, x0, y1, x1)"
                              ) from None
        if min(y0, x0) < 0 or y1 - y0 < MIN_REGION or x1 - x0 < MIN_REGION:
            raise EngineError(f"kernel region {kernel_region} must lie inside the photo and "
                              f"be at least {MIN_REGION} x {MIN_REGION} pixels")


@dataclass
class KernelStageResult:
    """What the stage found: the field (None when off), the deconvolution (None when it
    backed off), and the facts for ``RestoreResult.info["kernel"]``."""

    field: KernelField | None
    deconvolved: np.ndarray | None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def backed_off(self) -> bool:
        return self.deconvolved is None


def _cancel_fn(cancel: CancelToken | None) -> Callable[[], bool] | None:
    return None if cancel is None else (lambda: cancel.cancelled)


def clip_region(region: Region, height: int, width: int) -> Region:
    """The region clipped to the photo; EngineError when too little of it is left."""
    y0, x0, y1, x1 = (int(v) for v in region)
    y0, x0 = max(0, y0), max(0, x0)
    y1, x1 = min(height, y1), min(width, x1)
    if y1 - y0 < MIN_REGION or x1 - x0 < MIN_REGION:
        raise EngineError(f"kernel region {tuple(region)} leaves less than {MIN_REGION} x "
                          f"{MIN_REGION} pixels inside the {width} x {height} photo")
    return y0, x0, y1, x1


def user_field(kernel: np.ndarray, height: int, width: int) -> KernelField:
    """A 1 x 1 field holding the user's kernel, checked against the photo's size."""
    try:
        k = validate_kernel(np.asarray(kernel), name="the given kernel",
                            max_size=(height, width))
    except KernelFileError as exc:
        raise EngineError(str(exc)) from None
    return KernelField.single(k, (height, width), confidence=1.0)


def estimate_field(pixels: np.ndarray, *, kernel_size: int | None = None,
                   region: Region | None = None, spatially_varying: bool = False,
                   progress: Callable[[float, str], None] | None = None,
                   cancel: CancelToken | None = None,
                   kernel_config: KernelConfig | None = None,
                   field_config: FieldConfig | None = None,
                   accept_config: AcceptConfig | None = None) -> KernelField:
    """Blind estimate: a field of region kernels, or one kernel as a 1 x 1 field.

    A ``region`` means the user chose where the blur shows: one kernel from there.
    """
    h, w = pixels.shape[:2]
    kcfg = kernel_config or KernelConfig()
    fcfg = field_config or FieldConfig()
    stop = _cancel_fn(cancel)
    try:
        if spatially_varying and region is None:
            return estimate_kernel_field(pixels, fcfg, kernel_config=kcfg,
                                         accept_config=accept_config,
                                         kernel_size=kernel_size, progress=progress,
                                         cancel=stop)
        box = clip_region(region, h, w) if region is not None else None
        est = estimate_kernel(pixels, kcfg, kernel_size=kernel_size, region=box,
                              progress=progress, cancel=stop)
    except KernelCancelled:
        raise Cancelled("blur estimation cancelled") from None
    kf = KernelField.single(est.kernel, (h, w), confidence=float(est.confidence))
    kf.min_confidence = fcfg.min_confidence
    if "light_streaks" in est.info:  # the lights' agreement is that check's evidence
        accept_config = replace(accept_config or AcceptConfig(), edge_residual_check=False,
                                steepness_check=False)
    kf.boxes = np.array([[list(est.region)]], dtype=np.int64)
    kf.info = {"region": tuple(int(v) for v in est.region), "seconds": est.seconds}
    if "polish" in est.info:
        kf.info["polish"] = est.info["polish"]
    if "starts" in est.info:  # each start's kernel size, confidence, agreement, residual
        kf.info["starts"] = est.info["starts"]
        kf.info["start"] = est.info["start"]
    if "agreement" in est.info:  # the kept kernel's confirmation: the acceptance reads it
        kf.info["agreement"] = est.info["agreement"]
    if "light_streaks" in est.info:  # read off the photo's lights (night case)
        kf.info["light_streaks"] = est.info["light_streaks"]
    # A blind kernel must pass the acceptance test (the starts' agreement before, ringing /
    # residual after deconvolving): a confidently wrong estimate is attenuated or refused
    # instead of damaging the photo.
    attach_acceptance(kf, pixels, kernel_config=kcfg, accept_config=accept_config,
                      cancel=stop)
    return kf


def _rounded(report: dict) -> dict:
    """An estimator report with its floats (alone or in tuples) to 4 places, the rest as
    it is: what ``info`` shows a person and a sidecar stores."""
    return {k: ([round(float(x), 4) for x in v] if isinstance(v, tuple)
                else round(v, 4) if isinstance(v, float) else v) for k, v in report.items()}


def field_info(kf: KernelField, source: Source, seconds: float, backed_off: bool) -> dict:
    """``RestoreResult.info["kernel"]``: plain values, JSON-friendly."""
    gy, gx = kf.grid
    info: dict[str, Any] = {
        "source": source,
        "size": int(kf.kernels.shape[-1]),
        "confidence": round(float(kf.global_confidence), 4),
        "seconds": round(seconds, 3),
        "backed_off": backed_off,
        "spatially_varying": (gy, gx) != (1, 1),
        "uniform": bool(kf.uniform),
        "grid": [gy, gx],
        "region_confidences": np.round(kf.confidences, 4).tolist(),
        "min_confidence": float(kf.min_confidence),
    }
    if "differing" in kf.info:  # regions whose kernel is not the whole photo's
        info["regions_differing"] = int(kf.info["differing"])
    if "region" in kf.info:
        info["region"] = list(kf.info["region"])
    if "polish" in kf.info:  # whether the polish was kept, and the residuals that decided
        info["polish"] = _rounded(kf.info["polish"])
    if "starts" in kf.info:  # the estimate's starts, and which one explained the photo best
        info["starts"] = [_rounded(s) for s in kf.info["starts"]]
        info["start"] = int(kf.info["start"])
    if "agreement" in kf.info:  # the kept kernel's confirmation (the acceptance reads it)
        info["agreement"] = round(float(kf.info["agreement"]), 4)
    if "light_streaks" in kf.info:
        streaks = kf.info["light_streaks"]
        info["light_streaks"] = {"count": int(streaks["count"]),
                                 "agreement": round(float(streaks["agreement"]), 4),
                                 "boxes": [[int(v) for v in b] for b in streaks["boxes"]]}
    return info


def run_kernel_stage(pixels: np.ndarray, *, kernel: np.ndarray | None,
                     kernel_size: int | None, region: Region | None,
                     spatially_varying: bool,
                     report: Callable[[float, str], None],
                     cancel: CancelToken | None,
                     device: str | None = None, caption: str = "",
                     scene_priors: bool = True,
                     estimate: KernelField | None = None,
                     chroma_subsampled: bool = False) -> KernelStageResult:
    """Kernel (given or estimated), back-off decision, deconvolution of the whole photo.

    ``estimate``: a blind field estimated earlier on this photo (the GUI's "Estimate blur",
    :meth:`Engine.estimate_kernel`), used instead of estimating again and treated as what it
    is: an estimate, deconvolved with the blind noise floor and judged by the acceptance test
    (a ``kernel`` is the user's and taken as exact). A copy is judged, so the caller's field
    keeps its own acceptance.

    ``report(fraction, stage)`` gets the stage's own fraction in [0, 1]: estimation is the
    first half, deconvolution the second ("estimating blur", "deconvolving"). ``device``:
    where the stage's torch code runs (None: the CPU). ``caption`` steers the priors
    (:func:`scene_configs`); ``scene_priors=False`` keeps the general-scene defaults.
    ``chroma_subsampled``: the file stored the colour at half resolution (a 4:2:0 JPEG),
    so the deconvolution solves it there (``DeconvConfig.chroma_stored_half``).
    """
    h, w = pixels.shape[:2]
    start = time.perf_counter()
    keep_freed_blocks()  # estimation and deconvolution reuse their big temporaries
    if estimate is not None and tuple(estimate.image_size) != (h, w):
        raise EngineError(f"the blur estimate was made on a {estimate.image_size[1]} x "
                          f"{estimate.image_size[0]} photo, not this {w} x {h} one")
    if kernel is None and estimate is None and min(h, w) < MIN_ESTIMATE_SIDE:
        return _backed_off(f"the photo is smaller than {MIN_ESTIMATE_SIDE} px: too few edges "
                           "to estimate the blur", start)
    priors, kcfg, dcfg, fcfg, acfg = stage_configs(caption, pixels, device, scene_priors)
    if chroma_subsampled:
        dcfg = replace(dcfg, chroma_stored_half=True)
    if kernel is not None:
        kf, source = user_field(kernel, h, w), "user"
    elif estimate is not None:
        kf, source = copy.copy(estimate), "estimated"
    else:
        report(0.0, "estimating blur")
        try:
            kf = estimate_field(pixels, kernel_size=kernel_size, region=region,
                                spatially_varying=spatially_varying,
                                kernel_config=kcfg, field_config=fcfg, accept_config=acfg,
                                progress=lambda f, _m: report(0.5 * float(f),
                                                              "estimating blur"),
                                cancel=cancel)
        except (Cancelled, EngineError):
            raise
        except Exception as exc:  # a failed estimate must not cost the user the photo
            return _backed_off(f"blur estimation failed ({type(exc).__name__}: {exc})", start)
        source = "estimated"
    if cancel is not None and cancel.cancelled:
        raise Cancelled("restoration cancelled")
    spread = kernel_spread(kf.global_kernel)
    too_small = source == "estimated" and not kf.backs_off and spread < MIN_SPREAD_PX
    backed_off = source == "estimated" and (kf.backs_off or too_small)
    deconvolved = None
    if not backed_off:
        report(0.5, "deconvolving")
        deconvolved = deconvolve_photo(pixels, kf, config=dcfg,
                                       progress=lambda f: report(0.5 + 0.5 * float(f),
                                                                 "deconvolving"),
                                       cancel=cancel)
        if priors is not None and priors.bokeh > 0:  # a portrait's soft background stays
            deconvolved = preserve_defocus(pixels, deconvolved, kf, priors.bokeh)
    acceptance = getattr(kf, "acceptance", None)
    refused_after = (acceptance is not None and deconvolved is not None
                     and acceptance.strength <= 0.0)
    if refused_after:
        backed_off, deconvolved = True, None  # refused after deconvolving: the photo as is
    info = field_info(kf, source, time.perf_counter() - start, backed_off)
    if estimate is not None and kernel is None:
        info["reused"] = True  # the earlier estimate, not a new one
    if acceptance is not None:
        info["acceptance"] = {"strength": round(float(acceptance.strength), 3),
                              "score": round(float(acceptance.score), 3),
                              "reasons": list(acceptance.reasons)}
        shares = acceptance.part_shares
        if shares is not None and not backed_off:  # parts the kernel does not explain
            info["acceptance"]["held_back"] = [int((shares < 1.0).sum()), int(shares.size)]
    info["spread"] = round(float(spread), 3)
    if priors is not None:
        info["priors"] = {"weights": {k: round(v, 3) for k, v in priors.weights.items()},
                          "source": priors.source, "notes": list(priors.notes)}
    if too_small:
        info["note"] = (f"no blur to undo: the estimated kernel is {spread:.1f} px wide "
                        f"(< {MIN_SPREAD_PX} px); no deconvolution, the network alone")
    elif backed_off and acceptance is not None and acceptance.strength <= 0.0:
        # Refused before deconvolving (the starts disagree, the halves of the photo
        # disagree, a low confidence) or after (ringing, residual): say which happened.
        what = ("the deconvolution was refused by the acceptance test" if refused_after
                else "the blur estimate was refused by the acceptance test before deconvolving")
        info["note"] = (what + " (" + "; ".join(acceptance.reasons or ["ringing"])
                        + "): the network alone")
    elif backed_off:
        info["note"] = (f"blur estimate not trusted (confidence {kf.global_confidence:.2f} < "
                        f"{kf.min_confidence:.2f}): no deconvolution, the network alone")
    return KernelStageResult(kf, deconvolved, info)


def stage_configs(caption: str, pixels: np.ndarray, device: str | None,
                  scene_priors: bool = True
                  ) -> tuple[SemanticPriors | None, KernelConfig, DeconvConfig,
                             FieldConfig | None, AcceptConfig | None]:
    """(priors, kernel, deconvolution, field and acceptance configs) the stage runs with
    on ``device``: the scene's priors (:func:`scene_configs`), or the general defaults
    without them."""
    priors = scene_configs(caption, pixels, device) if scene_priors else None
    if priors is None:
        return None, KernelConfig(device=device), DeconvConfig(device=device), None, None
    return priors, priors.kernel, priors.deconv, priors.field, priors.accept


def scene_configs(caption: str, pixels: np.ndarray, device: str | None
                  ) -> SemanticPriors | None:
    """The caption's (or, for an empty caption, the photo's) priors, on ``device``.

    A caption encoder that cannot load must not cost the user the photo: the stage then
    runs with the general-scene defaults (None).
    """
    try:
        priors = semantic_priors(caption, pixels)
    except Exception:  # the encoder is optional; the defaults are always safe
        return None
    return replace(priors, kernel=replace(priors.kernel, device=device),
                   deconv=replace(priors.deconv, device=device))


def _backed_off(note: str, start: float) -> KernelStageResult:
    return KernelStageResult(None, None, {
        "source": "estimated", "backed_off": True, "confidence": 0.0,
        "seconds": round(time.perf_counter() - start, 3), "note": note})


def deconvolve_photo(pixels: np.ndarray, kf: KernelField, *,
                     config: DeconvConfig | None = None,
                     progress: Callable[[float], None] | None = None,
                     cancel: CancelToken | None = None) -> np.ndarray:
    """Non-blind deconvolution of an H x W x 3 sRGB photo with a field (or one kernel)."""
    stop = _cancel_fn(cancel)
    try:  # the deconvolution estimates the noise itself (measured: better than passing it)
        return deconvolve_field(pixels, kf, config or DeconvConfig(), progress=progress,
                                cancel=stop)
    except DeconvCancelled:
        raise Cancelled("deconvolution cancelled") from None


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class NetworkPlan:
    """How the network runs after the kernel stage.

    ``skip``: keep the deconvolution (no network); ``input``: "blurry" or "deconvolved",
    what goes in as the network's main input; ``pass_deconvolved`` / ``pass_motion``:
    the checkpoint takes the deconvolution and the kernel motion map as extra inputs.
    """

    skip: bool = False
    input: Literal["blurry", "deconvolved"] = "blurry"
    pass_deconvolved: bool = False
    pass_motion: bool = False
    weight: float = 1.0  # output = deconvolved + weight x (network output - deconvolved)


def takes_deconvolved(model: Any) -> bool:
    """True for checkpoints trained to take the deconvolved photo (``deconv_input``)."""
    config = getattr(model, "config", None)
    if not getattr(getattr(config, "prerecon", None), "deconv_input", False):
        return False
    return _accepts(model, "deconvolved")


def _accepts(model: Any, name: str) -> bool:
    try:
        return name in inspect.signature(model.fast).parameters
    except (TypeError, ValueError, AttributeError):
        return False


def network_plan(model: Any, stage: KernelStageResult | None, after: str,
                 mode: str = "fast", paired_default: str | None = None) -> NetworkPlan:
    """What the network does: see :data:`AFTER_DECONV`.

    Skipping or blending the network is a fast-mode choice only: the full mode's diffusion
    always runs, on the deconvolved photo, and its result is kept whole.
    ``paired_default``: the checkpoint's measured "auto" choice (:func:`paired_choice`);
    None: :data:`MEASURED_AFTER_DECONV_PAIRED`.
    """
    if stage is None or stage.backed_off:
        if takes_deconvolved(model):
            # Trained with a deconvolution beside the photo: with none, it gets the photo.
            return NetworkPlan(input="blurry", pass_deconvolved=True)
        return NetworkPlan()
    if takes_deconvolved(model) and after != "deconvolved":
        choice = (paired_default or MEASURED_AFTER_DECONV_PAIRED) if after == "auto" else after
        blend = choice == "blend" and mode == "fast"
        return NetworkPlan(input="blurry", pass_deconvolved=True,
                           pass_motion=_accepts(model, "motion"),
                           weight=BLEND_WEIGHT if blend else 1.0)
    choice = MEASURED_AFTER_DECONV if after == "auto" else after
    if choice == "deconvolved" and mode == "fast":
        return NetworkPlan(skip=True, input="deconvolved")
    if choice == "blend" and mode == "fast":
        return NetworkPlan(input="deconvolved", weight=BLEND_WEIGHT)
    return NetworkPlan(input="deconvolved")


def motion_map(kf: KernelField, grid: tuple[int, int], size: tuple[int, int]) -> Any:
    """The field as the DiT's motion map (1 x 3 x gh x gw), or None without the helper."""
    try:
        from glow_core.models.motion import kernel_motion_map  # type: ignore[attr-defined]
    except ImportError:
        return None
    return kernel_motion_map(kf, grid, size)


__all__ = [
    "AFTER_DECONV",
    "KernelStageResult",
    "MEASURED_AFTER_DECONV",
    "MEASURED_AFTER_DECONV_PAIRED",
    "NetworkPlan",
    "PAIRED_CHOICES",
    "clip_region",
    "deconvolve_photo",
    "estimate_field",
    "field_info",
    "motion_map",
    "network_plan",
    "paired_choice",
    "run_kernel_stage",
    "scene_configs",
    "stage_configs",
    "stage_info",
    "takes_deconvolved",
    "user_field",
    "validate_kernel_options",
]


def stage_info(stage: KernelStageResult | None, plan: NetworkPlan) -> dict[str, Any]:
    """``info["kernel"]`` and ``info["network"]`` for the result (empty with the stage off)."""
    if stage is None:
        return {}
    if plan.skip:
        network = "skipped"
    elif plan.weight != 1.0:
        given = "with deconvolved, " if plan.pass_deconvolved else ""
        network = f"{given}blended {plan.weight:g} with deconvolved"
    elif plan.pass_deconvolved and stage.backed_off:
        # The checkpoint's second input got the photo itself: nothing was deconvolved.
        network = "on blurry"
    elif plan.pass_deconvolved:
        network = "with deconvolved"
    else:
        network = "on deconvolved" if plan.input == "deconvolved" else "on blurry"
    return {"kernel": dict(stage.info), "network": network}
