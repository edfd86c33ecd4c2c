"""Paired real datasets: layout detection, pairing, aligned crops, mixing, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from training.paired import (
    GOPRO_FRAMEAVG_HELDOUT,
    MixedDataset,
    Pair,
    PairedDataError,
    PairedFolderDataset,
    center_crop_pair,
    detect_layout,
    find_pairs,
    gopro_frameavg_split,
    read_rgb,
)


def _img(seed: int, h: int = 24, w: int = 32) -> np.ndarray:
    """A distinct uint8 RGB image per seed (random, so any misalignment shows)."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _write(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img[..., ::-1])
    return path


def _pair(blur: Path, sharp: Path, seed: int, **kw: int) -> None:
    """Sharp image = seed; blurry = seed + 1000, so tests can tell which is which."""
    _write(sharp, _img(seed, **kw))
    _write(blur, _img(seed + 1000, **kw))


def _seed_of(tensor: torch.Tensor, candidates: range) -> int:
    """Which _img seed a full-size 3 x H x W tensor came from."""
    arr = (tensor.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    for s in candidates:
        if np.array_equal(arr, _img(s, *arr.shape[:2])):
            return s
    raise AssertionError("image matches no seed")


@pytest.fixture
def gopro(tmp_path: Path) -> Path:
    root = tmp_path / "GOPRO_Large"
    n = 0
    for split, seqs in (("train", ("GOPR0372_07_00", "GOPR0374_11_00")), ("test", ("GOPR0384",))):
        for seq in seqs:
            for k in range(2):
                name = f"{k:06d}.png"
                _pair(root / split / seq / "blur" / name, root / split / seq / "sharp" / name, n)
                _write(root / split / seq / "blur_gamma" / name, _img(n + 5000))
                n += 1
    return root


@pytest.fixture
def hide(tmp_path: Path) -> Path:
    root = tmp_path / "HIDE_dataset"
    _pair(root / "train" / "1fromGOPR0950.png", root / "GT" / "1fromGOPR0950.png", 1)
    _pair(root / "train" / "2fromGOPR0950.png", root / "GT" / "2fromGOPR0950.png", 2)
    _pair(root / "test" / "test-close-ups" / "10fromGOPR1046.png",
          root / "GT" / "10fromGOPR1046.png", 3)
    _pair(root / "test" / "test-long-shot" / "20fromGOPR1101.png",
          root / "GT" / "20fromGOPR1101.png", 4)
    return root


def _realblur_tree(root: Path) -> None:
    sub = "RealBlur-J_ECC_IMCORR_centroid_itensity_ref"
    n = 0
    for scene in ("scene001", "scene002"):
        for k in (1, 2, 10):
            _pair(root / sub / scene / "blur" / f"blur_{k}.png",
                  root / sub / scene / "gt" / f"gt_{k}.png", n)
            n += 1


@pytest.fixture
def realblur(tmp_path: Path) -> Path:
    root = tmp_path / "RealBlur"
    _realblur_tree(root)
    sub = "RealBlur-J_ECC_IMCORR_centroid_itensity_ref"
    train = [f"{sub}/scene001/gt/gt_{k}.png {sub}/scene001/blur/blur_{k}.png \n" for k in (1, 2)]
    test = [f"{sub}/scene002/gt/gt_10.png {sub}/scene002/blur/blur_10.png \n"]
    (root / "RealBlur_J_train_list.txt").write_text("".join(train))
    (root / "RealBlur_J_test_list.txt").write_text("".join(test))
    return root


@pytest.fixture
def rsblur(tmp_path: Path) -> Path:
    root = tmp_path / "datasets"
    lines: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for n, (scene, seq, split) in enumerate((("0001", "000022", "test"),
                                             ("0002", "000622", "train"),
                                             ("0002", "000623", "train"),
                                             ("0003", "000100", "val"))):
        rel = f"RSBlur/{scene}/{seq}"
        _pair(root / rel / "real_blur" / "real_blur.png", root / rel / "gt" / "gt_sharp.png", n)
        lines[split].append(f"{rel}/gt/gt_sharp.png {rel}/real_blur/real_blur.png")
    for split, ls in lines.items():
        (root / f"RSBlur_real_{split}.txt").write_text("\n".join(ls) + "\n")
    return root


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    root = tmp_path / "frameavg"
    for i, name in enumerate(["a_01", "b_02", "c_03"]):
        _pair(root / "blur" / f"{name}.png", root / "sharp" / f"{name}.png", 10 + i)
    return root


# ----------------------------------------------------------------------------- layouts


def test_detects_every_layout(gopro: Path, hide: Path, realblur: Path, rsblur: Path,
                              plain: Path, tmp_path: Path) -> None:
    assert detect_layout(gopro) == "gopro"
    assert detect_layout(hide) == "hide"
    assert detect_layout(realblur) == "realblur"
    assert detect_layout(rsblur) == "rsblur"
    assert detect_layout(plain) == "plain"
    (tmp_path / "empty").mkdir()
    with pytest.raises(PairedDataError, match="no paired layout"):
        detect_layout(tmp_path / "empty")
    with pytest.raises(PairedDataError, match="not found"):
        detect_layout(tmp_path / "missing")


def test_gopro_pairs_by_split_and_blur_kind(gopro: Path) -> None:
    train = find_pairs(gopro, split="train")
    test = find_pairs(gopro, split="test")
    assert len(train) == 4 and len(test) == 2
    assert all(p.blurry.parent.name == "blur" and p.sharp.parent.name == "sharp" for p in train)
    assert all(p.blurry.name == p.sharp.name for p in train)
    assert train[0].name == "train/GOPR0372_07_00/blur/000000"
    assert len({p.name for p in train}) == 4  # stems repeat across sequences, names do not
    gamma = find_pairs(gopro, split="train", gopro_blur="blur_gamma")
    assert all(p.blurry.parent.name == "blur_gamma" for p in gamma)
    ds = PairedFolderDataset(gopro, split="train")
    item = ds[1]
    assert _seed_of(item["sharp"], range(10)) == 1
    assert _seed_of(item["blurry"], range(1000, 1010)) == 1001


def test_hide_pairs_with_gt_by_name(hide: Path) -> None:
    train = find_pairs(hide, split="train")
    test = find_pairs(hide, split="test")
    assert [p.blurry.name for p in train] == ["1fromGOPR0950.png", "2fromGOPR0950.png"]
    assert {p.blurry.parent.name for p in test} == {"test-close-ups", "test-long-shot"}
    assert all(p.sharp.parent.name == "GT" and p.sharp.name == p.blurry.name
               for p in train + test)
    (hide / "GT" / "2fromGOPR0950.png").unlink()
    with pytest.raises(PairedDataError, match="2fromGOPR0950"):
        find_pairs(hide, split="train")


def test_realblur_lists_and_scan(realblur: Path, tmp_path: Path) -> None:
    train = find_pairs(realblur, split="train")
    test = find_pairs(realblur, split="test")
    assert [p.blurry.name for p in train] == ["blur_1.png", "blur_2.png"]
    assert [(p.blurry.name, p.sharp.name) for p in test] == [("blur_10.png", "gt_10.png")]
    ds = PairedFolderDataset(realblur, split="test")
    assert _seed_of(ds[0]["sharp"], range(10)) == 5  # scene002/gt_10 is the sixth written
    # Without list files: scan scene folders, numeric order (2 before 10).
    scan = tmp_path / "scan"
    _realblur_tree(scan)
    pairs = find_pairs(scan, layout="auto")
    assert len(pairs) == 6
    assert [p.sharp.name for p in pairs[:3]] == ["gt_1.png", "gt_2.png", "gt_10.png"]
    assert all(p.blurry.name == p.sharp.name.replace("gt_", "blur_") for p in pairs)
    # A list naming a missing file is an error that says which.
    (realblur / "RealBlur_J_test_list.txt").write_text("nope/gt.png nope/blur.png\n")
    with pytest.raises(PairedDataError, match="missing file"):
        find_pairs(realblur, split="test")


def test_rsblur_lists_and_folder_scan(rsblur: Path) -> None:
    assert len(find_pairs(rsblur, split="train")) == 2
    assert len(find_pairs(rsblur, split="val")) == 1
    (test,) = find_pairs(rsblur, split="test")
    assert test.blurry.parts[-2:] == ("real_blur", "real_blur.png")
    assert test.sharp.parts[-2:] == ("gt", "gt_sharp.png")
    assert test.name == "RSBlur/0001/000022/real_blur/real_blur"
    for f in rsblur.glob("RSBlur_real_*.txt"):
        f.unlink()
    assert detect_layout(rsblur) == "rsblur"
    scanned = find_pairs(rsblur, split="train")  # no lists: every sequence
    assert len(scanned) == 4


def test_plain_layout_and_missing_partner(plain: Path) -> None:
    pairs = find_pairs(plain)
    assert [p.name for p in pairs] == ["a_01", "b_02", "c_03"]
    _write(plain / "blur" / "d_04.png", _img(99))
    with pytest.raises(PairedDataError, match="d_04"):
        find_pairs(plain)


def test_layout_forced_and_unknown(plain: Path) -> None:
    assert len(find_pairs(plain, layout="plain")) == 3
    with pytest.raises(PairedDataError, match="unknown layout"):
        find_pairs(plain, layout="nope")  # type: ignore[arg-type]
    with pytest.raises(PairedDataError, match="split"):
        find_pairs(plain, layout="gopro", split="train")


# ----------------------------------------------------------------------------- items


def test_items_are_float_tensors_in_unit_range(plain: Path) -> None:
    ds = PairedFolderDataset(plain)
    item = ds[0]
    assert set(item) >= {"blurry", "sharp", "path", "name"}
    for key in ("blurry", "sharp"):
        assert item[key].dtype == torch.float32 and item[key].shape == (3, 24, 32)
        assert float(item[key].min()) >= 0.0 and float(item[key].max()) <= 1.0
    assert item["path"].endswith("a_01.png") and "blur" in item["path"]
    # RGB order preserved through the BGR decoder.
    ref = _img(10).astype(np.float32) / 255.0
    np.testing.assert_allclose(item["sharp"].permute(1, 2, 0).numpy(), ref, atol=1e-6)


def test_sixteen_bit_read_keeps_precision(tmp_path: Path) -> None:
    img = np.random.default_rng(0).integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), img[..., ::-1])
    np.testing.assert_allclose(read_rgb(path), img.astype(np.float32) / 65535.0, atol=1e-7)


