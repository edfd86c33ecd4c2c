"""The engine's kernel stage (glow_core.kernel_stage) on a tiny checkpoint and small photos."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import scipy.signal
import torch

from glow_core import kernel_stage
from glow_core.engine import (
    Cancelled,
    CancelToken,
    Engine,
    EngineError,
    ProgressInfo,
    RestoreOptions,
)
from glow_core.kernel import KernelEstimate, KernelField, linear_to_srgb, srgb_to_linear
from tests.conftest import make_tiny_checkpoint
from tests.test_kernel_estimate import dead_leaves, motion_kernel

KSIZE = 11


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(make_tiny_checkpoint(tmp_path_factory.mktemp("ks") / "tiny.safetensors"),
                  device="cpu")


def colour_scene(size: int, seed: int) -> np.ndarray:
    """A linear-light colour dead-leaves photo (channels from one scene, tinted)."""
    g = dead_leaves(size, seed=seed, n=400)
    return np.stack([g, 0.8 * g + 0.1, 0.6 * g + 0.2], axis=2).astype(np.float32)


@pytest.fixture(scope="module")
def blurred() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sharp sRGB, kernel, blurry sRGB): blurred in linear light, valid part only."""
    k = motion_kernel(KSIZE, seed=4)
    lin = colour_scene(192 + KSIZE, seed=2)
    m = KSIZE // 2
    out = np.stack([scipy.signal.convolve(lin[..., c], k, mode="valid") for c in range(3)], 2)
    sharp = linear_to_srgb(lin[m:-m, m:-m])
    return sharp.astype(np.float32), k, linear_to_srgb(out).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray, border: int = 12) -> float:
    d = (a - b)[border:-border, border:-border]
    return float(-10 * np.log10(max(np.mean(d ** 2), 1e-12)))


def test_kernel_stage_beats_stage_off(engine: Engine, blurred) -> None:
    sharp, _k, clean = blurred
    # 1 % noise, as a camera gives: the acceptance test measures ringing in noise sigmas,
    # and a noise-free synthetic scene would make every faint halo count as ringing.
    noise = np.random.default_rng(5).normal(0, 0.01, clean.shape).astype(np.float32)
    blurry = np.clip(clean + noise, 0, 1)
    on = engine.restore(blurry, RestoreOptions(kernel_size=KSIZE, after_deconv="deconvolved"))
    off = engine.restore(blurry, RestoreOptions(kernel_stage=False))
    info = on.info["kernel"]
    assert info["source"] == "estimated" and not info["backed_off"]
    # the polish's decision travels with the result, JSON-friendly
    assert isinstance(info["polish"]["kept"], bool)
    json.dumps(info["polish"])
    # ... and so do the starts: each competing one's residual, the kept one's the lowest
    residuals = [s["residual"] for s in info["starts"]]
    assert len(residuals) == 2 and residuals[info["start"]] == min(
        r for r in residuals if r is not None)
    json.dumps(info["starts"], allow_nan=False)
    # the two starts found one kernel: it is confirmed (what the acceptance test read)
    assert info["agreement"] >= 0.5 and "agreement" not in " ".join(
        info["acceptance"]["reasons"])
    assert on.info["network"] == "skipped" and "kernel" not in off.info
    assert psnr(on.image, sharp) > psnr(blurry, sharp) + 2.0
    assert psnr(on.image, sharp) > psnr(off.image, sharp) + 2.0
    assert isinstance(on.kernel_field, KernelField) and off.kernel_field is None


def test_supplied_kernel_is_used_without_estimation(engine: Engine, blurred, monkeypatch
                                                    ) -> None:
    sharp, k, blurry = blurred

    def no_estimate(*_a, **_kw):
        raise AssertionError("a supplied kernel must not be estimated")

    monkeypatch.setattr(kernel_stage, "estimate_kernel", no_estimate)
    monkeypatch.setattr(kernel_stage, "estimate_kernel_field", no_estimate)
    stages: list[str] = []
    res = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved"),
                         progress=lambda p: stages.append(p.stage))
    info = res.info["kernel"]
    assert info["source"] == "user" and info["confidence"] == 1.0 and info["size"] == KSIZE
    assert "estimating blur" not in stages and "deconvolving" in stages
    np.testing.assert_allclose(res.kernel_field.global_kernel, k / k.sum(), atol=1e-6)
    assert psnr(res.image, sharp) > psnr(blurry, sharp) + 3.0


