"""Captions that steer the kernel stage's priors.

Words know things pixels cannot: that the photo is a receipt (text prior), a night street
(saturated lights, noisy shadows), a portrait (smooth skin, bokeh to keep). The caption is
embedded by the frozen caption encoder and compared with short descriptions of each case
(:mod:`.cases`) -> soft weights (:mod:`.caption_weights`); an empty caption lets the image
decide (:mod:`.image_classifier`); the weights blend per-case configuration overrides
(:mod:`.priors`).

Public entry point: :func:`semantic_priors` (caption, image) -> :class:`SemanticPriors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from glow_core.kernel.config import AcceptConfig, DeconvConfig, FieldConfig, KernelConfig

from .caption_weights import caption_weights
from .cases import CASES, DESCRIPTIONS, LABELS
from .defocus import defocus_keep_map, preserve_defocus
from .image_classifier import image_weights
from .priors import MIN_WEIGHT, OVERRIDES, configs_for

#: A caption's case whose priors need the pixels to agree: below this image weight of the
#: case they stay off. The words say text, night; the pixels must agree that it is ink on
#: paper, a dark scene with lights.
#: * text (two tones, a 4x data weight) is right for print, not for a photo with words in
#:   it: a street sign captioned "a street sign with white letters" lost 8.2 dB to the
#:   general prior with both and 4.8 dB with the data weight alone (blind kernel stage,
#:   384 px, usrnet12_k11);
#: * night (a longer, gentler solve for lights brighter than white) on a day photo that
#:   words call night: kodim03's "bright neon caps ... cloudy dark sky" (night 0.70) lost
#:   0.55 dB to its empty caption (blind, 384 px), and a night street lit like day (a
#:   casino's signs, image night weight 0.06) lost 0.25 (1.45 with the true kernel).
IMAGE_CHECKS: dict[str, float] = {"text": 0.2, "night": 0.2}
DOUBT_NOTES = {"text": "text priors off: the photo does not look like print",
               "night": "night priors off: the photo does not look dark with lights"}
#: Cases whose priors only a caption turns on: the photo alone may pick the case (the
#: panel notes it) but not these priors. The night solve fits any kernel closer, a wrong
#: one too, and the photo alone calls dark day scenes night: the engine on a shaken 256 px
#: crop of kodim02 (a dark red door with a white knob, night 0.99 from the image) gave
#: 22.60 dB with the default solve and 19.64 with the night solve, whose lower residual
#: let the acceptance keep a wrong 45 px estimate at 0.75 instead of 0.41.
WORDS_ONLY = frozenset({"night"})
#: Said when the photo alone picked such a case: what it looks like, and that it is not
#: used. (The image classifier reads many sunlit photos with a clipped sky or glint as
#: night: 9 of the 24 Kodak photos, 67 of 303 day photos of the shared sets, up to 60 a set.)
WORDS_ONLY_NOTE = ("looks like {label} ({weight:.0%}), but its solve is off: only a caption "
                   "turns it on (the photo alone is often wrong)")


def weights_in_force(weights: dict[str, float], source: str) -> dict[str, float]:
    """The case weights whose priors apply. From a caption: the caption's (the panel shows
    what was asked, and a note says where the photo overrules it). From the photo: a case
    only words turn on (``WORDS_ONLY``) counts as the general case, so the panel names the
    priors that run, not a reading of the photo they ignore."""
    return dict(weights) if source == "caption" else _as_general(weights, WORDS_ONLY)


def _as_general(weights: dict[str, float], cases: Iterable[str]) -> dict[str, float]:
    """``weights`` with each of ``cases``' weight moved to the general case."""
    out = dict(weights)
    for c in cases:
        out["general"] = out.get("general", 0.0) + out.get(c, 0.0)
        out[c] = 0.0
    return out

__all__ = [
    "CASES",
    "DESCRIPTIONS",
    "LABELS",
    "OVERRIDES",
    "SemanticPriors",
    "caption_weights",
    "configs_for",
    "defocus_keep_map",
    "dominant",
    "image_weights",
    "preserve_defocus",
    "semantic_priors",
    "weights_for",
    "weights_in_force",
]


