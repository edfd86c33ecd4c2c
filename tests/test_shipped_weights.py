"""The shipped weights load through the default checkpoint and restore the bundled sample."""

from __future__ import annotations

import numpy as np
import pytest

from glow_core.config import GlowConfig, preset
from glow_core.engine import Engine, RestoreOptions, resolve_checkpoint
from glow_core.imageio import read_image
from glow_core.resources import sample_image_path


def test_shipped_weights_restore_the_bundled_sample() -> None:
    path, entry = resolve_checkpoint(None)
    assert path.name == "glow-small-v3.safetensors" and entry is not None  # the default
    engine = Engine(device="cpu", precision="fp32")  # default checkpoint, manifest SHA-256
    assert engine.info.sha256 == entry["sha256"] and engine.full_available
    pixels = read_image(sample_image_path()).pixels
    h, w = pixels.shape[:2]
    crop = np.ascontiguousarray(pixels[h // 2 - 48:h // 2 + 48, w // 2 - 64:w // 2 + 64])
    result = engine.restore(crop, RestoreOptions(mode="fast"))
    assert result.image.shape == crop.shape and result.image.dtype == np.float32
    assert np.isfinite(result.image).all()
    assert not np.allclose(result.image, crop, atol=1e-3)
    assert result.motion is not None and np.isfinite(result.motion).all()


def test_shipped_weights_leave_a_sharp_photo_alone() -> None:
    """A sharp photo through the default network (no blur to find: the stage off) comes
    back nearly as it was. glow-small-v2, trained on blurry inputs only, softened it
    (these crops 35.5-37.4 dB against themselves); v3 saw sharp photos as their own targets
    (40.9-42.6 dB)."""
    engine = Engine(device="cpu", precision="fp32")
    path = sample_image_path().with_name("sample_shake_sharp.png")
    pixels = read_image(path).pixels[..., :3].astype(np.float32)
    h, w = pixels.shape[:2]
    scores = []
    for y, x in ((h // 2 - 64, w // 2 - 80), (h // 4, w // 4), (h // 2, w // 8)):
        crop = np.ascontiguousarray(pixels[y:y + 128, x:x + 160])
        out = engine.restore(crop, RestoreOptions(kernel_stage=False)).image
        scores.append(10 * np.log10(1.0 / float(np.mean((out - crop) ** 2))))
    assert np.mean(scores) > 39.5, scores


def test_config_rejects_unknown_keys() -> None:
    data = preset("tiny").to_dict()
    assert GlowConfig.from_dict(data) == preset("tiny")
    data["dit"]["widht"] = 8
    with pytest.raises(ValueError, match="unknown GLOW config key.*dit: widht"):
        GlowConfig.from_dict(data)
    with pytest.raises(ValueError, match="top level: colour"):
        GlowConfig.from_dict({**preset("tiny").to_dict(), "colour": 1})