def test_backs_off_on_a_sharp_photo(engine: Engine) -> None:
    sharp = linear_to_srgb(colour_scene(192, seed=7)).astype(np.float32)
    res = engine.restore(sharp, RestoreOptions(kernel_size=KSIZE))
    off = engine.restore(sharp, RestoreOptions(kernel_stage=False))
    info = res.info["kernel"]
    assert info["backed_off"] and info["confidence"] < info["min_confidence"]
    assert "not trusted" in info["note"] and res.info["network"] == "on blurry"
    np.testing.assert_allclose(res.image, off.image, atol=1e-6)  # as if the stage were off


def test_small_photo_backs_off_and_network_runs(engine: Engine) -> None:
    img = np.random.default_rng(0).random((40, 48, 3), dtype=np.float32)
    res = engine.restore(img)
    assert res.info["kernel"]["backed_off"] and "smaller" in res.info["kernel"]["note"]
    assert res.motion is not None and res.kernel_field is None


def test_cancel_during_estimation(engine: Engine, blurred) -> None:
    _sharp, _k, blurry = blurred
    token = CancelToken()
    seen: list[ProgressInfo] = []

    def progress(info: ProgressInfo) -> None:
        seen.append(info)
        if info.stage == "estimating blur" and info.fraction > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        engine.restore(blurry, RestoreOptions(kernel_size=KSIZE), progress=progress,
                       cancel=token)
    assert all(p.stage == "estimating blur" for p in seen)
    # and during the deconvolution
    token2 = CancelToken()

    def progress2(info: ProgressInfo) -> None:
        if info.stage == "deconvolving" and info.fraction > 0.75 * 0.5:
            token2.cancel()

    with pytest.raises(Cancelled):
        engine.restore(blurry, RestoreOptions(kernel=_k), progress=progress2, cancel=token2)


def test_info_timings_and_progress_order(engine: Engine, blurred) -> None:
    _sharp, k, blurry = blurred
    seen: list[ProgressInfo] = []
    res = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="network"),
                         progress=seen.append)
    assert res.info["network"] == "on deconvolved" and res.motion is not None
    half = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="blend"))
    alone = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved"))
    assert half.info["network"].startswith("blended")
    inside = (res.image > 1e-3) & (res.image < 1 - 1e-3)  # the network's output unclipped
    np.testing.assert_allclose(half.image[inside], 0.5 * (res.image + alone.image)[inside],
                               atol=1e-4)
    assert res.info["timings"]["kernel"] > 0
    info = res.info["kernel"]
    for key in ("source", "size", "confidence", "seconds", "backed_off", "region_confidences",
                "grid", "spatially_varying"):
        assert key in info
    stages = [p.stage for p in seen]
    assert stages.index("deconvolving") < stages.index("tiles")
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_public_estimate_kernel_takes_a_region(engine: Engine, blurred, monkeypatch) -> None:
    _sharp, k, blurry = blurred
    seen: dict = {}
    real = kernel_stage.estimate_kernel

    def spy(image, config, **kw):
        seen.update(kw)
        return real(image, config, **kw)

    monkeypatch.setattr(kernel_stage, "estimate_kernel", spy)
    calls: list[ProgressInfo] = []
    kf = engine.estimate_kernel(blurry, kernel_size=KSIZE, region=(10, 20, 150, 180),
                                progress=calls.append)
    assert seen["region"] == (10, 20, 150, 180) and seen["kernel_size"] == KSIZE
    assert kf.grid == (1, 1) and kf.kernels.shape[-1] == KSIZE
    assert kf.info["seconds"] > 0 and calls and calls[0].stage == "estimating blur"
    # the region reaches a restore too
    seen.clear()
    engine.restore(blurry, RestoreOptions(kernel_size=KSIZE, kernel_region=(0, 0, 100, 120),
                                          after_deconv="deconvolved"))
    assert seen["region"] == (0, 0, 100, 120)