@dataclass(frozen=True)
class SemanticPriors:
    """What the caption (or the image) selected and the configs that follow from it."""

    weights: dict[str, float]
    source: str  # "caption" or "image"
    kernel: KernelConfig
    deconv: DeconvConfig
    field: FieldConfig
    #: The acceptance test of a blind estimate (print may overshoot a blurred range).
    accept: AcceptConfig = field(default_factory=AcceptConfig)
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Portraits: strength for :func:`preserve_defocus` after ``deconvolve_field`` (0: off).
    bokeh: float = 0.0

    @property
    def case(self) -> str:
        return dominant(self.weights)[0]


def dominant(weights: dict[str, float]) -> tuple[str, float]:
    """(case, weight) of the heaviest case; ties go to the earlier case in CASES."""
    best = max(CASES, key=lambda c: (weights.get(c, 0.0), -CASES.index(c)))
    return best, float(weights.get(best, 0.0))


def weights_for(caption: str, image: np.ndarray | None = None) -> tuple[dict[str, float], str]:
    """(weights, source): from the caption, or from the image when the caption is empty."""
    text = " ".join((caption or "").split())
    if text and text.lower() != "auto":
        return caption_weights(text), "caption"
    if image is None:
        return {c: float(c == "general") for c in CASES}, "image"
    return image_weights(image), "image"


def semantic_priors(caption: str, image: np.ndarray | None, *,
                    kernel: KernelConfig | None = None, deconv: DeconvConfig | None = None,
                    field: FieldConfig | None = None,
                    accept: AcceptConfig | None = None) -> SemanticPriors:
    """Kernel-stage priors for ``caption`` (empty: decided from ``image``).

    ``kernel``/``deconv``/``field``/``accept`` are the starting configs (default: the defaults);
    only the fields a selected case overrides change. Deterministic.
    """
    weights, source = weights_for(caption, image)
    k, d, f, a = configs_for(weights, kernel, deconv, field, accept)
    case, w = dominant(weights_in_force(weights, source))
    notes = [f"{LABELS[case]} ({w:.0%}, from the {source})"]
    if source == "caption":  # the words' cases the pixels must agree with
        doubted = [] if image is None else \
            [c for c in IMAGE_CHECKS if weights.get(c, 0.0) >= MIN_WEIGHT]
        if doubted:
            seen = image_weights(image)
            doubted = [c for c in doubted if seen[c] < IMAGE_CHECKS[c]]
    else:  # the photo decided: it may pick a words-only case, not turn its priors on
        doubted = [c for c in WORDS_ONLY if weights.get(c, 0.0) >= MIN_WEIGHT]
    if doubted:
        # The configs are blended as if a doubted case's weight were the general case's
        # (the reported weights stay the caption's, so the panel still shows what was
        # asked).
        doubtful = (k, d, f, a)
        k, d, f, a = configs_for(_as_general(weights, doubted), kernel, deconv, field, accept)
        if (k, d, f, a) != doubtful:  # say so only where the case's priors were in force
            notes += [DOUBT_NOTES[c] if source == "caption" else
                      WORDS_ONLY_NOTE.format(label=LABELS[c].lower(), weight=weights[c])
                      for c in doubted]
    if k.intensity_l0 > 0:
        notes.append("text prior (L0 on intensity and gradient) on")
    if d.saturation < (deconv or DeconvConfig()).saturation:
        notes.append("clipped highlights kept out of the data term")
    if d.inner_iters > (deconv or DeconvConfig()).inner_iters:
        notes.append("lights brighter than white: a longer, gentler solve (calmer around them)")
    if k.light_streaks and not (kernel or KernelConfig()).light_streaks:
        notes.append("small lights' streaks read as the blur kernel where they agree")
    if a.max_overshoot > (accept or AcceptConfig()).max_overshoot:
        notes.append("sharp print may overshoot the blurred range: ringing test relaxed")
    bokeh = float(weights.get("face", 0.0)) if weights.get("face", 0.0) >= 0.5 else 0.0
    if bokeh:
        notes.append("background bokeh kept (regions blurred unlike the subject)")
    return SemanticPriors(weights=weights, source=source, kernel=k, deconv=d, field=f,
                          accept=a, notes=tuple(notes), bokeh=bokeh)
