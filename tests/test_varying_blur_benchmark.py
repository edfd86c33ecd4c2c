"""The varying-blur protocol and its benchmark's plumbing, on generated photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks import varying_blur as bench
from tests.test_kernel_deconvolve import dead_leaves, motion_kernel
from training.blur.protocol import blur_photo, blur_photo_varying, varying_kernel_at

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_one_kernel_everywhere_is_the_uniform_blur() -> None:
    """The knots' weights sum to one at every pixel: three copies of one kernel blur as
    that kernel does, to the last bit of the 8-bit output."""
    sharp = dead_leaves(96, seed=2)
    k = motion_kernel(9, seed=4)
    ref = blur_photo(sharp, k, noise=0.01, seed=5)
    three = blur_photo_varying(sharp, [k, k, k], (1, 3), noise=0.01, seed=5)
    assert np.abs(three - ref).max() <= 1.0 / 255 + 1e-6
    assert np.mean(three != ref) < 0.01  # float rounding may flip a level here and there


def line(n: int = 15) -> np.ndarray:
    k = np.zeros((n, n), np.float32)
    k[n // 2] = 1.0 / n
    return k


def test_the_blur_follows_its_knots_across_the_frame() -> None:
    kernels, grid = bench.pattern(line(), "rotate")
    assert grid == (1, 3) and len(kernels) == 3
    assert len({k.shape for k in kernels}) == 1 and kernels[0].shape[0] % 2 == 1
    for k in kernels:
        assert k.sum() == pytest.approx(1.0, abs=1e-5) and k.min() >= 0
    size = (60, 300)
    left = varying_kernel_at(kernels, grid, size, 30, 0)
    centre = varying_kernel_at(kernels, grid, size, 30, 149.5)
    assert np.allclose(left, kernels[0], atol=1e-6)
    assert np.allclose(centre, kernels[1], atol=0.02 * kernels[1].max())
    # turned by 25 degrees each way: the left and right kernels differ from the centre's
    assert not np.allclose(kernels[0], kernels[1], atol=0.1 * kernels[1].max())
    scaled, g2 = bench.pattern(line(), "scale")
    assert g2 == (3, 1)
    spans = [np.count_nonzero(k.sum(axis=0) > 1e-3) for k in scaled]
    assert spans[0] < spans[1] < spans[2]  # 0.6, 1 and 1.4 x the length
    with pytest.raises(ValueError, match="unknown blur pattern"):
        bench.pattern(line(9), "zoom")


def test_a_case_runs_end_to_end_and_the_true_field_restores(tmp_path) -> None:
    """One small case through the engine's stage (one kernel and a field) and both
    ceilings: every output scored, and the truth restores far above the input."""
    rgb = dead_leaves(420, seed=1, n=2500)
    folder = tmp_path / "sharp" / "gen"
    folder.mkdir(parents=True)
    Image.fromarray((rgb[:300, :400] * 255).round().astype(np.uint8)).save(folder / "a.png")
    kdir = tmp_path / "kernels" / "gen"
    kdir.mkdir(parents=True)
    np.save(kdir / "k.npy", motion_kernel(11, seed=3))
    row = bench.run_case(tmp_path, "gen/a", "gen/k", "rotate", size=(256, 384))
    for key in ("input", *bench.OUTPUTS):
        assert np.isfinite(row[key])
    assert row["true_field"] > row["input"] + 3.0
    assert row["field_grid"] is not None and row["one_grid"] == [1, 1]
    s = bench.summarise([row])
    assert s["n"] == 1 and s["field_wins"] + s["field_losses"] <= 1
    table = bench.markdown_table({"rotate": s, "none": {}})
    assert "| rotate | 1 |" in table and "none" not in table


def test_a_photo_smaller_than_the_crop_is_refused(tmp_path) -> None:
    Image.fromarray(np.zeros((100, 120, 3), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match="smaller than"):
        bench.read_photo(tmp_path / "small.png", (200, 200))