def test_options_are_validated(engine: Engine) -> None:
    bad = [
        dict(kernel_size=1), dict(kernel_size=999), dict(kernel=-np.ones((3, 3))),
        dict(kernel=np.zeros((5, 5))), dict(kernel=np.ones(4)),
        dict(kernel_region=(0, 0, 10, 10)), dict(kernel_region=(-5, 0, 100, 100)),
        dict(after_deconv="maybe"),
    ]
    for fields in bad:
        with pytest.raises(EngineError):
            RestoreOptions(**fields).validate()
    small = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(EngineError, match="larger than the photo"):
        engine.restore(small, RestoreOptions(kernel=np.ones((41, 41))))
    with pytest.raises(EngineError, match="leaves less"):
        engine.restore(np.zeros((200, 200, 3), np.float32),
                       RestoreOptions(kernel_region=(150, 150, 400, 400)))


def test_network_plan_for_deconv_input_checkpoints() -> None:
    class Plain:
        config = types.SimpleNamespace(prerecon=types.SimpleNamespace())

        def fast(self, x):
            return x

    class Trained:
        config = types.SimpleNamespace(prerecon=types.SimpleNamespace(deconv_input=True))

        def fast(self, x, deconvolved=None, motion=None):
            return x

    done = kernel_stage.KernelStageResult(KernelField.single(np.ones((3, 3)) / 9, (9, 9)),
                                          np.zeros((9, 9, 3)), {})
    off = kernel_stage.KernelStageResult(None, None, {})
    assert kernel_stage.network_plan(Plain(), done, "auto").skip == (
        kernel_stage.MEASURED_AFTER_DECONV == "deconvolved")
    assert kernel_stage.network_plan(Plain(), done, "network").input == "deconvolved"
    assert not kernel_stage.network_plan(Plain(), done, "deconvolved", "full").skip
    assert kernel_stage.network_plan(Plain(), done, "blend").weight == kernel_stage.BLEND_WEIGHT
    assert kernel_stage.network_plan(Plain(), done, "blend", "full").weight == 1.0
    plan = kernel_stage.network_plan(Trained(), done, "auto")
    assert plan.pass_deconvolved and plan.pass_motion and plan.input == "blurry"
    assert plan.weight == (kernel_stage.BLEND_WEIGHT
                           if kernel_stage.MEASURED_AFTER_DECONV_PAIRED == "blend" else 1.0)
    # given both images either way; "network" keeps its output whole, as the full mode does
    for after, mode, weight in (("network", "fast", 1.0), ("blend", "fast", 0.5),
                                ("auto", "full", 1.0), ("blend", "full", 1.0)):
        plan = kernel_stage.network_plan(Trained(), done, after, mode)
        assert plan.pass_deconvolved and plan.input == "blurry" and plan.weight == weight
    assert kernel_stage.network_plan(Trained(), done, "deconvolved").skip
    # a checkpoint's own measured choice (its manifest entry) decides "auto", nothing else
    for entry, weight in (({"after_deconv": "network"}, 1.0), ({"after_deconv": "blend"}, 0.5),
                          ({"after_deconv": "junk"}, None), (None, None)):
        choice = kernel_stage.paired_choice(entry)
        plan = kernel_stage.network_plan(Trained(), done, "auto", "fast", choice)
        expected = weight if weight is not None else (
            kernel_stage.BLEND_WEIGHT if kernel_stage.MEASURED_AFTER_DECONV_PAIRED == "blend"
            else 1.0)
        assert plan.weight == expected and plan.pass_deconvolved
        assert kernel_stage.network_plan(Trained(), done, "blend", "fast", choice).weight == 0.5
    assert kernel_stage.network_plan(Trained(), off, "auto").pass_deconvolved
    assert kernel_stage.network_plan(Plain(), None, "auto") == kernel_stage.NetworkPlan()


