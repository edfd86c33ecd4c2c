"""Spatially varying kernel field, seamless field deconvolution, and defocus search."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from glow_core.kernel.config import AcceptConfig, DeconvConfig, FieldConfig
from glow_core.kernel.deconvolve import deconvolve
from glow_core.kernel.defocus import disk_kernel, estimate_defocus
from glow_core.kernel.field import (
    KernelField,
    deconvolve_field,
    estimate_kernel_field,
    field_grid,
)
from tests.test_kernel_deconvolve import blur_linear, dead_leaves, psnr

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def line_kernel(size: int, angle: float) -> np.ndarray:
    k = np.zeros((size, size))
    c = (size - 1) / 2
    for t in np.linspace(-c + 1, c - 1, 200):
        k[int(round(c + t * np.sin(angle))), int(round(c + t * np.cos(angle)))] += 1
    return (k / k.sum()).astype(np.float32)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Max normalised cross-correlation over integer shifts."""
    n = a.shape[0] + b.shape[0]
    xc = np.fft.irfft2(np.fft.rfft2(a, s=(n, n)) * np.conj(np.fft.rfft2(b, s=(n, n))),
                       s=(n, n))
    return float(xc.max() / (np.linalg.norm(a) * np.linalg.norm(b)))


# Small photos: regions of ~165 px in a 1 x 3 grid keep each test to a few seconds.
SMALL = FieldConfig(region_min=128, max_cells=3)


