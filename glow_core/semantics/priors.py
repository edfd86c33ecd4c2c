"""Case weights -> kernel-stage configurations (``KernelConfig``, ``DeconvConfig``,
``FieldConfig``, ``AcceptConfig``) by blending each case's overrides.

Numeric fields are interpolated with the weights (scale-like ones, e.g. the data weight's
``noise_gain`` and the latent ``latent_lambda``, geometrically); a gated field (the text
priors) keeps its default unless its case holds at least :data:`GATES` of the weight, so a
caption that is only partly about text never turns a landscape into two tones; boolean fields
follow the majority of the weight. Every case leaves unspecified fields at the default
(the ``general`` case is the default prior).

Why each override (measured on 128-256 px crops of the benchmark subsets, true and
estimated kernels, see ``benchmarks/caption_priors.py``):

* **text** (Pan et al. 2014): L0 on intensity (two tones: ink, paper) in the latent update
  of the kernel estimate: kernel similarity on a receipt 0.61 -> 0.93 (a street sign, which
  is a photo with letters, 0.52 -> 0.47). In the final solve, text is high-contrast and
  two-tone, so the data deserve more trust than a photo's: a 4x larger data weight gained
  +4.4 dB (receipt) and +2.4 dB (sign) with the true kernel. (With the luminance + chroma
  solve, which already trusts luminance more, the text case beats a wrong caption by
  +1.61 dB with the true kernel and loses 0.59 dB blind: ``benchmarks/caption_priors``,
  README.) The two-tone L0 term in the
  final solve (``DeconvConfig.intensity_l0``) and a sparser exponent (0.5) measured no
  better (-0.3 / -3 dB), so they stay off. The acceptance test's ringing check reads
  values outside the blurry photo's local range as overshoot, but a sharp page *is*
  outside it: a thin stroke blurred never reaches the ink's black. It refused right
  kernels on receipts (similarity 0.90-0.97, +10 dB at full strength, overshoot 6-9
  sigmas), so print gets twice the ramp (6 -> 14 instead of 3 -> 7). 12 receipts x 2
  Levin kernels, 384 px, 1 % noise, blind (in-sample): the text priors' estimate at full
  strength 22.08 dB against the general one's 20.07 (input 16.15, true kernel 27.62);
  through the acceptance 19.56 with the default ramp, 22.05 with 6 -> 14 (8 -> 16:
  22.35, no ramp: 22.08); the general priors keep 20.02. Held out (the next 12 receipts,
  24 cases): input 14.73, the text priors through 3 -> 7 18.11, through 6 -> 14 21.79
  (full strength 22.12, true kernel 27.38); the general priors keep 18.36.
* **night**: the defaults already keep clipped pixels out of the data term (one-sided,
  Whyte et al. 2014) and pick the estimate's region away from them. But a street light is
  far brighter than the white it was stored as, and the one-sided solve has to build
  that energy up iteration by iteration: in 3 x 6 iterations it is far from done and
  rings in black and white stripes around every lamp. The night case solves longer (8
  iterations per level) with a gentler split (penalty 0.15 x instead of 1 x the data
  weight). nightshot5 crops with lamps at 6x white, Levin kernels, true kernel (5
  crops): the default 21.32 dB (the former 4 plain iterations) / 21.54 (over-relaxed),
  the night solve 23.23 (0.25 x with 6 / 12 iterations: 22.51 / 23.48); on a crop
  with a lit sign (0001) it is 1.7 dB below, elsewhere 0.4-4.9 above. It costs ~2.7x
  the deconvolution time, and would cost day photos: on the 64 Kodak 05-12 cases the
  night solve gave 26.92 dB with the true kernel against the default's 27.40 (blind stage
  output 24.24 against 24.39; per case -1.3 to +0.7). The aggressive variants tried
  before (clip at 0.90 with a 4 px margin, a 2-4x stronger noise regularisation in the
  solve or in the latent update) all measured worse (-0.5 to -1.6 dB, kernel similarity
  -0.1 to -0.2). Only a caption turns the night solve on (``WORDS_ONLY`` in
  :mod:`glow_core.semantics`): the photo alone calls dark day scenes night. The night
  case also reads the kernel off agreeing light streaks (``KernelConfig.light_streaks``,
  :mod:`glow_core.kernel.streaks`): blind, nightshot5 x Levin kernels at 384 px, exp_004
  16.94 -> 19.01 dB where the edge-based estimate found "no blur"; held out, a dark
  urban100_more crop (img_031) 17.11 -> 21.27 dB from seven lights agreeing at 0.98 with
  the true kernel; the other ten crops tried are unchanged.
* **face**: the default prior in the solve; the case's effect is :func:`preserve_defocus`,
  which leaves regions whose blur disagrees with the subject's alone (a portrait's bokeh).
  Total variation (gradient exponent 1 instead of 0.8, for smooth skin) earned +1.0 dB on
  portraits with the first solver, but with the table-lookup solver it measured -0.45 dB
  (3 CelebA-HQ crops x Levin kernels, true kernel: 28.76 against 29.21 dB), on every
  portrait the image classifier recognises too, so it was dropped.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from glow_core.kernel.config import AcceptConfig, DeconvConfig, FieldConfig, KernelConfig

from .cases import CASES

#: Per case: {config name: {field: value}}. Missing fields keep the default.
OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "text": {
        "kernel": {"intensity_l0": 1.0},
        "deconv": {"noise_gain": 0.12},
        "field": {},
        "accept": {"ok_overshoot": 6.0, "max_overshoot": 14.0},
    },
    "night": {"kernel": {"light_streaks": True},
              "deconv": {"inner_iters": 8, "opponent_rho_ratio": 0.15},
              "field": {}, "accept": {}},
    "face": {"kernel": {}, "deconv": {}, "field": {}, "accept": {}},
    "general": {"kernel": {}, "deconv": {}, "field": {}, "accept": {}},
}

#: Case weights below this are ignored when blending (see :func:`configs_for`).
MIN_WEIGHT = 0.15

#: Fields blended in log space (positive scale parameters).
GEOMETRIC = frozenset({"noise_gain", "latent_lambda", "latent_lambda_min",
                       "opponent_rho_ratio"})
#: Fields that stay at the default unless the case that sets them weighs at least this.
#: Both text overrides assume the photo *is* print (two tones, high contrast); a minority
#: text weight means "a scene with some writing in it", where they hurt: kodim02's "red
#: painted wooden door with peeling paint" (text 0.44 after the tail is dropped) lost
#: 0.47 dB to its empty caption with the text prior at a 0.3 gate.
GATES: dict[str, float] = {"intensity_l0": 0.5, "noise_gain": 0.5, "ok_overshoot": 0.5,
                           "max_overshoot": 0.5}


def _blend(default: Any, name: str, cfg: str, weights: dict[str, float]) -> Any:
    base = getattr(default, name)
    vals = {c: OVERRIDES[c][cfg].get(name, base) for c in CASES}
    if all(v == base for v in vals.values()):
        return base
    if name in GATES:
        for c, v in vals.items():
            if v != base and weights.get(c, 0.0) < GATES[name]:
                vals[c] = base
    used = {v for c, v in vals.items() if weights.get(c, 0.0) > 0}
    if len(used) == 1:  # every weighted case agrees: that value, exactly
        return used.pop()
    if isinstance(base, bool):
        return sum(w for c, w in weights.items() if vals[c]) >= 0.5
    if base is None:
        return max(vals.items(), key=lambda cv: weights.get(cv[0], 0.0))[1]
    if name in GEOMETRIC and all(v > 0 for v in vals.values()):
        out = math.exp(sum(weights.get(c, 0.0) * math.log(v) for c, v in vals.items()))
    else:
        out = sum(weights.get(c, 0.0) * float(v) for c, v in vals.items())
    if isinstance(base, int):
        return int(round(out))
    return float(out)


def blend_config(default: Any, cfg: str, weights: dict[str, float]) -> Any:
    """``default`` with every field overridden by some case replaced by the blend."""
    changes = {}
    for f in dataclasses.fields(default):
        v = _blend(default, f.name, cfg, weights)
        if v != getattr(default, f.name):
            changes[f.name] = v
    return dataclasses.replace(default, **changes) if changes else default


def configs_for(weights: dict[str, float], kernel: KernelConfig | None = None,
                deconv: DeconvConfig | None = None, field: FieldConfig | None = None,
                accept: AcceptConfig | None = None
                ) -> tuple[KernelConfig, DeconvConfig, FieldConfig, AcceptConfig]:
    """The four configs for case ``weights`` (starting from the given or default ones)."""
    # Weights under MIN_WEIGHT are the softmax's tail, not a statement about the photo:
    # dropped (and the rest renormalised) so a caption about a red door stays "general".
    w = {c: max(0.0, float(weights.get(c, 0.0))) for c in CASES}
    if max(w.values()) > MIN_WEIGHT:
        w = {c: (v if v >= MIN_WEIGHT else 0.0) for c, v in w.items()}
    total = sum(w.values()) or 1.0
    w = {c: v / total for c, v in w.items()}
    return (blend_config(kernel or KernelConfig(), "kernel", w),
            blend_config(deconv or DeconvConfig(), "deconv", w),
            blend_config(field or FieldConfig(), "field", w),
            blend_config(accept or AcceptConfig(), "accept", w))