def test_engine_passes_deconvolved_to_a_trained_checkpoint(engine: Engine, blurred,
                                                          monkeypatch) -> None:
    _sharp, k, blurry = blurred
    got: dict = {}
    real_fast = engine.model.fast

    def fast(x, deconvolved=None, motion=None):
        got["deconvolved"], got["x"] = deconvolved, x
        return real_fast(x)

    monkeypatch.setattr(kernel_stage, "takes_deconvolved", lambda model: True)
    monkeypatch.setattr(engine.model, "fast", fast)
    res = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="network"))
    assert res.info["network"] == "with deconvolved"
    assert got["deconvolved"] is not None and got["deconvolved"].shape == got["x"].shape
    assert not torch.equal(got["deconvolved"], got["x"])  # the blurry photo is the input
    # "blend" (the default, measured) averages that output with the deconvolution, not
    # with the network's input (the blurry photo)
    deconv = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved")).image
    blend = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="blend"))
    assert blend.info["network"] == "with deconvolved, blended 0.5 with deconvolved"
    inside = (res.image > 0.0) & (res.image < 1.0)  # where the network's output was not clipped
    expected = deconv + 0.5 * (res.image - deconv)
    assert inside.mean() > 0.9
    assert np.abs(blend.image - expected)[inside].max() < 1e-5
    assert engine.restore(blurry, RestoreOptions(kernel=k)).info["network"] == \
        blend.info["network"]


def test_sixteen_bit_and_alpha_go_through(engine: Engine, blurred) -> None:
    _sharp, k, blurry = blurred
    ref = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved")).image
    u16 = np.round(blurry * 65535).astype(np.uint16)
    rgba = np.concatenate([u16, np.full(u16.shape[:2] + (1,), 65535, np.uint16)], axis=2)
    for image in (u16, rgba):
        out = engine.restore(image, RestoreOptions(kernel=k, after_deconv="deconvolved")).image
        assert out.shape == blurry.shape and out.dtype == np.float32
        # 16-bit quantisation, amplified a little by the deconvolution
        assert np.abs(out - ref).mean() < 1e-4 and np.abs(out - ref).max() < 1e-2


def test_a_near_delta_estimate_backs_off(engine: Engine, blurred, monkeypatch) -> None:
    """A confident but tiny kernel (what noise on a sharp photo gives) is not deconvolved."""
    _sharp, _k, blurry = blurred
    delta = np.zeros((7, 7), np.float32)
    delta[3, 3], delta[3, 4] = 0.8, 0.2
    monkeypatch.setattr(kernel_stage, "estimate_kernel",
                        lambda image, config, **kw: KernelEstimate(delta, 0.6, 7, (0, 0, 64, 64),
                                                                   0.01))
    res = engine.restore(blurry, RestoreOptions())
    info = res.info["kernel"]
    assert info["backed_off"] and info["spread"] < kernel_stage.MIN_SPREAD_PX
    assert "no blur to undo" in info["note"] and res.info["network"] == "on blurry"
    # A checkpoint that takes a deconvolution beside the photo gets the photo twice: the
    # info must not claim a deconvolution reached it.
    monkeypatch.setattr(kernel_stage, "takes_deconvolved", lambda model: True)
    res = engine.restore(blurry, RestoreOptions())
    assert res.info["kernel"]["backed_off"] and res.info["network"] == "on blurry"


def test_caption_chooses_the_stage_priors(engine: Engine, blurred) -> None:
    from tests.test_semantics import _text_image

    _sharp, k, photo = blurred
    # Print, shaken: the text priors apply only where the pixels look like print.
    lin = srgb_to_linear(_text_image(192 + KSIZE, seed=1))
    blurry = linear_to_srgb(np.stack([scipy.signal.convolve(lin[..., c], k, mode="valid")
                                      for c in range(3)], 2)).astype(np.float32)
    text = engine.restore(blurry, RestoreOptions(
        kernel=k, after_deconv="deconvolved",
        caption="a receipt with small printed black text and a barcode"))
    plain = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved",
                                                  scene_priors=False))
    priors = text.info["kernel"]["priors"]
    assert priors["source"] == "caption"
    assert max(priors["weights"], key=priors["weights"].get) == "text"
    assert "priors" not in plain.info["kernel"]
    # The words reach the pixels: the text prior changes the deconvolution visibly.
    assert float(np.abs(text.image - plain.image).mean()) * 255 > 0.5
    # ... but not on a photo, which does not look like print (the note says so).
    sign = engine.restore(photo, RestoreOptions(
        kernel=k, after_deconv="deconvolved", caption="a street sign with white letters"))
    assert any("does not look like print" in n for n in sign.info["kernel"]["priors"]["notes"])


