"""Acceptance test of blind deconvolution (glow_core.kernel.accept): a confidently wrong
estimate is refused or attenuated, a correct one is kept. Stand-in estimators keep the
tests fast; the measured thresholds live in AcceptConfig."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from glow_core.kernel import (
    AcceptConfig,
    DeconvConfig,
    FieldConfig,
    KernelField,
    accept,
    deconvolve,
    deconvolve_field,
    estimate_kernel_field,
)
from glow_core.kernel.accept import blend, deconvolution_checks
from glow_core.kernel.field import attach_acceptance
from glow_core.kernel.noise import block_excess, estimate_codec_noise
from tests.test_kernel_deconvolve import blur_linear, dead_leaves, psnr
from tests.test_kernel_field import SMALL, _oracle, line_kernel, two_halves

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _fixed(kernel: np.ndarray, conf: float = 0.9):
    """A stand-in estimator that returns ``kernel`` for every region."""
    def est(image, config, *, kernel_size=None, region=None, **_):
        return SimpleNamespace(kernel=kernel, confidence=conf)
    return est


def _scene(size: int = 192, ksize: int = 13):
    sharp = dead_leaves(size, seed=5, n=900)
    k_true = line_kernel(ksize, 0.3)
    k_wrong = line_kernel(ksize, 0.3 + np.pi / 2)  # the perpendicular shake
    return sharp, blur_linear(sharp, k_true, seed=3), k_true, k_wrong


def test_correct_estimate_is_accepted() -> None:
    sharp, blurry, k_true, _ = _scene()
    dec = deconvolve(blurry, k_true, noise_sigma=0.01)
    est = SimpleNamespace(kernel=k_true, confidence=0.8)
    acc = accept(blurry, dec, est, 0.01, CONSISTENT, estimator=_fixed(k_true))
    assert acc.strength >= 0.9, acc.reasons
    assert accept(blurry, dec, est, 0.01).strength >= 0.9  # default config
    out = blend(blurry, dec, acc.strength)
    assert psnr(out, sharp, 16) > psnr(blurry, sharp, 16) + 2


CONSISTENT = AcceptConfig(use_consistency=True)


@pytest.mark.parametrize("where", ["estimate", "field"])
def test_a_right_kernel_no_other_start_confirms_is_refused(where: str) -> None:
    """The estimator's starts are the acceptance's first evidence: the same right kernel,
    deconvolved the same way, is kept when another start confirmed it and refused when
    none did (``info["agreement"]`` under the step at 0.5), with the reason said; an
    estimate whose starts were not compared (one start) is judged without it."""
    sharp, blurry, k_true, _ = _scene()
    dec = deconvolve(blurry, k_true, noise_sigma=0.01)

    def judged(info: dict):
        if where == "estimate":
            return accept(blurry, dec, SimpleNamespace(kernel=k_true, confidence=0.8,
                                                       info=info), 0.01)
        f = KernelField.single(k_true, blurry.shape[:2], confidence=0.8)
        f.info = dict(info)
        attach_acceptance(f, blurry)
        return accept(blurry, dec, f, 0.01)

    confirmed, alone, unasked = judged({"agreement": 0.93}), judged({"agreement": 0.41}), \
        judged({})
    assert confirmed.strength >= 0.9 and "agreement" not in " ".join(confirmed.reasons)
    assert confirmed.features["parts"]["agreement"] == 1.0
    assert alone.strength == 0.0 and alone.backs_off
    assert any(r.startswith("agreement 0.41") for r in alone.reasons), alone.reasons
    assert unasked.strength == confirmed.strength and "agreement" not in unasked.features
    off = accept(blurry, dec, SimpleNamespace(kernel=k_true, confidence=0.8,
                                              info={"agreement": 0.41}), 0.01,
                 AcceptConfig(agreement_check=False))
    assert off.strength == confirmed.strength


def test_ringing_on_a_clean_photo_is_judged_at_the_one_percent_floor() -> None:
    """A low-ISO photo (8-bit quantisation only): its correct deconvolution overshoots
    "many sigmas" of a noise that is not there. Ringing is judged at the 1 % floor the
    thresholds were measured at, so the correct kernel's ringing passes while the
    perpendicular kernel's still fails. (The residual keeps the photo's own noise: on
    these hard-edged leaves it refuses both; on clean Kodak photos the correct kernels
    pass it, see AcceptConfig.)"""
    import cv2

    sharp = cv2.GaussianBlur(dead_leaves(192, seed=5, n=900), (0, 0), 0.8)
    k_true, k_wrong = line_kernel(13, 0.3), line_kernel(13, 0.3 + np.pi / 2)
    blurry = blur_linear(sharp, k_true, noise=0.0)
    sigma = 0.0005  # what the noise estimate reads on such a photo

    def ringing(kernel: np.ndarray, config: AcceptConfig) -> float:
        est = SimpleNamespace(kernel=kernel, confidence=0.8)
        return accept(blurry, deconvolve(blurry, kernel), est, sigma,
                      config).features["parts"]["overshoot"]

    legacy = AcceptConfig(overshoot_sigma_floor=0.002, ok_overshoot=2.0, max_overshoot=4.0)
    assert ringing(k_true, AcceptConfig()) == 1.0
    assert ringing(k_true, legacy) < 0.2  # the old floor (and ramp) refused the right kernel
    assert ringing(k_wrong, AcceptConfig()) == 0.0
    assert psnr(deconvolve(blurry, k_true), sharp, 16) > psnr(blurry, sharp, 16) + 10


def test_confidently_wrong_estimate_is_attenuated_by_default() -> None:
    """The perpendicular shake claimed with confidence 0.9: the default checks (ringing,
    residual) cut its share, and the blend is no worse than the input."""
    sharp, blurry, _, k_wrong = _scene()
    dec = deconvolve(blurry, k_wrong, noise_sigma=0.01)
    assert psnr(dec, sharp, 16) < psnr(blurry, sharp, 16) - 1  # it would make it worse
    acc = accept(blurry, dec, SimpleNamespace(kernel=k_wrong, confidence=0.9), 0.01)
    assert acc.strength < 0.5, acc.features
    assert any("residual" in r for r in acc.reasons)
    assert psnr(blend(blurry, dec, acc.strength), sharp, 16) > psnr(blurry, sharp, 16) - 0.5


def test_confidently_wrong_estimate_is_refused_by_consistency() -> None:
    """Claimed with confidence 0.9, but the halves of the photo show another kernel."""
    sharp, blurry, k_true, k_wrong = _scene()
    dec = deconvolve(blurry, k_wrong, noise_sigma=0.01)
    est = SimpleNamespace(kernel=k_wrong, confidence=0.9)
    acc = accept(blurry, dec, est, 0.01, CONSISTENT, estimator=_fixed(k_true))
    assert acc.backs_off and acc.strength == 0.0
    assert any("consistency" in r for r in acc.reasons)
    assert blend(blurry, dec, acc.strength) is blurry


def test_post_checks_flag_a_wrong_kernel_without_consistency() -> None:
    """Residual / ringing alone: the wrong kernel scores clearly worse than the true one."""
    _, blurry, k_true, k_wrong = _scene()
    good = deconvolution_checks(blurry, deconvolve(blurry, k_true, noise_sigma=0.01),
                                k_true, 0.01)
    bad = deconvolution_checks(blurry, deconvolve(blurry, k_wrong, noise_sigma=0.01),
                               k_wrong, 0.01)
    assert bad["residual"] > 1.5 * good["residual"]
    assert bad["overshoot"] > 1.5 * good["overshoot"]
    cfg = AcceptConfig(use_consistency=False)
    est = SimpleNamespace(kernel=k_wrong, confidence=0.9)
    acc = accept(blurry, deconvolve(blurry, k_wrong, noise_sigma=0.01), est, 0.01, cfg)
    ok = accept(blurry, deconvolve(blurry, k_true, noise_sigma=0.01),
                SimpleNamespace(kernel=k_true, confidence=0.9), 0.01, cfg)
    assert acc.strength < ok.strength


def test_field_backs_off_on_two_opposite_halves() -> None:
    """One kernel claimed for a photo whose halves have perpendicular blurs: refused
    inside estimate_kernel_field (backs_off) and deconvolve_field returns the input."""
    _, blurry, _, _, k1, k2 = two_halves()
    one_cell = FieldConfig(region_min=512)  # a single-kernel field

    def est(image, config, *, kernel_size=None, region=None, **_):
        if region is None:
            return SimpleNamespace(kernel=k1, confidence=0.9)  # confidently one kernel
        return _oracle(k1, k2, 384)(image, config, kernel_size=kernel_size, region=region)

    f = estimate_kernel_field(blurry, one_cell, estimator=est, accept_config=CONSISTENT)
    assert f.grid == (1, 1) and f.backs_off and f.strength == 0.0
    assert deconvolve_field(blurry, f, noise_sigma=0.01) is blurry


def test_field_following_a_varying_blur_is_accepted() -> None:
    sharp, blurry, _, _, k1, k2 = two_halves()
    f = estimate_kernel_field(blurry, SMALL, estimator=_oracle(k1, k2, 384),
                              accept_config=CONSISTENT)
    assert not f.backs_off and f.acceptance is not None
    assert f.acceptance.features["consistency"] > 0.8
    out = deconvolve_field(blurry, f, noise_sigma=0.01)
    assert psnr(out, sharp, 8) > psnr(blurry, sharp, 8) + 4


def test_field_attenuates_a_wrong_kernel_after_deconvolution() -> None:
    """Default config inside the field API: the post checks run in deconvolve_field."""
    sharp, blurry, _, k_wrong = _scene()
    f = estimate_kernel_field(blurry, FieldConfig(region_min=512), estimator=_fixed(k_wrong))
    assert f.acceptance is not None and not f.backs_off  # nothing to see before deconv
    out = deconvolve_field(blurry, f, noise_sigma=0.01)
    assert f.strength < 0.5
    assert psnr(out, sharp, 16) > psnr(blurry, sharp, 16) - 0.5


@pytest.mark.parametrize("regions", ["one", "uniform"])
def test_a_field_of_the_global_kernel_is_judged_on_its_estimates_agreement(regions: str
                                                                          ) -> None:
    """A field of one region, or of regions that all agree with the global kernel
    (``uniform``: deconvolved with it alone), is the global estimate: an unconfirmed one is
    refused as the one-kernel path refuses it, a confirmed one is judged as before."""
    _, blurry, k_true, _ = _scene(160, 9)
    config = FieldConfig(region_min=512) if regions == "one" else SMALL

    def agreeing(agreement: float):
        def est(image, config, *, kernel_size=None, region=None, **_):
            if region is not None:  # a region's estimate: one start, no agreement
                return SimpleNamespace(kernel=k_true, confidence=0.9)
            return SimpleNamespace(kernel=k_true, confidence=0.9,
                                   info={"agreement": agreement})
        return est

    alone = estimate_kernel_field(blurry, config, estimator=agreeing(0.3))
    assert (alone.grid == (1, 1)) == (regions == "one") and alone.uniform
    assert alone.backs_off
    assert any(r.startswith("agreement 0.30") for r in alone.acceptance.reasons)
    confirmed = estimate_kernel_field(blurry, config, estimator=agreeing(0.9))
    assert not confirmed.backs_off and confirmed.acceptance.features["parts"]["agreement"] == 1
    plain = estimate_kernel_field(blurry, config, estimator=_fixed(k_true))
    assert plain.acceptance.strength == confirmed.acceptance.strength


def test_a_field_of_differing_regions_records_but_is_not_refused_on_the_agreement() -> None:
    """Regions that found other kernels than the global one: the field is theirs, not the
    global estimate's, so its starts' agreement is recorded (``global_agreement``) and the
    field is judged on its regions (measured on a real whole frame, see field.py)."""
    _, blurry, _, _, k1, k2 = two_halves()

    def est(image, config, *, kernel_size=None, region=None, **_):
        if region is None:
            return SimpleNamespace(kernel=k1, confidence=0.9, info={"agreement": 0.3})
        return _oracle(k1, k2, 384)(image, config, kernel_size=kernel_size, region=region)

    f = estimate_kernel_field(blurry, SMALL, estimator=est)
    assert not f.uniform and f.info["global_agreement"] == 0.3
    assert "agreement" not in f.info and not f.backs_off


def test_acceptance_can_be_disabled_and_user_kernels_skip_it() -> None:
    _, blurry, _, k_wrong = _scene(160, 9)
    f = estimate_kernel_field(blurry, FieldConfig(region_min=512),
                              estimator=_fixed(k_wrong), accept_config=AcceptConfig(enabled=False))
    assert f.acceptance is None and not f.backs_off and f.strength == 1.0


def test_blind_deconvolution_of_a_clean_photo_tolerates_a_kernel_misfit() -> None:
    """A real blind estimate is never the exact blur: on a clean photo (0.2 % noise) a
    kernel 8-15 degrees off or 2 px short / long, deconvolved at the photo's own noise,
    lands near or under the input; the blind floor (DeconvConfig.blind_noise_floor)
    keeps most of the gain. The exact kernel gives some sharpness up for it, and a
    user's kernel (no acceptance test: taken as exact) is deconvolved at the read noise."""
    import cv2

    sharp = cv2.GaussianBlur(dead_leaves(192, seed=5, n=900), (0, 0), 0.8)
    k = line_kernel(13, 0.3)
    blurry = blur_linear(sharp, k, noise=0.002, seed=3)
    # only the floor is under test: the acceptance's ramps are opened so it keeps all
    loose = AcceptConfig(ok_residual=50, max_residual=100, ok_edge_residual=50,
                         max_edge_residual=100, ok_overshoot=50, max_overshoot=100)

    def blind(kernel: np.ndarray, floor: float) -> float:
        f = estimate_kernel_field(blurry, FieldConfig(region_min=512),
                                  estimator=_fixed(kernel), accept_config=loose)
        out = deconvolve_field(blurry, f, DeconvConfig(blind_noise_floor=floor))
        assert f.strength == 1.0
        return psnr(out, sharp, 16)

    floor = DeconvConfig().blind_noise_floor
    assert floor >= 0.005
    base = psnr(blurry, sharp, 16)
    for misfit in (line_kernel(13, 0.44), line_kernel(13, 0.56), line_kernel(11, 0.3),
                   line_kernel(15, 0.3)):
        at_read, floored = blind(misfit, 0.0), blind(misfit, floor)
        assert at_read < base + 1.5
        assert floored > at_read + 3 and floored > base + 2
    assert blind(k, floor) > base + 6  # the exact kernel still gains
    user = deconvolve_field(blurry, KernelField.single(k, blurry.shape[:2], confidence=1.0))
    assert np.array_equal(user, deconvolve(blurry, k))