def test_crop_aligned_deterministic_and_flipped(tmp_path: Path) -> None:
    """With the same image as blur and sharp, every crop must come out identical."""
    root = tmp_path / "same"
    for i in range(3):
        img = _img(i, 40, 56)
        _write(root / "blur" / f"{i}.png", img)
        _write(root / "sharp" / f"{i}.png", img)
    ds = PairedFolderDataset(root, crop=16, seed=7)
    crops = []
    for i in range(len(ds)):
        item = ds[i]
        assert item["blurry"].shape == (3, 16, 16)
        assert torch.equal(item["blurry"], item["sharp"])
        again = PairedFolderDataset(root, crop=16, seed=7)[i]
        assert torch.equal(again["blurry"], item["blurry"])  # deterministic per (seed, index)
        crops.append(item["blurry"])
    other = [PairedFolderDataset(root, crop=16, seed=8)[i]["blurry"] for i in range(3)]
    assert any(not torch.equal(a, b) for a, b in zip(crops, other))
    # Each crop is a (possibly flipped/transposed) window of its source image.
    src = torch.from_numpy(_img(0, 40, 56).astype(np.float32) / 255.0).permute(2, 0, 1)
    windows = set()
    for seed in range(12):
        c = PairedFolderDataset(root, crop=16, seed=seed)[0]["blurry"]
        hit = [k for y in range(25) for x in range(41)
               for k, v in _views(src[:, y:y + 16, x:x + 16]).items() if torch.equal(v, c)]
        assert hit, "crop is not a window of the source"
        windows.add(hit[0])
    assert len(windows) > 1, "no flips were ever applied"