def test_empty_caption_lets_the_photo_decide(engine: Engine, blurred) -> None:
    _sharp, k, blurry = blurred
    result = engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved"))
    assert result.info["kernel"]["priors"]["source"] == "image"


def test_deconv_input_checkpoint_runs_with_the_stage_off(tmp_path) -> None:
    """A checkpoint trained beside a deconvolution gets the photo itself when there is none."""
    import dataclasses

    from glow_core.checkpoint import save_checkpoint
    from glow_core.config import PRESETS
    from glow_core.models import GlowDeblur

    tiny = PRESETS["tiny"]
    config = dataclasses.replace(tiny, prerecon=dataclasses.replace(tiny.prerecon,
                                                                    deconv_input=True))
    path = tmp_path / "deconv.safetensors"
    save_checkpoint(path, GlowDeblur(config), stages=["prerecon", "motion"])
    engine = Engine(path, device="cpu")
    photo = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    off = engine.restore(photo, RestoreOptions(kernel_stage=False))
    assert off.image.shape == photo.shape and np.isfinite(off.image).all()


def test_a_confidently_wrong_estimate_is_refused(engine: Engine, blurred, monkeypatch) -> None:
    """The acceptance test guards the engine's single-kernel path: a wrong kernel rings."""
    sharp, k, clean = blurred
    blurry = np.clip(clean + np.random.default_rng(6).normal(0, 0.01, clean.shape), 0, 1
                     ).astype(np.float32)
    wrong = np.zeros((21, 21), np.float32)
    wrong[10, :] = 1.0 / 21  # a long horizontal streak: nothing like the true shake

    def confident_but_wrong(image, config, **kw):
        h, w = image.shape[:2]
        return KernelEstimate(kernel=wrong, confidence=0.9, size=21, region=(0, 0, h, w),
                              seconds=0.0, info={})

    monkeypatch.setattr(kernel_stage, "estimate_kernel", confident_but_wrong)
    result = engine.restore(blurry, RestoreOptions(after_deconv="deconvolved"))
    acceptance = result.info["kernel"]["acceptance"]
    assert acceptance["strength"] == 0.0 and result.info["kernel"]["backed_off"], acceptance
    assert "the deconvolution was refused by the acceptance test" in result.info["kernel"]["note"]
    # refused: the photo goes to the network exactly as with the stage off
    off = engine.restore(blurry, RestoreOptions(kernel_stage=False))
    np.testing.assert_allclose(result.image, off.image, atol=1e-6)


def test_an_unconfirmed_kernel_is_refused_before_deconvolving(engine: Engine, blurred,
                                                             monkeypatch) -> None:
    """The true kernel, but no other start of the estimator confirmed it: the acceptance
    test refuses it before any deconvolution, and the note says so (not that a
    deconvolution was refused) and names the agreement."""
    sharp, k, clean = blurred
    blurry = np.clip(clean + np.random.default_rng(6).normal(0, 0.01, clean.shape), 0, 1
                     ).astype(np.float32)

    def unconfirmed(image, config, **kw):
        h, w = image.shape[:2]
        return KernelEstimate(kernel=k, confidence=0.9, size=KSIZE, region=(0, 0, h, w),
                              seconds=0.0, info={"agreement": 0.3})

    def no_deconvolution(*_a, **_kw):
        raise AssertionError("a kernel refused before deconvolving is not deconvolved")

    monkeypatch.setattr(kernel_stage, "estimate_kernel", unconfirmed)
    monkeypatch.setattr(kernel_stage, "deconvolve_photo", no_deconvolution)
    info = engine.restore(blurry, RestoreOptions()).info["kernel"]
    assert info["backed_off"] and info["agreement"] == 0.3, info
    assert "refused by the acceptance test before deconvolving" in info["note"], info["note"]
    assert "agreement 0.30" in info["note"] and "network alone" in info["note"]