def test_blind_noise_splits_the_floor_into_the_photos_noise_and_a_common_misfit() -> None:
    """A blind kernel's deconvolution assumes at least the blind floor of noise; what the
    floor adds over the photo's own noise is the kernel's misfit, common to the channels
    (its share of the variance goes to the solve). A photo noisier than the floor keeps
    its own noise, all of it independent."""
    from glow_core.kernel.field import blind_noise

    sharp = dead_leaves(128, seed=4, n=500)
    k = line_kernel(9, 0.3)
    cfg = DeconvConfig()
    clean = blur_linear(sharp, k, noise=0.002, seed=1)
    c, sigma, read, codec = blind_noise(clean, cfg)
    assert sigma == cfg.blind_noise_floor and 0.001 < read < 0.004 and codec == 0.0
    tol = cfg.misfit_noise_tolerance
    assert c.common_noise_share == pytest.approx(1.0 - (read / ((1 - tol) * sigma)) ** 2)
    # noise that reads just under the floor (within the estimate's error) is noise at it
    at_floor = blur_linear(sharp, k, noise=0.0098, seed=1)
    c, sigma, read, _ = blind_noise(at_floor, cfg)
    assert (1 - tol) * cfg.blind_noise_floor < read < cfg.blind_noise_floor
    assert sigma == cfg.blind_noise_floor and c.common_noise_share == 0.0
    noisy = blur_linear(sharp, k, noise=0.03, seed=1)
    c, sigma, read, _ = blind_noise(noisy, cfg)
    assert sigma == pytest.approx(read) and sigma > cfg.blind_noise_floor
    assert c.common_noise_share == 0.0
    # a caller's data weight: nothing to split
    c, sigma, _, _ = blind_noise(clean, replace(cfg, weight=100.0))
    assert sigma is None and c.common_noise_share == 0.0