def _views(window: torch.Tensor) -> dict[str, torch.Tensor]:
    """The window under every flip/transpose the dataset may apply."""
    views = {"id": window, "h": window.flip(2), "v": window.flip(1),
             "hv": window.flip(1).flip(2)}
    views.update({k + "t": v.transpose(1, 2) for k, v in list(views.items())})
    return views


def test_crop_of_blur_matches_crop_of_sharp_in_distinct_pair(plain: Path) -> None:
    """Blur and sharp differ, but the window and flips must be the same in both."""
    full = PairedFolderDataset(plain)
    for seed in range(3):
        ds = PairedFolderDataset(plain, crop=8, seed=seed)
        for i in range(len(ds)):
            c, f = ds[i], full[i]
            found = [(y, x, k) for y in range(24 - 7) for x in range(32 - 7)
                     for k, v in _views(f["blurry"][:, y:y + 8, x:x + 8]).items()
                     if torch.equal(v, c["blurry"])]
            assert len(found) == 1
            y, x, k = found[0]
            assert torch.equal(_views(f["sharp"][:, y:y + 8, x:x + 8])[k], c["sharp"])


def test_small_images_are_padded_to_the_crop(plain: Path) -> None:
    item = PairedFolderDataset(plain, crop=40, seed=0)[0]
    assert item["blurry"].shape == (3, 40, 40) and item["sharp"].shape == (3, 40, 40)


