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

from dataclasses import dataclass, field

import numpy as np

from glow_core.kernel.config import DeconvConfig, FieldConfig, KernelConfig

from .caption_weights import caption_weights
from .cases import CASES, DESCRIPTIONS, LABELS
from .defocus import defocus_keep_map, preserve_defocus
from .image_classifier import image_weights
from .priors import OVERRIDES, configs_for

#: The image's own text weight below which a text caption's text priors stay off.
PRINT_CHECK = 0.2

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
]


@dataclass(frozen=True)
class SemanticPriors:
    """What the caption (or the image) selected and the configs that follow from it."""

    weights: dict[str, float]
    source: str  # "caption" or "image"
    kernel: KernelConfig
    deconv: DeconvConfig
    field: FieldConfig
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
                    field: FieldConfig | None = None) -> SemanticPriors:
    """Kernel-stage priors for ``caption`` (empty: decided from ``image``).

    ``kernel``/``deconv``/``field`` are the starting configs (default: the defaults);
    only the fields a selected case overrides change. Deterministic.
    """
    weights, source = weights_for(caption, image)
    k, d, f = configs_for(weights, kernel, deconv, field)
    case, w = dominant(weights)
    notes = [f"{LABELS[case]} ({w:.0%}, from the {source})"]
    if k.intensity_l0 > 0 and source == "caption" and image is not None \
            and image_weights(image)["text"] < PRINT_CHECK:
        # The text priors (two tones, a 4x data weight) are right for print, not for a
        # photo with words in it: a street sign captioned "a street sign with white
        # letters" lost 8.2 dB to the general prior with both and 4.8 dB with the data
        # weight alone (blind kernel stage, 384 px, usrnet12_k11). The words say text; the
        # pixels must agree that it is ink on paper.
        # The configs are blended as if the text weight were the general case's (the
        # reported weights stay the caption's, so the panel still shows what was asked).
        as_photo = dict(weights, text=0.0, general=weights["general"] + weights["text"])
        k, d, f = configs_for(as_photo, kernel, deconv, field)
        notes.append("text priors off: the photo does not look like print")
    if k.intensity_l0 > 0:
        notes.append("text prior (L0 on intensity and gradient) on")
    if d.saturation < (deconv or DeconvConfig()).saturation:
        notes.append("clipped highlights kept out of the data term")
    bokeh = float(weights.get("face", 0.0)) if weights.get("face", 0.0) >= 0.5 else 0.0
    if bokeh:
        notes.append("background bokeh kept (regions blurred unlike the subject)")
    return SemanticPriors(weights=weights, source=source, kernel=k, deconv=d, field=f,
                          notes=tuple(notes), bokeh=bokeh)