@pytest.mark.xfail(strict=True, reason="known gap: thin 11-px line kernels ring little; "
                   "measured strength 0.90 (residual 2.2 sigma, overshoot 1.2) and -0.9 dB")
def test_varying_field_with_swapped_kernels_is_attenuated() -> None:
    """A 1 x 3 field whose halves got each other's kernel: the post checks of the
    varying field (overshoot on the blend, median region residual) attenuate it and
    the result is not clearly worse than the input."""
    sharp, blurry, _, _, k1, k2 = two_halves()
    swapped = _oracle(k2, k1, 384)
    f = estimate_kernel_field(blurry, SMALL, estimator=swapped)
    assert f.grid == (1, 3) and not f.uniform
    out = deconvolve_field(blurry, f, noise_sigma=0.01)
    assert f.strength < 1.0 and f.acceptance.reasons, f.acceptance.features
    assert psnr(out, sharp, 8) > psnr(blurry, sharp, 8) - 0.5


# --------------------------------------------------------------------------- JPEG photos

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "samples" / "sample_shake_sharp.png"


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` saved through PIL as a JPEG (libjpeg's default 4:2:0) and decoded."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(
        buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def _shaken_jpeg(quality: int = 85):
    """A real photo's 256 px crop, shaken in linear light, 0.3 % noise, saved as JPEG."""
    from PIL import Image

    with Image.open(SAMPLE) as im:
        photo = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    sharp = np.ascontiguousarray(photo[160:416, 200:456])
    k_true = line_kernel(13, 0.3)
    k_wrong = line_kernel(13, 0.3 + np.pi / 2)
    return sharp, _jpeg(blur_linear(sharp, k_true, noise=0.003, seed=3), quality), \
        k_true, k_wrong


def _stage_blend(blurry: np.ndarray, kernel: np.ndarray,
                 config: AcceptConfig | None = None) -> tuple[np.ndarray, KernelField]:
    """As the kernel stage runs a blind kernel: a 1 x 1 field with the acceptance attached,
    deconvolved (noise estimated) and blended by the acceptance's strength."""
    kf = KernelField.single(kernel, blurry.shape[:2], confidence=0.8)
    attach_acceptance(kf, blurry, accept_config=config)
    return deconvolve_field(blurry, kf), kf


def test_correct_kernel_on_a_jpeg_is_kept() -> None:
    """The codec wipes the noise out of flat areas (the noise estimate reads ~0) while the
    residual of the correct deconvolution stays: without the codec floor its residual
    reads many "sigmas" and the +4 dB deconvolution is mostly lost; with it, the residual
    check passes it."""
    sharp, blurry, k_true, _ = _shaken_jpeg()
    assert estimate_codec_noise(blurry) > 0.003
    out, kf = _stage_blend(blurry, k_true)
    assert kf.acceptance.strength >= 0.6, kf.acceptance.reasons
    assert kf.acceptance.features["parts"]["residual"] >= 0.9, kf.acceptance.features
    assert psnr(out, sharp, 16) > psnr(blurry, sharp, 16) + 2
    _, legacy = _stage_blend(blurry, k_true, AcceptConfig(codec_residual_share=0.0))
    # What the JPEG got before: refused with the per-channel deconvolution, cut to about
    # half with the luminance + chroma one (the residual ramp widened for the misfit share
    # of the blind floor, DeconvConfig.common_noise_share, still reads 4.4 sigmas there;
    # 4.2 with the chroma's guided upsampling: strength 0.56).
    assert legacy.acceptance.features["residual"] > 4.0
    assert legacy.acceptance.strength < 0.6
    assert kf.acceptance.strength > legacy.acceptance.strength + 0.3


def test_deconvolution_of_a_jpeg_does_not_sharpen_its_blocks() -> None:
    """The codec wipes the noise where the noise estimate looks, so a JPEG reads nearly
    clean and its blocks would be deconvolved as detail; the data weight assumes at
    least a share of the codec's blind error (``DeconvConfig.codec_noise_share``)."""
    sharp, blurry, k_true, _ = _shaken_jpeg()
    floored = psnr(deconvolve(blurry, k_true), sharp, 16)
    trusting = psnr(deconvolve(blurry, k_true, DeconvConfig(codec_noise_share=0.0)), sharp, 16)
    assert floored > trusting + 1.0, (floored, trusting)
    assert floored > psnr(blurry, sharp, 16) + 4.0


def test_wrong_kernel_on_a_jpeg_is_still_refused() -> None:
    sharp, blurry, _, k_wrong = _shaken_jpeg()
    out, kf = _stage_blend(blurry, k_wrong)
    assert kf.acceptance.strength == 0.0, kf.acceptance.features
    assert out is blurry


def test_codec_noise_is_blind_to_the_grid_phase_and_zero_without_blocks() -> None:
    """Blocking is found at any grid phase (a cropped JPEG), and a photo never block coded
    reads (almost) nothing."""
    sharp = dead_leaves(160, seed=2, n=600)
    png = blur_linear(sharp, line_kernel(9, 0.5), noise=0.003, seed=1)
    jpg = _jpeg(png, 85)
    assert estimate_codec_noise(png) < 0.002
    assert estimate_codec_noise(jpg) > 0.004
    shifted = jpg[3:, 5:]  # the grid moves by (-3, -5)
    py, px = block_excess(jpg)["phase"]
    assert block_excess(shifted)["phase"] == ((py - 3) % 8, (px - 5) % 8)
    assert abs(estimate_codec_noise(shifted) - estimate_codec_noise(jpg)) \
        < 0.2 * estimate_codec_noise(jpg)


def test_clipped_lights_do_not_count_against_a_right_kernel() -> None:
    # A night street with lights 6x brighter than white: the result is clipped where the
    # lights were, so its re-blur lacks their streaks. Counted there, the residual of the
    # right kernel reads like a wrong one's.
    from dataclasses import replace

    from glow_core.semantics import configs_for
    from tests.test_kernel_deconvolve import street_lights

    blurry, k, _, _ = street_lights(6.0, 0.01)
    out = deconvolve(blurry, k, configs_for({"night": 1.0})[1], noise_sigma=0.01)
    est = SimpleNamespace(kernel=k, confidence=0.9)
    kept = accept(blurry, out, est, 0.01)
    assert kept.strength > 0.9, kept.reasons
    assert kept.features["residual"] < AcceptConfig().ok_residual
    everything = accept(blurry, out, est, 0.01, replace(AcceptConfig(), clipped=2.0))
    assert everything.strength == 0.0
    assert everything.features["residual"] > 2 * kept.features["residual"]


def test_codec_error_of_a_grey_photo_reads_the_whole_photo() -> None:
    # A grey (H, W) photo: the acceptance's codec floor and noise read all of it, not its
    # first three columns as if they were channels.
    from PIL import Image

    from glow_core.kernel.accept import _codec_sigma, _noise
    from glow_core.kernel.noise import estimate_noise

    sharp, blurry, _, _ = _scene()
    grey = blurry.mean(-1)
    buf = io.BytesIO()
    Image.fromarray((grey * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=75)
    jpeg = np.asarray(Image.open(buf), np.float32) / 255.0
    share = AcceptConfig().codec_residual_share
    assert _codec_sigma(jpeg, AcceptConfig()) == pytest.approx(
        share * estimate_codec_noise(jpeg))
    assert _codec_sigma(jpeg, AcceptConfig()) > 0
    assert _noise(jpeg, None) == pytest.approx(float(estimate_noise(jpeg)))


def test_one_kernel_leaves_the_part_it_does_not_explain() -> None:
    """One kernel over a photo where a strip at the right moved on its own (blurred across
    the shake): the photo's residual passes, the strip's cells do not, so the strip keeps
    more of the input than without cell shares, while the rest is as before, the share
    easing off between them."""
    from glow_core.kernel.accept import cell_strengths
    from glow_core.kernel.field import widened_residual

    sharp, _, b1, b2, k1, _ = two_halves(256, 768, size=15)
    blurry = b1.copy()  # the shake k1 everywhere but a 160 px strip that moved across it
    blurry[:, 608:] = b2[:, 608:]
    cfg = AcceptConfig(cell_size=128)
    out, kf = _stage_blend(blurry, k1, cfg)
    plain, kf_plain = _stage_blend(blurry, k1, AcceptConfig(cell_size=0))
    acc = kf.acceptance
    assert acc.strength > 0.5 and acc.strength == kf_plain.acceptance.strength, acc.reasons
    cells = np.array(acc.features["cell_strengths"])  # as the blend used them
    assert cells.shape == (2, 6)
    assert np.all(cells[:, :4] == 1.0) and cells[:, -1].mean() < 0.6, cells
    # the residual ramp they were judged on: widened for the blind floor's misfit share
    share = acc.features.get("misfit_share", 0.0)  # this photo's noise is near the floor
    assert 0.0 <= share < 1.0
    assert np.allclose(cell_strengths(acc, widened_residual(cfg, share)), cells, atol=1e-3)
    assert any("parts of the photo attenuated" in r for r in acc.reasons)
    assert cell_strengths(kf_plain.acceptance, cfg) is None
    strip, rest = slice(704, 752), slice(16, 440)
    assert (np.abs(out[16:-16, strip] - blurry[16:-16, strip]).mean()
            < 0.6 * np.abs(plain[16:-16, strip] - blurry[16:-16, strip]).mean())
    assert psnr(out[16:-16, strip], sharp[16:-16, strip]) > \
        psnr(plain[16:-16, strip], sharp[16:-16, strip]) + 0.5
    assert np.allclose(out[:, rest], plain[:, rest], atol=1e-5)
    assert psnr(out[16:-16, rest], sharp[16:-16, rest]) > \
        psnr(blurry[16:-16, rest], sharp[16:-16, rest]) + 3
    # no seam: the share eases off between cell centres, never in one step
    change = np.abs(out - blurry)[16:-16].mean(axis=(0, 2)) / np.maximum(
        np.abs(plain - blurry)[16:-16].mean(axis=(0, 2)), 1e-6)
    eased = np.convolve(change, np.ones(8) / 8, "valid")[440:700]  # 8 columns: less noise
    assert eased[0] > 0.95 and eased[-1] < 0.6
    assert np.abs(np.diff(eased)).max() < 0.02


def test_cell_residuals_read_the_photo_residual_map() -> None:
    """Per-cell residuals come from the same residual map as the photo's: on a uniform
    blur deconvolved with its own kernel every cell reads about the photo's residual, and
    the cells tile the photo (a grid of about ``cell`` px)."""
    sharp, blurry, k_true, _ = _scene(256)
    dec = deconvolve(blurry, k_true, noise_sigma=0.01)
    f = deconvolution_checks(blurry, dec, k_true, 0.01, cell=128)
    cells = np.asarray(f["cell_residuals"])
    assert cells.shape == (2, 2)
    assert np.all(np.abs(cells - f["residual"]) < 0.35 * f["residual"]), (cells, f["residual"])
    assert np.sqrt(np.mean(cells ** 2)) == pytest.approx(f["residual"], rel=0.05)
    assert "cell_residuals" not in deconvolution_checks(blurry, dec, k_true, 0.01)


def test_cells_are_judged_against_the_photo_residual_when_that_is_high() -> None:
    """A photo whose residual already lowered its strength (3 sigmas: x0.5) holds a cell
    back only for fitting worse than the photo does: a cell at the photo's residual keeps
    its share, one at twice it loses it; below the ok level cells are judged as they read."""
    from glow_core.kernel.accept import Acceptance, cell_strengths

    cfg = AcceptConfig()
    high = Acceptance(0.5, 0.5, features={"residual": 3.0, "cell_residuals": [[3.0, 4.5, 6.0]]})
    assert cell_strengths(high, cfg).tolist() == [[1.0, 0.5, 0.0]]
    low = Acceptance(1.0, 1.0, features={"residual": 1.5, "cell_residuals": [[1.5, 3.0, 4.0]]})
    assert cell_strengths(low, cfg).tolist() == [[1.0, 0.5, 0.0]]
    assert cell_strengths(Acceptance(1.0, 1.0, features={"residual": 1.5}), cfg) is None


def test_a_long_kernels_residual_ramp_is_widened_more() -> None:
    """The misfit share widens the residual ramp; a kernel of ``large_kernel_px`` or more
    by ``large_kernel_widening`` (a long trail's misfit leaves more residual where it
    still helps), a short one by ``misfit_residual_widening`` (its residual is what tells
    a near-sharp photo's false estimate); with no misfit nothing is widened."""
    from glow_core.kernel.field import widened_residual

    cfg = AcceptConfig()
    short = widened_residual(cfg, 1.0, cfg.large_kernel_px - 2)
    long = widened_residual(cfg, 1.0, cfg.large_kernel_px)
    assert short.max_residual == pytest.approx(cfg.max_residual * cfg.misfit_residual_widening)
    assert long.max_residual == pytest.approx(cfg.max_residual * cfg.large_kernel_widening)
    assert long.ok_residual > short.ok_residual > cfg.ok_residual
    assert widened_residual(cfg, 0.0, 75) is cfg
    half = widened_residual(cfg, 0.5, 75)  # the share scales the widening
    assert half.max_residual == pytest.approx(cfg.max_residual * (1 + (cfg.large_kernel_widening
                                                                       - 1) * 0.5))
    assert widened_residual(cfg, 1.0) == short  # size unknown: the general widening