def test_mismatched_sizes_name_the_pair(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    _write(root / "blur" / "x.png", _img(0, 24, 32))
    _write(root / "sharp" / "x.png", _img(1, 24, 30))
    ds = PairedFolderDataset(root)
    with pytest.raises(PairedDataError, match=r"x\.png.*32x24.*x\.png.*30x24"):
        ds[0]


def test_center_crop_pair() -> None:
    a = np.arange(10 * 12 * 3, dtype=np.float32).reshape(10, 12, 3)
    b, s = center_crop_pair(a, a + 1, 4)
    np.testing.assert_array_equal(b, a[3:7, 4:8])
    np.testing.assert_array_equal(s, a[3:7, 4:8] + 1)
    b, _ = center_crop_pair(a, a, 64)
    assert b.shape == a.shape


# ----------------------------------------------------------------------------- gopro_frameavg


def test_gopro_frameavg_split(tmp_path: Path) -> None:
    root = tmp_path / "data"
    names = [*GOPRO_FRAMEAVG_HELDOUT, "GOPR0001_x_1", "GOPR0002_x_2"]
    for i, name in enumerate(names):
        d = root / "pairs" / "gopro_frameavg"
        _pair(d / "blur" / f"{name}.png", d / "sharp" / f"{name}.png", i, h=8, w=8)
    train = gopro_frameavg_split(root, "train")
    held = gopro_frameavg_split(root, "heldout")
    assert sorted(p.name for p in held) == sorted(GOPRO_FRAMEAVG_HELDOUT)
    assert [p.name for p in train] == ["GOPR0001_x_1", "GOPR0002_x_2"]
    assert not {p.name for p in train} & {p.name for p in held}
    with pytest.raises(ValueError):
        gopro_frameavg_split(root, "test")  # type: ignore[arg-type]
    ds = PairedFolderDataset.from_pairs(held)
    assert len(ds) == 4


def test_heldout_names_exist_in_shared_data() -> None:
    from training.sources import DEFAULT_DATA_ROOT

    if not (DEFAULT_DATA_ROOT / "pairs" / "gopro_frameavg").is_dir():
        pytest.skip("shared data not present")
    held = gopro_frameavg_split(DEFAULT_DATA_ROOT, "heldout")
    assert len(held) == 4
    assert len({p.name.split("_st_")[0] for p in held}) == 4  # four different recordings
    assert len(gopro_frameavg_split(DEFAULT_DATA_ROOT, "train")) >= 10


# ----------------------------------------------------------------------------- mixing


class _Const(torch.utils.data.Dataset):
    def __init__(self, tag: int, n: int) -> None:
        self.tag, self.n = tag, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[int, int]:
        assert 0 <= i < self.n
        return self.tag, i


def test_mixed_dataset_weights_and_determinism() -> None:
    mix = MixedDataset([(_Const(0, 5), 3.0), (_Const(1, 1000), 1.0), (_Const(2, 3), 0.0)],
                       length=4000, seed=1)
    items = [mix[i] for i in range(len(mix))]
    tags = np.array([t for t, _ in items])
    assert abs((tags == 0).mean() - 0.75) < 0.03
    assert abs((tags == 1).mean() - 0.25) < 0.03
    assert (tags == 2).sum() == 0
    assert {i for t, i in items if t == 0} == set(range(5))  # every item of a small set used
    assert items == [mix[i] for i in range(len(mix))]
    again = MixedDataset([(_Const(0, 5), 3.0), (_Const(1, 1000), 1.0), (_Const(2, 3), 0.0)],
                         length=4000, seed=1)
    assert items[:50] == [again[i] for i in range(50)]
    other = MixedDataset([(_Const(0, 5), 3.0), (_Const(1, 1000), 1.0)], length=4000, seed=2)
    assert items[:50] != [other[i] for i in range(50)]
    with pytest.raises(IndexError):
        mix[4000]


def test_mixed_dataset_rejects_bad_weights() -> None:
    with pytest.raises(ValueError):
        MixedDataset([], length=3)
    with pytest.raises(ValueError):
        MixedDataset([(_Const(0, 2), -1.0), (_Const(1, 2), 2.0)], length=3)
    with pytest.raises(ValueError):
        MixedDataset([(_Const(0, 2), 0.0)], length=3)
    with pytest.raises(ValueError):
        MixedDataset([(_Const(0, 0), 1.0)], length=3)


def test_mixed_dataset_collates_with_paired(plain: Path) -> None:
    a = PairedFolderDataset(plain, crop=16, seed=0)
    b = PairedFolderDataset(plain, crop=16, seed=1)
    mix = MixedDataset([(a, 1.0), (b, 1.0)], length=6, seed=0)
    batch = next(iter(torch.utils.data.DataLoader(mix, batch_size=6)))
    assert batch["blurry"].shape == (6, 3, 16, 16)


def test_pair_default_name() -> None:
    assert Pair(Path("/x/blur/a.png"), Path("/x/sharp/a.png")).name == "a"
