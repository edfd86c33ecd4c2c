"""Light streaks as the kernel (night photos): generated dark scenes with small lights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from glow_core.kernel import KernelConfig, estimate_kernel
from glow_core.kernel.estimate import kernel_similarity
from glow_core.kernel.fft import conv2_same
from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear
from glow_core.kernel.streaks import find_streaks, streak_kernel
from tests.test_kernel_deconvolve import blur_linear, dead_leaves, motion_kernel

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def night_scene(lights: int, k: np.ndarray, size: int = 256, seed: int = 0,
                noise: float = 0.003) -> np.ndarray:
    """A dark, softly textured scene with ``lights`` small lamps several times brighter
    than white, shaken by ``k`` in linear light, clipped, noisy, 8-bit (sRGB, [0, 1])."""
    rng = np.random.default_rng(seed)
    lin = srgb_to_linear(0.06 + 0.1 * dead_leaves(size, seed=seed + 1, n=200))
    for y, x in rng.uniform(0.15, 0.85, (lights, 2)) * size:
        lin[int(y), int(x)] = rng.uniform(4.0, 8.0)  # a lamp: one pixel, 4-8x white
    p = k.shape[0]
    t = torch.from_numpy(np.ascontiguousarray(lin.transpose(2, 0, 1), dtype=np.float32))
    padded = torch.nn.functional.pad(t[None], (p, p, p, p), mode="reflect")[0]
    blurred = conv2_same(padded, torch.from_numpy(k))[:, p:-p, p:-p].permute(1, 2, 0).numpy()
    srgb = linear_to_srgb(np.clip(blurred, 0.0, 1.0))
    srgb = srgb + rng.normal(0.0, noise, srgb.shape)
    return (np.round(np.clip(srgb, 0, 1) * 255) / 255).astype(np.float32)


def _grey(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return srgb_to_linear(img.mean(-1)), img.min(-1) >= 0.97


def test_several_lights_give_their_shared_streak_as_the_kernel() -> None:
    k = motion_kernel(15, seed=2)
    blurry = night_scene(6, k)
    found = streak_kernel(*_grey(blurry), max_size=51)
    assert found is not None
    kernel, info = found
    assert info["count"] >= 3 and info["agreement"] >= 0.75
    assert kernel.shape[0] % 2 == 1 and abs(float(kernel.sum()) - 1.0) < 1e-5
    assert kernel_similarity(kernel, k) > 0.85


def test_one_light_or_a_day_scene_is_no_evidence() -> None:
    k = motion_kernel(15, seed=2)
    one = night_scene(1, k, seed=3)
    assert len(find_streaks(*_grey(one), max_size=51)) <= 1
    assert streak_kernel(*_grey(one), max_size=51) is None
    # two alike pieces may be two letters of one sign: three lights at least
    two = night_scene(2, k, seed=3)
    assert len(find_streaks(*_grey(two), max_size=51)) == 2
    assert streak_kernel(*_grey(two), max_size=51) is None
    day = blur_linear(dead_leaves(256, seed=4, n=600), k, noise=0.01, seed=2)
    assert streak_kernel(*_grey(day), max_size=51) is None


def test_the_estimator_reads_streaks_only_when_asked() -> None:
    k = motion_kernel(15, seed=5)
    blurry = night_scene(6, k, seed=6)
    night = replace(KernelConfig(), light_streaks=True, polish_rounds=0)
    est = estimate_kernel(blurry, night)
    assert est.info["light_streaks"]["count"] >= 2
    assert kernel_similarity(est.kernel, k) > 0.85
    sized = estimate_kernel(blurry, night, kernel_size=31)
    assert sized.kernel.shape == (31, 31) and "light_streaks" in sized.info
    plain = estimate_kernel(blurry, replace(night, light_streaks=False))
    assert "light_streaks" not in plain.info


def test_the_stage_reports_the_streaks_it_read() -> None:
    """``info["kernel"]["light_streaks"]`` (the panel's line says so): how many lights
    agreed, how well, and where."""
    import json

    from glow_core.kernel_stage import estimate_field, field_info

    k = motion_kernel(15, seed=7)
    blurry = night_scene(5, k, seed=8)
    kf = estimate_field(blurry, kernel_config=replace(KernelConfig(), light_streaks=True))
    info = field_info(kf, "estimated", 1.0, False)
    streaks = info["light_streaks"]
    assert streaks["count"] >= 2 and 0.75 <= streaks["agreement"] <= 1.0
    assert len(streaks["boxes"]) == streaks["count"]
    json.dumps(info)  # plain values
    # the lights' agreement stands for the edge residual check (lamps pile residual on
    # their edges); ringing and the plain residual are still judged
    from glow_core.kernel.field import deconvolve_field

    deconvolve_field(blurry, kf)
    parts = kf.acceptance.features["parts"]
    assert "edge_residual" not in parts and {"overshoot", "residual"} <= set(parts)
    from types import SimpleNamespace

    from glow_core.kernel import accept, deconvolve

    judged = accept(blurry, deconvolve(blurry, k), SimpleNamespace(kernel=k, confidence=0.9),
                    None).features["parts"]
    assert "edge_residual" in judged  # any other kernel: all three checks


def test_a_city_of_lights_compares_only_the_strongest_candidates() -> None:
    """Hundreds of lights must not cost hundreds squared comparisons: the most contrasted
    ``max_candidates`` are compared, and they still agree on the shake."""
    from glow_core.kernel.config import StreakConfig

    k = motion_kernel(15, seed=9)
    blurry = night_scene(40, k, size=512, seed=10)
    grey, clipped = _grey(blurry)
    assert len(find_streaks(grey, clipped, max_size=51)) > 8
    found = streak_kernel(grey, clipped, max_size=51, config=StreakConfig(max_candidates=8))
    assert found is not None and found[1]["candidates"] == 8
    assert kernel_similarity(found[0], k) > 0.85