def test_an_earlier_estimate_is_reused_as_an_estimate(engine: Engine, blurred, monkeypatch
                                                      ) -> None:
    """"Estimate blur" then restore: no second estimate, and the same result as a restore
    that estimated (blind noise floor, acceptance test), not the exact-kernel path."""
    sharp, k, clean = blurred
    blurry = np.clip(clean + np.random.default_rng(3).normal(0, 0.005, clean.shape), 0, 1
                     ).astype(np.float32)
    opts = {"kernel_size": KSIZE, "after_deconv": "deconvolved"}
    direct = engine.restore(blurry, RestoreOptions(**opts))
    estimate = engine.estimate_kernel(blurry, kernel_size=KSIZE)
    before = estimate.acceptance

    def no_estimate(*_a, **_kw):
        raise AssertionError("an earlier estimate must not be estimated again")

    monkeypatch.setattr(kernel_stage, "estimate_kernel", no_estimate)
    monkeypatch.setattr(kernel_stage, "estimate_kernel_field", no_estimate)
    reused = engine.restore(blurry, RestoreOptions(estimate=estimate, **opts))
    info = reused.info["kernel"]
    assert info["source"] == "estimated" and info["reused"] and "acceptance" in info
    np.testing.assert_allclose(reused.image, direct.image, atol=1e-6)
    assert psnr(reused.image, sharp) > psnr(blurry, sharp) + 2.0
    assert estimate.acceptance is before  # the caller's field is not judged in place
    # taken as exact instead (the user-kernel path), the same kernel gives another result
    exact = engine.restore(blurry, RestoreOptions(kernel=estimate.global_kernel, **opts))
    assert not np.allclose(exact.image, reused.image, atol=1e-3)
    with pytest.raises(EngineError, match="not both"):
        engine.restore(blurry, RestoreOptions(estimate=estimate, kernel=k))
    with pytest.raises(EngineError, match="made on a"):
        engine.restore(blurry[:160], RestoreOptions(estimate=estimate))


def test_the_stage_reports_the_parts_it_held_back() -> None:
    """A blind kernel that explains all but a strip of the photo (a subject that moved on
    its own): the stage's ``info["acceptance"]["held_back"]`` counts the cells whose share
    the acceptance test lowered, out of the grid (``AcceptConfig.cell_size``)."""
    from glow_core.kernel.field import attach_acceptance
    from tests.test_kernel_field import two_halves

    _, _, b1, b2, k1, _ = two_halves(256, 768, size=15)
    blurry = b1.copy()
    blurry[:, 608:] = b2[:, 608:]
    estimate = attach_acceptance(KernelField.single(k1, blurry.shape[:2], confidence=0.8),
                                 blurry)
    stage = kernel_stage.run_kernel_stage(
        blurry, kernel=None, kernel_size=None, region=None, spatially_varying=False,
        report=lambda _f, _m: None, cancel=None, scene_priors=False, estimate=estimate)
    held, parts = stage.info["acceptance"]["held_back"]
    assert parts == 12 and 1 <= held <= 4, stage.info["acceptance"]
    assert stage.deconvolved is not None


def test_a_subsampled_jpegs_colour_is_solved_at_half_resolution(engine: Engine, blurred,
                                                                  monkeypatch) -> None:
    """What the file kept of the colour reaches the deconvolution: an image that says it
    was a 4:2:0 JPEG (``ImageData.chroma_subsampled``) is solved with
    ``chroma_stored_half``; the options can say so for bare pixels (the app's region
    restore) or overrule the image; a bare array is full colour."""
    from glow_core.imageio import ImageData

    _sharp, k, blurry = blurred
    seen: list[bool] = []
    real = kernel_stage.deconvolve_photo

    def spy(pixels, kf, *, config=None, **kw):
        seen.append(bool(config.chroma_stored_half))
        return real(pixels, kf, config=config, **kw)

    monkeypatch.setattr(kernel_stage, "deconvolve_photo", spy)
    jpeg = ImageData(pixels=blurry, chroma_subsampled=True, format="JPEG")
    given = RestoreOptions(kernel=k, after_deconv="deconvolved")
    engine.restore(jpeg, given)
    engine.restore(jpeg, RestoreOptions(kernel=k, after_deconv="deconvolved",
                                        chroma_subsampled=False))
    engine.restore(blurry, RestoreOptions(kernel=k, after_deconv="deconvolved",
                                          chroma_subsampled=True))
    engine.restore(blurry, given)
    assert seen == [True, False, True, False]
