"""Sharp sources: photo folders, dead leaves, mixing, standard splits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from training.sources import (
    DEFAULT_DATA_ROOT,
    Augment,
    DeadLeavesSource,
    MixedSource,
    PhotoFolderSource,
    dead_leaves,
    list_images,
    training_folders,
    training_source,
    validation_files,
    validation_folders,
)


def _write(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


@pytest.fixture()
def photo_root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    _write(tmp_path / "a" / "one.png", (rng.random((60, 80, 3)) * 255).astype(np.uint8))
    _write(tmp_path / "a" / "deep" / "two.jpg", (rng.random((90, 70, 3)) * 255).astype(np.uint8))
    _write(tmp_path / "b" / "grey.png", np.full((64, 64), 128, np.uint8))
    _write(tmp_path / "b" / "tiny.png", np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    return tmp_path


def test_list_images_recursive_and_exclude(photo_root: Path) -> None:
    files = list_images([photo_root])
    assert files == sorted(files)
    names = [f.name for f in files]
    assert set(names) == {"one.png", "two.jpg", "grey.png", "tiny.png"}
    kept = list_images([photo_root], exclude=[photo_root / "b"])
    assert {f.name for f in kept} == {"one.png", "two.jpg"}


def test_photo_source_crops_are_valid_and_deterministic(photo_root: Path) -> None:
    src = PhotoFolderSource([photo_root / "a", photo_root / "b"])
    assert len(src) == 4
    for seed in range(10):
        x = src.sample(np.random.default_rng(seed), 48)
        assert x.shape == (48, 48, 3) and x.dtype == np.float32
        assert x.min() >= 0 and x.max() <= 1
        y = src.sample(np.random.default_rng(seed), 48)
        assert np.array_equal(x, y)
    rect = src.sample(np.random.default_rng(0), (32, 40))
    assert rect.shape == (32, 40, 3)


def test_photo_source_greyscale_to_rgb(photo_root: Path) -> None:
    src = PhotoFolderSource(
        photo_root / "b" / "grey.png", augment=Augment(brightness=0, contrast=0)
    )
    x = src.sample(np.random.default_rng(0), 32)
    assert x.shape == (32, 32, 3)
    assert np.allclose(x, 128 / 255, atol=1e-5)


def test_photo_source_skips_small_images(photo_root: Path) -> None:
    src = PhotoFolderSource([photo_root / "b"])  # grey 64 px and tiny 10 px
    for seed in range(8):
        x = src.sample(np.random.default_rng(seed), 50)
        assert x.shape == (50, 50, 3)
        assert abs(float(x.mean()) - 128 / 255) < 0.15  # the grey one, never the black tiny
    only_tiny = PhotoFolderSource(photo_root / "b" / "tiny.png")
    assert only_tiny.sample(np.random.default_rng(0), 24).shape == (24, 24, 3)  # upscaled


def test_photo_source_rescale_uses_area(tmp_path: Path) -> None:
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # 1 px stripes: area averaging keeps the mean, no aliasing
    _write(tmp_path / "s.png", stripes)
    src = PhotoFolderSource(
        tmp_path,
        augment=Augment(scale=(0.5, 0.5), flips=False, brightness=0, contrast=0, saturation=0),
    )
    x = src.sample(np.random.default_rng(0), 32)
    assert np.allclose(x, 0.5, atol=0.02)


def test_photo_source_cache_cap(photo_root: Path) -> None:
    src = PhotoFolderSource([photo_root / "a"], cache_bytes=20_000)
    rng = np.random.default_rng(0)
    for _ in range(6):
        src.sample(rng, 40)
    assert src._cached_bytes <= 20_000
    src.load(0)
    assert src._cached_bytes <= 20_000


def test_photo_source_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PhotoFolderSource(tmp_path / "nothing")


def test_dead_leaves_statistics() -> None:
    rng = np.random.default_rng(0)
    img = dead_leaves(rng, (96, 80))
    assert img.shape == (96, 80, 3) and img.dtype == np.float32
    assert img.min() >= 0 and img.max() <= 1
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50  # many leaves and textures
    gx = np.abs(np.diff(img, axis=1)).max(-1)
    assert (gx > 0.3).mean() > 0.01  # plenty of sharp edges
    assert np.array_equal(img, dead_leaves(np.random.default_rng(0), (96, 80)))
    assert not np.array_equal(img, dead_leaves(np.random.default_rng(1), (96, 80)))


def test_dead_leaves_source_and_mixing() -> None:
    dl = DeadLeavesSource()

    class Flat:
        def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
            return np.full((size, size, 3), 0.25, np.float32)

    mix = MixedSource([(dl, 1.0), (Flat(), 3.0)])
    rng = np.random.default_rng(0)
    flat = sum(np.allclose(mix.sample(rng, 16), 0.25) for _ in range(200))
    assert 120 < flat < 180  # 3 / 4 of draws
    with pytest.raises(ValueError):
        MixedSource([(dl, 0.0)])


def test_split_functions_on_a_fake_root(tmp_path: Path) -> None:
    for name in ("kodak24", "bsds500/train", "faces"):
        _write(tmp_path / "sharp" / name / "x.png", np.zeros((40, 40, 3), np.uint8))
    assert validation_folders(tmp_path) == [tmp_path / "sharp" / "kodak24"]
    assert [p.name for p in training_folders(tmp_path)] == ["bsds500", "faces"]
    assert [p.parent.name for p in validation_files(tmp_path)] == ["kodak24"]
    src = training_source(tmp_path)
    assert all("kodak24" not in str(f) for f in src.files) and len(src.files) == 2


@pytest.mark.skipif(not (DEFAULT_DATA_ROOT / "sharp").is_dir(), reason="shared data absent")
def test_real_split_never_trains_on_validation() -> None:
    train = training_source()
    val = {f.resolve() for f in validation_files()}
    assert len(val) == 24
    assert len(train) > 500
    assert not val & {f.resolve() for f in train.files}
    x = train.sample(np.random.default_rng(0), 64)
    assert x.shape == (64, 64, 3)