def two_halves(h: int = 128, w: int = 384, size: int = 11):
    sharp = dead_leaves(w, seed=11, n=1500)[:h]
    k1, k2 = line_kernel(size, 0.2), line_kernel(size, 1.6)
    b1, b2 = blur_linear(sharp, k1, seed=1), blur_linear(sharp, k2, seed=2)
    blurry = b1.copy()
    blurry[:, w // 2:] = b2[:, w // 2:]
    return sharp, blurry, b1, b2, k1, k2


def test_grid_covers_photo_with_overlap() -> None:
    cfg = FieldConfig()
    for h, w, k in ((256, 512, 13), (720, 1280, 31), (3000, 4000, 41), (200, 200, 9)):
        boxes = field_grid(h, w, k, cfg)
        gy, gx = boxes.shape[:2]
        assert gy <= cfg.max_cells and gx <= cfg.max_cells
        assert boxes[0, 0, 0] == 0 and boxes[0, 0, 1] == 0
        assert boxes[-1, -1, 2] == h and boxes[-1, -1, 3] == w
        side = boxes[0, 0, 2] - boxes[0, 0, 0]
        assert side >= min(h, cfg.region_min, w) and side >= min(h, 4 * k)
        if gx > 1:
            assert boxes[0, 1, 1] < boxes[0, 0, 3]  # overlap
    assert field_grid(720, 1280, 31).shape[:2] == (4, 4)


def test_two_kernels_recovered_in_two_halves() -> None:
    """The real estimator, per region, at the field's own region size (256 px): each outer
    region's kernel is its half's, though the whole photo's kernel mixes the two and each
    region must explain itself better than that one does (``FieldConfig.own_margin``)."""
    sharp, blurry, _, _, k1, k2 = two_halves(256, 768)
    f = estimate_kernel_field(blurry)
    assert f.grid == (1, 4) and not f.uniform
    left, right = f.kernels[0, 0], f.kernels[0, -1]
    assert ncc(left, k1) > ncc(left, k2) + 0.2
    assert ncc(right, k2) > ncc(right, k1) + 0.2
    assert f.info["differing"] >= 1
    own, other = f.info["residuals"][0, 0]
    assert own < other  # the left half's kernel explains it better than the mixed one


def test_a_region_that_explains_itself_no_better_takes_the_global_kernel() -> None:
    """Uniform blur, one region's estimate wrong (and confident): its re-blur residual is
    no lower than the global kernel's, so it takes the global kernel and the field is
    uniform; without the test (``own_margin=None``) it keeps the wrong one."""
    sharp = dead_leaves(512, seed=4, n=2500)[:256]
    k, wrong = line_kernel(11, 0.3), line_kernel(11, 1.9)
    blurry = blur_linear(sharp, k, seed=3)

    def est(image, config, *, kernel_size=None, region=None, **_):
        if region is not None and region[1] == 0:
            return SimpleNamespace(kernel=wrong, confidence=0.95)  # the left region alone
        return SimpleNamespace(kernel=k, confidence=0.8)

    bar: list[tuple[float, str]] = []
    f = estimate_kernel_field(blurry, estimator=est, progress=lambda v, m: bar.append((v, m)))
    assert f.grid == (1, 3)
    values = [v for v, _ in bar]
    assert values == sorted(values) and values[-1] == pytest.approx(1.0)
    assert bar[-1][1] == "checking region 3"  # the test's own steps, not a bar stuck at 100 %
    assert ncc(f.kernels[0, 0], k) > 0.99 and f.uniform and f.info["differing"] == 0
    res = f.info["residuals"]
    assert res[0, 0, 0] > res[0, 0, 1]  # the wrong kernel explains its region worse
    kept = estimate_kernel_field(blurry, FieldConfig(own_margin=None), estimator=est)
    assert ncc(kept.kernels[0, 0], wrong) > 0.99 and not kept.uniform


def _oracle(k1: np.ndarray, k2: np.ndarray, width: int):
    """A stand-in estimator returning the true kernel of the half holding the region."""
    def est(image, config, *, kernel_size=None, region=None, **_):
        if region is None:
            return SimpleNamespace(kernel=k1, confidence=0.9)
        y0, x0, y1, x1 = region
        left_share = max(0, min(x1, width // 2) - x0) / (x1 - x0)
        return SimpleNamespace(kernel=k1 if left_share > 0.5 else k2, confidence=0.9)
    return est


def test_field_deconvolution_has_no_seam() -> None:
    sharp, blurry, b1, b2, k1, k2 = two_halves()
    f = estimate_kernel_field(blurry, SMALL, estimator=_oracle(k1, k2, 384))
    assert f.grid == (1, 3)
    out = deconvolve_field(blurry, f, noise_sigma=0.01)
    ref = np.concatenate([deconvolve(b1, k1, noise_sigma=0.01)[:, :192],
                          deconvolve(b2, k2, noise_sigma=0.01)[:, 192:]], axis=1)
    # Away from the true discontinuity (x = 192) the field result matches the true-kernel
    # deconvolution of each half, including across the region overlaps (110-165, 219-274).
    for x0, x1 in ((8, 150), (234, 376)):
        assert psnr(out[8:-8, x0:x1], sharp[8:-8, x0:x1]) > \
            psnr(ref[8:-8, x0:x1], sharp[8:-8, x0:x1]) - 0.5
    # No seam: column-wise error has no step at the region edges.
    col = np.abs(out - ref)[8:-8].mean(axis=(0, 2))
    assert col[8:150].max() < 0.01 and col[234:376].max() < 0.01
    assert psnr(out, sharp, 8) > psnr(blurry, sharp, 8) + 4


def test_same_kernel_field_equals_single_deconvolution() -> None:
    sharp = dead_leaves(200, seed=12)
    k = line_kernel(9, 0.7)
    blurry = blur_linear(sharp, k)
    boxes = field_grid(200, 200, 9, FieldConfig(region_min=96, max_cells=3))
    gy, gx = boxes.shape[:2]
    f = KernelField(kernels=np.broadcast_to(k, (gy, gx) + k.shape).copy(),
                    confidences=np.ones((gy, gx)), boxes=boxes, global_kernel=k,
                    global_confidence=1.0, image_size=(200, 200), uniform=False)
    assert f.grid == (3, 3)
    a = deconvolve_field(blurry, f, noise_sigma=0.01)
    b = deconvolve(blurry, k, noise_sigma=0.01)
    assert np.abs(a - b)[3:-3, 3:-3].max() < 0.03


def test_blur_trace_overlay_and_kernel_images() -> None:
    k1, k2 = line_kernel(9, 0.0), line_kernel(9, 1.5)
    boxes = field_grid(400, 800, 9, FieldConfig(region_min=256))
    gy, gx = boxes.shape[:2]
    kernels = np.stack([np.stack([k1 if j < gx / 2 else k2 for j in range(gx)])
                        for _ in range(gy)])
    f = KernelField(kernels=kernels, confidences=np.ones((gy, gx)), boxes=boxes,
                    global_kernel=k1, global_confidence=0.8, image_size=(400, 800))
    ov = f.overlay()
    assert ov.shape == (256, 512, 4) and ov.dtype == np.uint8
    assert ov[..., 3].max() == 255  # the kernels' peaks are drawn opaque
    items = f.kernel_images()
    assert len(items) == gy * gx and all(img.max() == 1.0 for _, img in items)
    assert np.allclose(f.kernel_at(200, 10), k1)
    single = KernelField.single(k1, (100, 100))
    assert single.uniform and not single.backs_off


def test_low_confidence_region_is_pulled_to_neighbours() -> None:
    """A textureless region (confidence ~0) gets its neighbours' kernel, not its own."""
    k = line_kernel(11, 0.3)
    junk = np.zeros((11, 11), np.float32)
    junk[0, 0] = 1.0

    def est(image, config, *, kernel_size=None, region=None, **_):
        if region is not None and region[1] == 0:
            return SimpleNamespace(kernel=junk, confidence=0.01)
        return SimpleNamespace(kernel=k, confidence=0.9)

    img = dead_leaves(256, seed=1)
    wide = np.concatenate([img, img], axis=1)
    f = estimate_kernel_field(wide, estimator=est)
    assert ncc(f.kernels[0, 0], k) > 0.95
    assert f.uniform


@pytest.mark.parametrize("radius", [2.0, 4.5, 7.0])
def test_defocus_radius_recovered(radius: float) -> None:
    sharp = dead_leaves(160, seed=3)
    blurry = blur_linear(sharp, disk_kernel(radius), seed=1)
    est = estimate_defocus(blurry)
    assert abs(est.radius - radius) <= 1.0, est.radius


def test_disk_kernel_is_soft_and_normalised() -> None:
    k = disk_kernel(3.3)
    assert k.shape == (9, 9) and abs(k.sum() - 1) < 1e-6
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1])
    edge = k[4, 7] / k[4, 4]
    assert 0 < edge < 1  # partly covered pixel: anti-aliased
    assert disk_kernel(0.2).max() == 1.0


def test_a_region_the_field_cannot_explain_keeps_the_photo() -> None:
    """A blind field whose right region holds the left half's kernel: that region's re-blur
    residual is above the noise, so its share of the deconvolution drops (to 0 at
    ``AcceptConfig.max_residual`` sigmas) while the left keeps all of it; no seam between
    them (the shares follow the regions' raised-cosine weights)."""
    from glow_core.kernel.accept import region_strengths
    from glow_core.kernel.field import _deconvolve_field, attach_acceptance, widened_residual

    sharp, blurry, _, _, k1, k2 = two_halves(256, 768, size=15)
    est = _oracle(k1, k2, 768)

    def wrong_right(image, config, *, kernel_size=None, region=None, **kw):
        if region is not None and region[1] >= 512:
            return SimpleNamespace(kernel=k1, confidence=0.9)  # the other half's blur
        return est(image, config, kernel_size=kernel_size, region=region, **kw)

    f = estimate_kernel_field(blurry, FieldConfig(own_margin=None), estimator=wrong_right)
    assert f.grid == (1, 4) and not f.uniform
    attach_acceptance(f, blurry)
    out = deconvolve_field(blurry, f)
    per = np.asarray(f.acceptance.features["region_strengths"])
    assert per[0, 0] == 1.0 and per[0, -1] < 0.5, per
    # judged on the residual ramp widened for the blind floor's misfit share
    ramp = widened_residual(AcceptConfig(), f.acceptance.features.get("misfit_share", 0.0))
    assert np.array_equal(per, region_strengths(f.acceptance, ramp).round(3))
    assert any("attenuated" in r for r in f.acceptance.reasons)
    full = _deconvolve_field(blurry, f, DeconvConfig(), noise_sigma=0.01, linear=False,
                             progress=None, cancel=None)
    right, left = slice(640, 768), slice(0, 160)
    moved = np.abs(out[8:-8, right] - blurry[8:-8, right]).mean()
    assert moved < 0.55 * np.abs(full[8:-8, right] - blurry[8:-8, right]).mean()
    assert psnr(out[8:-8, left], sharp[8:-8, left]) > psnr(blurry[8:-8, left],
                                                           sharp[8:-8, left]) + 3
    # between them the share falls smoothly (raised-cosine weights): the change made to
    # the photo fades column by column over the overlap, with no step
    moved_cols = np.abs(out - blurry)[8:-8].mean(axis=(0, 2))
    full_cols = np.abs(full - blurry)[8:-8].mean(axis=(0, 2))
    ratio = moved_cols[400:760] / np.maximum(full_cols[400:760], 1e-6)
    assert np.abs(np.diff(ratio)).max() < 0.1
