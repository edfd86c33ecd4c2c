"""Shared fixtures: tiny checkpoints and small generated photos (nothing downloaded)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def make_tiny_checkpoint(path: Path, seed: int = 0, trained: bool = True) -> Path:
    """A tiny-preset checkpoint with random (but non-trivial) weights."""
    from glow_core.checkpoint import save_checkpoint
    from glow_core.config import PRESETS
    from glow_core.models import PARTS, GlowDeblur

    torch.manual_seed(seed)
    model = GlowDeblur(PRESETS["tiny"])
    with torch.no_grad():
        # Zero-initialised output layers would make the paths trivially equal; perturb them.
        model.prerecon.ending[0].weight.normal_(0, 0.05)
        model.fusion.out.weight.normal_(0, 0.05)
        model.dit.final.weight.normal_(0, 0.05)
        for p in model.parameters():
            if p.dim() >= 2 and p.abs().sum() == 0:
                p.normal_(0, 0.02)
        for block in model.prerecon.modules():
            if hasattr(block, "beta"):
                block.beta.fill_(0.3)
                block.gamma.fill_(0.3)
    save_checkpoint(path, model, stages=list(PARTS) if trained else ["prerecon"])
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


def synthetic_photo(height: int = 64, width: int = 80, seed: int = 0) -> np.ndarray:
    """A smooth-plus-edges test photo, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin(xx / 5 + yy / 7)], axis=2)
    for _ in range(6):
        y, x = rng.integers(0, height), rng.integers(0, width)
        r = rng.integers(3, 12)
        img[(yy - y) ** 2 + (xx - x) ** 2 < r * r] = rng.random(3)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture
def photo() -> np.ndarray:
    return synthetic_photo()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module: on a shared machine OpenMP spinning makes two slower
    (the kernel stage's FFT loops measured 20x slower with 2 threads under load)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
