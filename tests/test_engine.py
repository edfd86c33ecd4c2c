"""The engine on a tiny checkpoint: tiling agreement, seams, determinism, cancel, errors."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from glow_core.devices import cpu_has_native_bf16, pick_precision
from glow_core.engine import (
    Cancelled,
    CancelToken,
    Engine,
    EngineError,
    MissingCheckpointError,
    ProgressInfo,
    available_devices,
)
from glow_core.engine import RestoreOptions as _RestoreOptions
from glow_core.tiling import blend_weights, plan_tiles
from tests.conftest import make_tiny_checkpoint, synthetic_photo

# These tests are about the network path (tiles, seams, precision); the kernel stage in
# front of it has its own tests in tests/test_kernel_stage.py.
RestoreOptions = partial(_RestoreOptions, kernel_stage=False)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = make_tiny_checkpoint(tmp_path_factory.mktemp("eng") / "tiny.safetensors")
    return Engine(path, device="cpu")


def test_devices_and_precision(engine: Engine) -> None:
    assert available_devices()[-1] == "cpu"
    native = cpu_has_native_bf16()
    assert engine.device.type == "cpu" and engine.precision == ("bf16" if native else "fp32")
    with pytest.raises(EngineError, match="not available"):
        Engine(engine.info.path, device="cuda:7")


def test_automatic_precision_on_the_cpu_follows_native_bfloat16(monkeypatch) -> None:
    """"auto" on the CPU is bf16 where the CPU computes it natively (faster there, the same
    photo within 71 dB) and float32 where it would be emulated; a choice is kept."""
    import glow_core.devices as devices

    cpu = torch.device("cpu")
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda n=native: n)
        assert pick_precision("auto", cpu) == expected
        assert pick_precision("fp32", cpu) == "fp32" and pick_precision("bf16", cpu) == "bf16"
    with pytest.raises(EngineError, match="fp16 is not supported"):
        pick_precision("fp16", cpu)


def test_fast_restore_keeps_size_and_range(engine: Engine) -> None:
    img = synthetic_photo(50, 70)  # not a multiple of anything: padding must be undone
    res = engine.restore(img, RestoreOptions(mode="fast"))
    assert res.image.shape == img.shape and res.image.dtype == np.float32
    assert res.image.min() >= 0.0 and res.image.max() <= 1.0
    assert res.motion is not None and res.motion.shape == (7, 9, 3)
    assert not np.allclose(res.image, img)


def test_tiled_fast_path_equals_untiled(engine: Engine) -> None:
    img = synthetic_photo(160, 192, seed=3)
    whole = engine.restore(img, RestoreOptions(mode="fast", tile=1024)).image
    tiled = engine.restore(img, RestoreOptions(mode="fast", tile=64, overlap=16))
    assert tiled.tiles > 4
    assert np.abs(tiled.image - whole).max() < 2e-3
    assert np.abs(tiled.image - whole).mean() < 1e-4


def _border_mask(tiles, shape) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for t in tiles:
        for y in (t.y0, t.y1):
            mask[max(0, y - 2):y + 2, :] = True
        for x in (t.x0, t.x1):
            mask[:, max(0, x - 2):x + 2] = True
    mask[:2, :] = mask[-2:, :] = mask[:, :2] = mask[:, -2:] = False
    return mask


def test_full_path_tiles_show_no_seam(engine: Engine) -> None:
    img = synthetic_photo(128, 160, seed=4)
    opts = dict(mode="full", steps=2, seed=7, tile=64, overlap=16)
    whole = engine.restore(img, RestoreOptions(**{**opts, "tile": 1024})).image
    tiled = engine.restore(img, RestoreOptions(**opts)).image
    err = np.abs(tiled - whole).mean(axis=2)
    tiles = plan_tiles(128, 160, 64, 16, engine.context, engine.multiple)
    border = _border_mask(tiles, err.shape)
    # the error along tile borders is no larger than in the interior: no seam
    assert err[border].mean() <= 1.5 * err[~border].mean() + 1e-4
    # and the tiled result is the same picture
    assert err.mean() < 0.02


def test_full_path_is_deterministic_and_seed_dependent(engine: Engine) -> None:
    img = synthetic_photo(64, 64, seed=5)
    a = engine.restore(img, RestoreOptions(mode="full", steps=2, seed=1)).image
    b = engine.restore(img, RestoreOptions(mode="full", steps=2, seed=1)).image
    c = engine.restore(img, RestoreOptions(mode="full", steps=2, seed=2)).image
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_caption_changes_full_path(engine: Engine) -> None:
    img = synthetic_photo(64, 64, seed=6)
    opts = dict(mode="full", steps=2, seed=3)
    empty = engine.restore(img, RestoreOptions(**opts)).image
    worded = engine.restore(img, RestoreOptions(**opts, caption="a red truck")).image
    assert not np.array_equal(empty, worded)


def test_strength_blends_with_original(engine: Engine) -> None:
    img = synthetic_photo(64, 64)
    full = engine.restore(img, RestoreOptions(strength=1.0)).image
    none = engine.restore(img, RestoreOptions(strength=0.0)).image
    half = engine.restore(img, RestoreOptions(strength=0.5)).image
    assert np.allclose(none, img, atol=1e-6)
    assert np.allclose(half, np.clip((img + full) / 2, 0, 1), atol=1e-5)


def test_progress_and_cancel(engine: Engine) -> None:
    img = synthetic_photo(128, 128)
    seen: list[ProgressInfo] = []
    engine.restore(img, RestoreOptions(mode="full", steps=3, tile=64, overlap=16),
                   progress=seen.append)
    assert seen[-1].fraction == pytest.approx(1.0)
    assert any(p.stage == "sampling" for p in seen)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)

    token = CancelToken()

    def cancel_after_first(p: ProgressInfo) -> None:
        token.cancel()

    with pytest.raises(Cancelled):
        engine.restore(img, RestoreOptions(mode="full", steps=3, tile=64), cancel_after_first,
                       token)


def test_greyscale_uint8_and_bad_input(engine: Engine) -> None:
    grey = (synthetic_photo(40, 40)[..., 0] * 255).astype(np.uint8)
    assert engine.restore(grey).image.shape == (40, 40, 3)
    with pytest.raises(EngineError):
        engine.restore(np.zeros((4, 4, 5), np.float32))
    with pytest.raises(EngineError):
        engine.restore(np.full((8, 8, 3), np.nan, np.float32))
    with pytest.raises(EngineError):
        engine.restore(grey, RestoreOptions(mode="sharp"))  # type: ignore[arg-type]


def test_full_path_refused_without_trained_dit(tmp_path: Path) -> None:
    path = make_tiny_checkpoint(tmp_path / "fast_only.safetensors", trained=False)
    engine = Engine(path, device="cpu")
    with pytest.raises(EngineError, match="fast mode"):
        engine.restore(synthetic_photo(32, 32), RestoreOptions(mode="full"))


def test_missing_checkpoint_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(MissingCheckpointError, match="not found"):
        Engine(tmp_path / "nope.safetensors")


def test_out_of_memory_retries_with_smaller_tiles(engine: Engine, monkeypatch) -> None:
    calls: list[int] = []
    original = engine._restore_tiled

    def flaky(run, pixels, tile):
        calls.append(tile)
        if tile > 64:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return original(run, pixels, tile)

    monkeypatch.setattr(engine, "_restore_tiled", flaky)
    res = engine.restore(synthetic_photo(128, 128), RestoreOptions(tile=256))
    assert calls == [256, 128, 64] and res.tile == 64


def test_blend_weights_partition_unity() -> None:
    tiles = plan_tiles(96, 128, 48, 16, 16, 8)
    total = np.zeros((96, 128))
    for t in tiles:
        total[t.y0:t.y1, t.x0:t.x1] += blend_weights(t, tiles)
    assert np.allclose(total, 1.0, atol=1e-5)


def test_memory_estimate_grows_with_tile(engine: Engine) -> None:
    small = engine.estimate_memory(2000, 3000, RestoreOptions(tile=128))
    big = engine.estimate_memory(2000, 3000, RestoreOptions(tile=512))
    assert 0 < small < big


def test_fp32_fallback_is_per_restore(engine: Engine, monkeypatch) -> None:
    """A non-finite half-precision tile falls back to fp32 for that photo only."""
    import torch

    monkeypatch.setattr(engine, "precision", "bf16")
    original = engine._forward
    poisoned = {"left": 1}
    precisions: list[str] = []

    def forward(run, window, t, precision):
        precisions.append(precision)
        rgb, mot = original(run, window, t, precision)
        if precision != "fp32" and poisoned["left"]:
            poisoned["left"] -= 1
            rgb = torch.full_like(rgb, float("nan"))
        return rgb, mot

    monkeypatch.setattr(engine, "_forward", forward)
    img = synthetic_photo(128, 128, seed=5)
    first = engine.restore(img, RestoreOptions(tile=64, overlap=16))
    assert first.precision == "fp32" and first.info["fallbacks"] == 1
    assert np.isfinite(first.image).all()
    assert precisions[:2] == ["bf16", "fp32"] and set(precisions[2:]) == {"fp32"}
    precisions.clear()
    second = engine.restore(img, RestoreOptions(tile=64, overlap=16))
    assert precisions and set(precisions) == {"bf16"}  # starts in the configured precision
    assert second.precision == "bf16" and second.info["fallbacks"] == 0


def test_restore_info_is_filled(engine: Engine) -> None:
    res = engine.restore(synthetic_photo(96, 128), RestoreOptions(tile=64, overlap=16))
    info = res.info
    assert info["tiles"] == res.tiles > 1 and info["tile_size"] == res.tile == 64
    assert info["device"] == "cpu" and info["precision"] == info["configured_precision"]
    assert info["fallbacks"] == 0 and info["oom_retries"] == 0 and info["mode"] == "fast"
    timings = info["timings"]
    assert {"prepare", "network", "blend", "total"} <= set(timings)
    assert "sampling" not in timings
    assert all(v >= 0 for v in timings.values())
    assert timings["total"] == pytest.approx(res.seconds)
    assert timings["network"] <= timings["total"]
