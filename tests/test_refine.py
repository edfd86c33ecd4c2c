"""Physics-first learned stages: deconv_input model, kernel motion maps, refine data + stage."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from glow_core.checkpoint import load_checkpoint, save_checkpoint
from glow_core.config import PRESETS, GlowConfig
from glow_core.models import GlowDeblur, GlowModel
from glow_core.models.motion import (
    MOTION_SCALE,
    decode_motion,
    kernel_motion_map,
    kernel_motion_vector,
)
from training.config import load_config
from training.deconv_data import (
    HELDOUT_KERNELS,
    DeconvRefineDataset,
    RefineDataConfig,
    allowed_kernel_files,
    corrupt_kernel,
)
from training.stages import widen_for_deconv

TINY = PRESETS["tiny"]
TINY_DECONV = dataclasses.replace(
    TINY, prerecon=dataclasses.replace(TINY.prerecon, deconv_input=True))


def _line_kernel(length: int, angle: float, size: int = 31) -> np.ndarray:
    """A thin line through the centre at ``angle`` (radians, x right, y down)."""
    k = np.zeros((size, size), np.float64)
    c = (size - 1) / 2
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, 8 * length):
        x, y = c + t * np.cos(angle), c + t * np.sin(angle)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                k[y0 + dy, x0 + dx] += wx * wy
    return (k / k.sum()).astype(np.float32)


def _disk(radius: float, size: int = 31) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    k = (xx * xx + yy * yy <= radius * radius).astype(np.float32)
    return k / k.sum()


# ----------------------------------------------------------------------------- model


def test_deconv_input_defaults_off_and_old_configs_load() -> None:
    assert TINY.prerecon.deconv_input is False
    data = TINY.to_dict()
    del data["prerecon"]["deconv_input"]  # a checkpoint written before the field existed
    assert GlowConfig.from_dict(data) == TINY
    assert GlowConfig.from_json(TINY_DECONV.to_json()) == TINY_DECONV


def test_deconv_model_runs_needs_deconvolved_and_predicts_residual_over_it() -> None:
    torch.manual_seed(0)
    model = GlowModel(TINY_DECONV).eval()
    assert GlowModel is GlowDeblur and model.deconv_input
    assert model.prerecon.intro.in_channels == 6 * TINY.prerecon.stem ** 2
    x, d = torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48)
    out = model.fast(x, deconvolved=d)
    assert out.rgb.shape == (2, 3, 32, 48)
    assert out.aligned.shape == (2, TINY.prerecon.align_channels, 4, 6)
    assert out.motion.shape == (2, 3, 4, 6)
    # the output layer starts at zero: the identity on the deconvolved image
    assert torch.equal(out.rgb, d)
    with pytest.raises(ValueError, match="deconvolved"):
        model.fast(x)
    with pytest.raises(ValueError, match="shape"):
        model.fast(x, deconvolved=d[:, :, :16])
    # blurry-only models ignore a deconvolved image (the engine may always pass one)
    plain = GlowDeblur(TINY).eval()
    assert torch.equal(plain.fast(x, deconvolved=d).rgb, plain.fast(x).rgb)


def test_deconv_model_gradients_reach_both_inputs() -> None:
    torch.manual_seed(0)
    model = GlowDeblur(TINY_DECONV)
    torch.nn.init.normal_(model.prerecon.ending[0].weight, std=0.1)
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    d = torch.rand(1, 3, 32, 32, requires_grad=True)
    model.fast(x, deconvolved=d).rgb.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert d.grad is not None and d.grad.abs().sum() > 0


def test_deconv_model_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = GlowDeblur(TINY_DECONV).eval()
    torch.nn.init.normal_(model.prerecon.ending[0].weight, std=0.05)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, stages=["prerecon"])
    loaded, info = load_checkpoint(path)
    assert info.config.prerecon.deconv_input and loaded.deconv_input
    x, d = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(model.fast(x, deconvolved=d).rgb,
                              loaded.float().fast(x, deconvolved=d).rgb, atol=1e-6)


def test_external_motion_map_replaces_the_estimate_and_reaches_the_dit() -> None:
    torch.manual_seed(0)
    model = GlowDeblur(TINY).eval()
    x = torch.rand(2, 3, 32, 32)
    m = kernel_motion_map(_line_kernel(15, 0.3), (4, 4))
    out = model.fast(x, motion=m)
    assert out.motion.shape == (2, 3, 4, 4) and torch.equal(out.motion[1], m[0])
    with pytest.raises(ValueError, match="latent grid"):
        model.fast(x, motion=torch.zeros(1, 3, 2, 2))
    text = torch.zeros(2, TINY.max_caption_tokens, TINY.dit.text_dim)
    mask = torch.ones(2, TINY.max_caption_tokens, dtype=torch.bool)
    with torch.no_grad():  # a "trained" DiT: its zero-initialised output layers filled
        for p in model.dit.parameters():
            p.add_(0.05 * torch.randn_like(p))
    z = torch.randn(model.latent_shape(32, 32, 2))
    t = torch.full((2,), 0.5)
    with torch.inference_mode():  # the map is the DiT's motion guidance (fusion starts at 0)
        zero = model.fast(x, motion=torch.zeros_like(m))
        a = model.dit(z, t, model.condition(out), text, mask)
        b = model.dit(z, t, model.condition(zero), text, mask)
        full = model(x, text, mask, noise=z, steps=1, motion=m)
    assert full.shape == (2, 3, 32, 32) and not torch.equal(a, b)


# ----------------------------------------------------------------------------- motion map


@pytest.mark.parametrize("angle", [0.0, 0.4, np.pi / 2, 2.5])
def test_motion_map_of_a_line_kernel_gives_its_axis_and_extent(angle: float) -> None:
    k = _line_kernel(17, angle)
    m = kernel_motion_map(k, (3, 5))
    assert m.shape == (1, 3, 3, 5) and torch.allclose(m, m[:, :, :1, :1].expand_as(m))
    dec = decode_motion(m)
    assert abs(float(dec["extent"][0, 0, 0]) - 17.0) < 1.0
    diff = abs(float(dec["angle"][0, 0, 0]) - angle % np.pi)
    assert min(diff, np.pi - diff) < 0.05
    assert float(dec["defocus"][0, 0, 0]) < 1.0  # a thin line: almost no isotropic part


def test_motion_map_of_a_disk_is_isotropic_with_its_radius() -> None:
    vec = kernel_motion_vector(_disk(6.0)) * MOTION_SCALE
    assert np.hypot(vec[0], vec[1]) < 0.5  # no axis
    assert abs(vec[2] - 6.0) < 0.5  # 2 sqrt(var) = radius for a disk


def test_motion_map_matches_the_simulator_ground_truth() -> None:
    from training.blur.motion import motion_from_kernel

    rng = np.random.default_rng(0)
    k = rng.random((9, 13)).astype(np.float32) ** 4
    assert np.allclose(kernel_motion_vector(k) * MOTION_SCALE, motion_from_kernel(k), atol=1e-4)


def test_motion_map_of_a_kernel_field_follows_the_regions() -> None:
    left, right = _line_kernel(15, 0.0), _line_kernel(15, np.pi / 2)
    kernels = np.stack([left, right])[None]  # 1 x 2 x k x k
    boxes = np.array([[[0, 0, 64, 80], [0, 48, 64, 128]]])  # overlapping halves
    m = kernel_motion_map(kernels, (2, 4), (64, 128), boxes=boxes)
    assert m.shape == (1, 3, 2, 4)
    assert float(m[0, 0, 0, 0]) > 0.5 and float(m[0, 0, 0, -1]) < -0.5  # cos 2θ: 0 vs 90°
    assert float(m[0, 0, 0, 1]) > float(m[0, 0, 0, 2])  # smooth hand-over

    class Field:  # duck-typed like glow_core.kernel.KernelField
        def __init__(self) -> None:
            self.kernels, self.boxes, self.image_size = kernels, boxes, (64, 128)
            self.uniform, self.global_kernel = False, left

    assert torch.equal(kernel_motion_map(Field(), (2, 4)), m)
    # a padded canvas: 3 x 5 cells of 32 px, the extra cells take the nearest region
    padded = kernel_motion_map(Field(), (3, 5), factor=32)
    assert torch.allclose(padded[..., :2, :4], m, atol=1e-6)
    assert torch.allclose(padded[..., 2, 4], padded[..., 1, 4])
    f = Field()
    f.uniform = True
    assert torch.equal(kernel_motion_map(f, (2, 4)), kernel_motion_map(left, (2, 4)))


# ----------------------------------------------------------------------------- data


def test_corrupted_kernels_are_valid_and_differ() -> None:
    rng = np.random.default_rng(0)
    k = _line_kernel(11, 0.7, size=15)
    seen = set()
    for _ in range(40):
        c, ops = corrupt_kernel(k, rng)
        seen.update(ops)
        assert c.ndim == 2 and c.shape[0] == c.shape[1] and c.shape[0] % 2 == 1
        assert (c >= 0).all() and abs(float(c.sum()) - 1.0) < 1e-4
    assert seen == {"shift", "scale", "rotate", "truncate", "noise", "blob", "size"}


def test_linear_pipeline_blurs_like_the_benchmark() -> None:
    from training.deconv_data import blur_linear

    rng = np.random.default_rng(0)
    sharp = rng.random((40, 40, 3)).astype(np.float32)
    out = blur_linear(sharp, _line_kernel(9, 0.0, size=11), 0.0, rng)
    assert out.shape == sharp.shape and out.dtype == np.float32
    assert np.allclose(out * 255, np.round(out * 255), atol=1e-3)  # 8-bit
    # blurred along x only: rows smoothed, the column-wise variation kept
    assert np.abs(np.diff(out, axis=1)).mean() < 0.5 * np.abs(np.diff(out, axis=0)).mean()


def test_heldout_kernels_are_never_in_the_training_bank(tmp_path: Path) -> None:
    for name in ("usrnet12/usrnet12_k01", *HELDOUT_KERNELS):
        p = tmp_path / "kernels" / f"{name}.npy"
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, _disk(2.0, 7))
    files = allowed_kernel_files(tmp_path)
    assert [f.stem for f in files] == ["usrnet12_k01"]


def _tiny_refine(tmp_path: Path, pipeline: str = "camera") -> RefineDataConfig:
    return RefineDataConfig(crop=32, cache_size=4, cache_dir=str(tmp_path / "cache"),
                            data_root=str(tmp_path / "nodata"), photo_weight=0.0,
                            blur_scale=0.3, p_estimate=0.0, pipeline=pipeline)


@pytest.mark.parametrize("pipeline", ["camera", "linear"])
def test_refine_dataset_shapes_and_cache(tmp_path: Path, pipeline: str) -> None:
    ds = DeconvRefineDataset(_tiny_refine(tmp_path, pipeline))
    item = ds[1]
    for key in ("blurry", "deconvolved", "sharp"):
        assert item[key].shape == (3, 32, 32) and item[key].dtype == torch.float32
        assert torch.isfinite(item[key]).all()
    assert ds.path(1).is_file()  # cached
    again = DeconvRefineDataset(_tiny_refine(tmp_path, pipeline))[1]
    assert all(torch.equal(item[k], again[k]) for k in ("blurry", "deconvolved", "sharp"))
    ds[5]  # index 5 cycles back to cached sample 1: nothing new is made
    assert len(list(ds.folder.glob("*.npz"))) == 1


def test_sharp_samples_are_the_photo_itself_with_noise(tmp_path: Path) -> None:
    """p_sharp: no blur, not deconvolved, the target the photo; p_sharp 0 keeps old caches."""
    from training.deconv_data import make_sample

    base = _tiny_refine(tmp_path, "linear")
    cfg = dataclasses.replace(base, p_sharp=1.0, noise=(0.01, 0.01))
    assert dataclasses.replace(base, p_sharp=0.0).key() == base.key() != cfg.key()
    for i in range(3):
        item = make_sample(cfg, i)
        assert (item["family"], item["how"]) == ("sharp", "backoff")
        assert np.array_equal(item["blurry"], item["deconvolved"])
        noise = item["blurry"] - item["sharp"]
        assert 0.005 < float(noise.std()) < 0.015 and abs(float(noise.mean())) < 0.005
    mixed = dataclasses.replace(base, p_sharp=0.5)
    families = {make_sample(mixed, i)["family"] for i in range(12)}
    assert "sharp" in families and len(families) > 1


def test_sharp_samples_deconvolved_by_a_false_kernel_keep_the_photo_as_target(
        tmp_path: Path) -> None:
    """p_sharp_deconvolved: a sharp photo deconvolved anyway (the stage's false positive)
    still has the photo as its target; the false kernels are as small as those estimates."""
    from glow_core.kernel.estimate import kernel_spread
    from training.deconv_data import false_small_kernel, make_sample

    base = dataclasses.replace(_tiny_refine(tmp_path, "linear"), p_sharp=1.0,
                               noise=(0.01, 0.01))
    cfg = dataclasses.replace(base, p_sharp_deconvolved=1.0)
    assert dataclasses.replace(base, p_sharp_deconvolved=0.0).key() == base.key() != cfg.key()
    for i in range(2):
        item = make_sample(cfg, i)
        assert (item["family"], item["how"]) == ("sharp", "false")
        assert 0.005 < float((item["blurry"] - item["sharp"]).std()) < 0.015
        # sharpened past the photo: further from it than the noisy input is
        err_in = float(np.abs(item["blurry"] - item["sharp"]).mean())
        assert float(np.abs(item["deconvolved"] - item["sharp"]).mean()) > err_in
    rng = np.random.default_rng(3)
    spreads = [kernel_spread(false_small_kernel(rng)) for _ in range(200)]
    assert min(spreads) > 1.0 and np.percentile(spreads, 50) > 2.0 and max(spreads) < 4.5


def test_widened_checkpoint_starts_as_v1_or_as_the_deconvolution() -> None:
    torch.manual_seed(0)
    old = GlowDeblur(TINY).eval()
    torch.nn.init.normal_(old.prerecon.ending[0].weight, std=0.05)
    x, d = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    keep = widen_for_deconv(old, keep_output=True).eval()
    zero = widen_for_deconv(old, keep_output=False).eval()
    with torch.inference_mode():
        # the trained stem sits on the deconvolved slot: keep(d=x) is the old net on x
        assert torch.allclose(keep.fast(x, deconvolved=x).rgb, old.fast(x).rgb, atol=1e-6)
        assert torch.equal(zero.fast(x, deconvolved=d).rgb, d)


def test_refine_training_smoke_two_steps(tmp_path: Path) -> None:
    from training.trainer import train

    refine = dataclasses.asdict(_tiny_refine(tmp_path))
    sets = ["stage=refine", "preset=tiny", f"out_dir={tmp_path / 'run'}", "steps=2",
            "batch=2", "workers=0", "log_every=1", "ckpt_every=2", "sample_every=2",
            "val_images=0", "device=cpu", f"refine={json.dumps(refine)}"]
    path = train(load_config(None, sets))
    assert path is not None and path.is_file()
    model, info = load_checkpoint(path)
    assert model.config.prerecon.deconv_input and "prerecon" in info.stages
    assert (tmp_path / "run" / "state" / "meta.json").is_file()
    assert len((tmp_path / "run" / "log.csv").read_text().splitlines()) == 3


def test_ship_can_keep_the_current_default(tmp_path: Path) -> None:
    from glow_core.checkpoint import read_manifest
    from training.ship import ship

    for name, default in (("v1", True), ("v2", False)):
        src = tmp_path / f"{name}.safetensors"
        save_checkpoint(src, GlowDeblur(TINY_DECONV if name == "v2" else TINY),
                        stages=["prerecon"])
        ship(src, f"glow-tiny-{name}", target=tmp_path / "w", make_default=default)
    manifest = read_manifest(tmp_path / "w")
    assert manifest["default"] == "glow-tiny-v1.safetensors"
    assert all("after_deconv" not in e for e in manifest["weights"])
    assert {e["file"] for e in manifest["weights"]} == {"glow-tiny-v1.safetensors",
                                                       "glow-tiny-v2.safetensors"}


def test_ship_records_the_measured_choice_after_deconvolution(tmp_path: Path) -> None:
    from glow_core.checkpoint import manifest_entry
    from glow_core.engine import Engine
    from training.ship import ship

    src = tmp_path / "v3.safetensors"
    save_checkpoint(src, GlowDeblur(TINY_DECONV), stages=["prerecon"])
    dest = ship(src, "glow-tiny-v3", target=tmp_path / "w", after_deconv="network")
    assert manifest_entry(tmp_path / "w", dest.name)["after_deconv"] == "network"
    engine = Engine(dest, device="cpu")
    assert engine.manifest_entry["after_deconv"] == "network"
    # the engine follows it: given the user's kernel, the output is the network's, unblended
    from glow_core.engine import RestoreOptions

    photo = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    kernel = np.full((5, 5), 1 / 25, np.float32)
    result = engine.restore(photo, RestoreOptions(kernel=kernel))
    assert result.info["network"] == "with deconvolved"
    blended = engine.restore(photo, RestoreOptions(kernel=kernel, after_deconv="blend"))
    assert blended.info["network"].endswith("blended 0.5 with deconvolved")
    with pytest.raises(ValueError, match="after_deconv"):
        ship(src, "glow-tiny-v4", target=tmp_path / "w", after_deconv="average")
