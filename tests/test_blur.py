"""Blur simulator: kernels, motion fields, camera pipeline, patterns, GPU path, preview."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from training.blur import camera, spatial
from training.blur.__main__ import main as blur_main
from training.blur.gpu import blur_batch, stack_kernels
from training.blur.kernels import (
    MeasuredKernels,
    augment_kernel,
    blur_image,
    center_kernel,
    defocus_kernel,
    gaussian_kernel,
    kernel_centroid,
    linear_kernel,
)
from training.blur.motion import kernel_covariance, motion_from_covariance, motion_from_kernel
from training.blur.simulate import (
    UNIFORM_PATTERNS,
    BlurConfig,
    BlurPattern,
    sample_kernel,
    simulate,
)
from training.blur.trajectory import camera_shake_kernel, random_trajectory
from training.sources import DEFAULT_DATA_ROOT, dead_leaves


def _check_kernel(k: np.ndarray, centred: bool = True) -> None:
    assert k.dtype == np.float32 and k.ndim == 2
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert k.min() >= 0
    assert abs(float(k.sum()) - 1.0) < 1e-5
    if centred:
        cx, cy = kernel_centroid(k)
        assert abs(cx) < 1e-3 and abs(cy) < 1e-3


def _extent_along(k: np.ndarray, angle: float) -> tuple[float, float]:
    """Max |projection| of the support onto the axis and across it."""
    c = k.shape[0] // 2
    ys, xs = np.nonzero(k > 1e-6)
    u = (xs - c) * np.cos(angle) + (ys - c) * np.sin(angle)
    v = -(xs - c) * np.sin(angle) + (ys - c) * np.cos(angle)
    return float(np.ptp(u)), float(np.abs(v).max())


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return dead_leaves(np.random.default_rng(3), 64)


# ----------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("length", [4.0, 9.5, 20.0])
@pytest.mark.parametrize("angle", [0.0, 0.4, np.pi / 2, 2.3])
def test_linear_kernel_support_follows_length_and_angle(length: float, angle: float) -> None:
    k = linear_kernel(length, angle)
    _check_kernel(k)
    along, across = _extent_along(k, angle)
    assert length - 1.0 <= along <= length + 2.0  # bilinear splat adds up to a pixel per end
    assert across <= 1.5
    assert k.shape[0] <= int(np.ceil(length)) + 3


@pytest.mark.parametrize("radius", [2.0, 4.5, 9.0])
def test_defocus_disk_support_radius(radius: float) -> None:
    k = defocus_kernel(radius)
    _check_kernel(k)
    c = k.shape[0] // 2
    ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
    d = np.hypot(xs - c, ys - c)
    assert d[k > 0].max() < radius + 0.5 + 1e-6  # nothing outside the disk
    assert (k[d <= radius - 0.5] > 0).all()  # everything inside is lit
    inner = k[d <= radius - 1.0]
    assert np.ptp(inner) < 1e-6  # flat disk


def test_defocus_soft_and_cats_eye() -> None:
    hard, soft = defocus_kernel(6.0), defocus_kernel(6.0, softness=0.5)
    _check_kernel(soft)
    assert soft.shape == hard.shape
    assert soft.max() > hard.max()  # energy moved inward: softer edge
    cat = defocus_kernel(6.0, cat_eye=0.4, cat_angle=0.0)
    _check_kernel(cat)  # recentred despite the truncation
    m = motion_from_kernel(cat)
    assert abs(m[0]) > 0.5 and abs(m[1]) < 1e-3  # lens shape: anisotropic along x / y axes
    assert (cat > 0).sum() < (hard > 0).sum()


def test_gaussian_kernels() -> None:
    k = gaussian_kernel(2.0)
    _check_kernel(k)
    cov = kernel_covariance(k)
    assert np.allclose(cov, np.eye(2) * 4.0, atol=0.15)
    assert k.shape[0] == 2 * 6 + 1
    a = gaussian_kernel(3.0, 1.0, angle=np.pi / 4)
    _check_kernel(a)
    lam, vec = np.linalg.eigh(kernel_covariance(a))
    assert np.allclose(lam, [1.0, 9.0], atol=0.3)
    assert abs(abs(vec[0, 1]) - abs(vec[1, 1])) < 0.02  # major axis on the diagonal


def test_camera_shake_kernel_size_and_determinism() -> None:
    for seed in range(6):
        k = camera_shake_kernel(np.random.default_rng(seed), 15.0)
        _check_kernel(k)
        assert k.shape[0] <= 2 * 15 + 3  # centred path never leaves +-size
        again = camera_shake_kernel(np.random.default_rng(seed), 15.0)
        assert np.array_equal(k, again)
    path = random_trajectory(np.random.default_rng(0))
    step = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert np.allclose(step, step[0])  # constant speed particle


def test_shake_exposure_shortens_the_path() -> None:
    full = [camera_shake_kernel(np.random.default_rng(s), 20.0, (1.0, 1.0)) for s in range(4)]
    part = [camera_shake_kernel(np.random.default_rng(s), 20.0, (0.2, 0.2)) for s in range(4)]
    ext_full = [np.hypot(*motion_from_kernel(k)[:2]) + motion_from_kernel(k)[2] for k in full]
    ext_part = [np.hypot(*motion_from_kernel(k)[:2]) + motion_from_kernel(k)[2] for k in part]
    assert np.mean(ext_part) < 0.6 * np.mean(ext_full)


def test_center_kernel_moves_centroid_to_centre() -> None:
    k = np.zeros((9, 9), np.float32)
    k[1, 2], k[2, 7], k[7, 3] = 0.5, 0.3, 0.2
    c = center_kernel(k)
    _check_kernel(c)  # sub-pixel shift: centred to float precision
    spread = kernel_covariance(c) - kernel_covariance(k)  # interpolation adds <= 1/4 px²
    assert (np.diag(spread) >= -1e-6).all() and (np.diag(spread) <= 0.25 + 1e-6).all()
    two = np.zeros((9, 9), np.float32)
    two[2, 3] = two[2, 5] = 0.5  # centroid two rows up, integer shift: exact
    expected = np.zeros((3, 3), np.float32)
    expected[1, 0] = expected[1, 2] = 0.5
    assert np.array_equal(center_kernel(two), expected)


def test_measured_kernels_from_files(tmp_path) -> None:
    sub = tmp_path / "set"
    sub.mkdir()
    k = linear_kernel(12.0, 0.3)
    big = np.zeros((30, 30), np.float32)  # even size and off-centre, as real files are
    big[3 : 3 + k.shape[0], 5 : 5 + k.shape[1]] = k
    np.save(sub / "a.npy", big)
    bank = MeasuredKernels.from_root(tmp_path)
    assert len(bank) == 1
    _check_kernel(bank.kernels[0])
    assert np.allclose(motion_from_kernel(bank.kernels[0]), motion_from_kernel(k), atol=1e-3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        s = bank.sample(rng, (0.5, 1.5), max_size=15)
        _check_kernel(s)
        assert s.shape[0] <= 15
    rot = augment_kernel(k, 90.0, 1.0)
    m = motion_from_kernel(rot)
    ref = motion_from_kernel(linear_kernel(12.0, 0.3 - np.pi / 2))  # cv2: ccw on screen
    assert np.allclose(m[:2], ref[:2], atol=0.6)
    half = augment_kernel(k, 0.0, 0.5)
    assert abs(np.hypot(*motion_from_kernel(half)[:2]) - 6.0) < 1.0


@pytest.mark.skipif(not (DEFAULT_DATA_ROOT / "kernels").is_dir(), reason="shared kernels absent")
def test_real_measured_kernels_load_valid() -> None:
    bank = MeasuredKernels.from_root(DEFAULT_DATA_ROOT / "kernels")
    assert len(bank) >= 10
    for k in bank.kernels:
        _check_kernel(k)
    rng = np.random.default_rng(0)
    _check_kernel(bank.sample(rng, max_size=21))


@pytest.mark.parametrize("family", UNIFORM_PATTERNS)
def test_every_sampled_kernel_is_valid(family: str, tmp_path) -> None:
    sub = tmp_path / "k"
    sub.mkdir()
    np.save(sub / "g.npy", gaussian_kernel(2.0, 0.7, 0.5))
    cfg = BlurConfig(kernel_root=tmp_path)
    rng = np.random.default_rng(1)
    for _ in range(5):
        k = sample_kernel(family, rng, cfg, max_size=25)
        _check_kernel(k)
        assert k.shape[0] <= 25


# ----------------------------------------------------------------------------- motion field


@pytest.mark.parametrize("angle", [0.0, 0.3, np.pi / 4, 1.2, np.pi / 2, 2.5])
@pytest.mark.parametrize("length", [6.0, 15.0, 30.0])
def test_motion_from_linear_kernel(angle: float, length: float) -> None:
    m = motion_from_kernel(linear_kernel(length, angle))
    ext = float(np.hypot(m[0], m[1]))
    assert abs(ext - length) < 0.05 * length + 0.3
    got = np.arctan2(m[1], m[0]) / 2
    assert abs(np.angle(np.exp(2j * (got - angle)))) < 0.05  # axis, modulo π
    assert 0 <= m[2] < 1.2  # thin line: only pixel-sampling spread across it


def test_motion_has_no_sign() -> None:
    a = motion_from_kernel(linear_kernel(11.0, 0.7))
    b = motion_from_kernel(linear_kernel(11.0, 0.7 + np.pi))
    assert np.allclose(a, b, atol=1e-3)
    flipped = motion_from_kernel(linear_kernel(11.0, 0.7)[::-1, ::-1].copy())
    assert np.allclose(a, flipped, atol=1e-4)


def test_motion_isotropic_part() -> None:
    d = motion_from_kernel(defocus_kernel(6.0))
    assert np.hypot(d[0], d[1]) < 1e-3 and abs(d[2] - 6.0) < 0.6
    g = motion_from_kernel(gaussian_kernel(2.0))
    assert abs(g[2] - 4.0) < 0.2  # ≈ 2σ
    aniso = motion_from_kernel(gaussian_kernel(3.0, 1.0, angle=0.0))
    assert abs(aniso[2] - 2.0) < 0.2 and aniso[0] > 5.0 and abs(aniso[1]) < 1e-3


def test_covariances_blend_like_kernels() -> None:
    k1, k2 = linear_kernel(14.0, 0.2), defocus_kernel(4.0)
    w = 0.3
    pad = (k1.shape[0] - k2.shape[0]) // 2
    assert pad > 0
    mix = w * k1 + (1 - w) * np.pad(k2, pad)
    ref = motion_from_kernel(mix)
    got = motion_from_covariance(w * kernel_covariance(k1) + (1 - w) * kernel_covariance(k2))
    assert np.allclose(got, ref, atol=1e-4)


# ----------------------------------------------------------------------------- convolution


def test_blur_image_matches_scipy_in_the_interior(image: np.ndarray) -> None:
    k = camera_shake_kernel(np.random.default_rng(5), 9.0)
    out = blur_image(image, k)
    r = k.shape[0] // 2
    for c in range(3):
        ref = scipy.signal.convolve(image[..., c].astype(np.float64), k, mode="same")
        assert np.allclose(out[r:-r, r:-r, c], ref[r:-r, r:-r], atol=1e-5)


def test_simulate_without_camera_is_plain_convolution(image: np.ndarray) -> None:
    cfg = BlurConfig.only("linear", camera=camera.CameraConfig.off())
    s = simulate(image, np.random.default_rng(2), cfg)
    assert s.pattern == "linear" and s.kernel is not None
    assert np.array_equal(s.sharp, image)
    r = s.kernel.shape[0] // 2
    ref = np.stack(
        [scipy.signal.convolve(image[..., c], s.kernel, mode="same") for c in range(3)], -1
    )
    assert r >= 1
    assert np.allclose(s.blurry[r:-r, r:-r], np.clip(ref, 0, 1)[r:-r, r:-r], atol=1e-5)
    assert np.allclose(s.motion, motion_from_kernel(s.kernel))


def test_gpu_blur_equals_numpy_blur() -> None:
    rng = np.random.default_rng(0)
    imgs = rng.random((3, 3, 40, 48)).astype(np.float32)
    ks = [camera_shake_kernel(rng, 9.0), defocus_kernel(3.0), linear_kernel(7.0, 1.0)]
    kt = stack_kernels(ks)
    assert kt.shape == (3, max(k.shape[0] for k in ks), max(k.shape[0] for k in ks))
    out = blur_batch(torch.from_numpy(imgs), kt).numpy()
    assert out.shape == imgs.shape
    for b in range(3):
        ref = blur_image(imgs[b].transpose(1, 2, 0), ks[b]).transpose(2, 0, 1)
        assert np.allclose(out[b], ref, atol=1e-5)  # borders included (reflect-101)


# ----------------------------------------------------------------------------- camera


def test_srgb_round_trip_exact() -> None:
    x = np.linspace(0, 1, 4097, dtype=np.float32)
    assert np.allclose(camera.linear_to_srgb(camera.srgb_to_linear(x)), x, atol=2e-6)
    assert camera.srgb_to_linear(np.float32(0.5)) == pytest.approx(0.21404, abs=1e-4)
    tone = camera.apply_tone(camera.srgb_to_linear(x), camera.ToneParams("srgb"))
    assert np.allclose(tone, x, atol=2e-6)


def test_tone_curves_are_monotone_and_fix_ends() -> None:
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    for p in (camera.ToneParams("gamma", gamma=2.4), camera.ToneParams("scurve", contrast=0.6)):
        y = camera.apply_tone(x, p)
        assert (np.diff(y) >= -1e-7).all() and y[0] == pytest.approx(0, abs=1e-6)
        assert y[-1] == pytest.approx(1, abs=1e-6)


def test_highlights_saturate_and_clip() -> None:
    img = np.full((48, 48, 3), 0.1, np.float32)
    img[20:24, 20:24] = 0.95  # a lamp
    params = camera.HighlightParams(count=2, gain=6.0)
    boosted = camera.boost_highlights(img, params, np.random.default_rng(0))
    assert boosted.max() > 2.0  # the lamp is brighter than the display can show
    assert np.allclose(boosted[:8, :8], 0.1)  # dark surroundings untouched
    streak = blur_image(boosted, linear_kernel(15.0, 0.0))
    plain = blur_image(img, linear_kernel(15.0, 0.0))
    clipped = camera.clip_highlights(streak)
    assert clipped.max() <= 1.0 and clipped.min() >= 0.0
    assert clipped[21, 14, 0] > plain[21, 14, 0] + 0.2  # lights streak instead of fading


@pytest.mark.parametrize(("shot", "read"), [(0.01, 0.0), (0.0, 1e-4), (0.005, 4e-5)])
def test_poisson_gaussian_noise_statistics(shot: float, read: float) -> None:
    rng = np.random.default_rng(0)
    for level in (0.2, 0.6):
        flat = np.full((128, 128, 3), level, np.float32)
        y = camera.add_noise(flat, camera.NoiseParams(shot=shot, read=read), rng)
        var = shot * level + read
        assert abs(float(y.mean()) - level) < 4 * np.sqrt(var / y.size) + 1e-6
        assert float(y.var()) == pytest.approx(var, rel=0.05)


def test_jpeg_round_trip_is_close_and_lossy(image: np.ndarray) -> None:
    out = camera.jpeg_compress(image, 70)
    assert out.shape == image.shape and out.dtype == np.float32
    err = np.abs(out - image).mean()
    assert 0.002 < err < 0.08


# ----------------------------------------------------------------------------- spatial


def test_blend_weights_partition_of_unity() -> None:
    w = spatial.blend_weights(30, 40, (2, 3))
    assert w.shape == (6, 30, 40)
    assert np.allclose(w.sum(0), 1.0) and w.min() >= 0
    assert w[0, 0, 0] == pytest.approx(1.0) and w[5, -1, -1] == pytest.approx(1.0)


def test_spatially_varying_blur_is_local(image: np.ndarray) -> None:
    ks = [linear_kernel(9.0, 0.0), linear_kernel(9.0, np.pi / 2)]
    w = spatial.blend_weights(64, 64, (1, 2))
    out, cov = spatial.spatially_varying_blur(image, ks, w)
    assert np.allclose(out[:, 0], blur_image(image, ks[0])[:, 0], atol=1e-6)
    assert np.allclose(out[:, -1], blur_image(image, ks[1])[:, -1], atol=1e-6)
    f = motion_from_covariance(cov)
    assert f[10, 0, 0] > 8 and f[10, -1, 0] < -8  # horizontal left, vertical right


def test_rotation_blur_grows_with_radius_and_is_tangential(image: np.ndarray) -> None:
    out, cov = spatial.rotation_blur(image, np.radians(10.0), center=(31.5, 31.5))
    f = motion_from_covariance(cov)
    ext = np.hypot(f[..., 0], f[..., 1])
    assert ext[32, 32] < 0.5 and ext[32, 2] > 3.0 and ext[2, 2] > ext[32, 2]
    assert f[32, 2, 0] < 0  # left of the centre the motion is vertical: cos 2θ = -1
    assert f[2, 32, 0] > 0  # above it, horizontal
    assert np.abs(out[28:36, 28:36] - image[28:36, 28:36]).mean() < 0.02


def test_frame_average_centre_frame_is_identity(image: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    mats = spatial.random_motion_sequence(rng, 9, 12.0, 0.02, (31.5, 31.5))
    assert np.allclose(mats[4], [[1, 0, 0], [0, 1, 0]])
    assert len(mats) == 9
    pure = [np.array([[1.0, 0, dx], [0, 1.0, 0]]) for dx in (-2.0, 0.0, 2.0)]
    out, cov = spatial.frame_average_blur(image, pure)
    ref = (np.roll(image, -2, 1) + image + np.roll(image, 2, 1)) / 3
    assert np.allclose(out[:, 4:-4], ref[:, 4:-4], atol=1e-5)
    assert np.allclose(cov[..., 0, 0], 8.0 / 3) and np.allclose(cov[..., 1, 1], 0.0)


def test_object_motion_occlusion() -> None:
    rng = np.random.default_rng(0)
    bg = dead_leaves(rng, 64)
    fg = dead_leaves(rng, 64)
    mask = np.zeros((64, 64), np.float32)
    mask[12:52, 12:52] = 1.0
    kf, kb = linear_kernel(9.0, 0.0), defocus_kernel(2.0)
    out, sharp, alpha, cov = spatial.object_motion_blur(bg, fg, mask, kf, kb)
    inner = (slice(18, 46), slice(18, 46))  # footprint of kf stays inside the object
    assert np.allclose(out[inner], blur_image(fg, kf)[inner], atol=1e-5)
    assert np.allclose(alpha[inner], 1.0)
    far = (slice(0, 6), slice(0, 64))  # background only
    assert np.allclose(out[far], blur_image(bg, kb)[far], atol=1e-5)
    assert np.allclose(sharp[inner], fg[inner]) and np.allclose(sharp[far], bg[far])
    f = motion_from_covariance(cov)
    assert abs(f[30, 30, 0] - 9.0) < 0.6 and f[2, 2, 0] == pytest.approx(0.0, abs=1e-3)
    edge = out[30, 8]  # smeared object is semi-transparent over the background
    assert not np.allclose(edge, blur_image(bg, kb)[30, 8], atol=1e-3)


def test_random_mask_is_soft_and_inside() -> None:
    rng = np.random.default_rng(0)
    for kind in ("blob", "polygon"):
        m = spatial.random_mask(rng, 64, 64, kind)
        assert m.dtype == np.float32 and m.min() >= 0 and m.max() <= 1
        assert 0.03 < m.mean() < 0.7


# ----------------------------------------------------------------------------- simulate


@pytest.mark.parametrize("pattern", [p.value for p in BlurPattern])
def test_simulate_every_pattern(pattern: str, image: np.ndarray) -> None:
    s = simulate(image, np.random.default_rng(7), BlurConfig.only(pattern))
    assert s.pattern == pattern
    for arr in (s.blurry, s.sharp, s.motion):
        assert arr.shape == image.shape and arr.dtype == np.float32
    assert s.blurry.min() >= 0 and s.blurry.max() <= 1 and 0 <= s.sharp.min() <= s.sharp.max() <= 1
    assert np.isfinite(s.motion).all() and (s.motion[..., 2] >= 0).all()
    if pattern in UNIFORM_PATTERNS:
        assert s.kernel is not None
        _check_kernel(s.kernel)
        assert s.kernel.shape[0] <= BlurConfig().max_kernel(64, 64)
    if pattern == "none":
        assert np.allclose(s.motion, 0)


def test_simulate_is_deterministic(image: np.ndarray) -> None:
    for seed in range(4):
        a = simulate(image, np.random.default_rng(seed))
        b = simulate(image, np.random.default_rng(seed))
        assert a.pattern == b.pattern
        assert np.array_equal(a.blurry, b.blurry) and np.array_equal(a.sharp, b.sharp)
        assert np.array_equal(a.motion, b.motion)
    c = simulate(image, np.random.default_rng(99))
    assert not np.array_equal(a.blurry, c.blurry)


def test_simulate_keeps_sharp_and_blurry_aligned() -> None:
    """Blur must not shift the image: the centroid of a bright dot stays put."""
    img = np.zeros((64, 64, 3), np.float32)
    img[30:34, 30:34] = 1.0
    cfg_cam = camera.CameraConfig.off()
    for pattern in ("shake", "measured", "defocus", "compound", "rotation"):
        for seed in range(3):
            s = simulate(
                img,
                np.random.default_rng(seed),
                BlurConfig.only(pattern, camera=cfg_cam, kernel_root=None),
            )
            lum = s.blurry[..., 0]
            ys, xs = np.mgrid[:64, :64]
            cy, cx = (lum * ys).sum() / lum.sum(), (lum * xs).sum() / lum.sum()
            assert abs(cy - 31.5) < 0.3 and abs(cx - 31.5) < 0.3, (pattern, seed, cx, cy)


def test_simulate_with_another_photo_as_object(image: np.ndarray) -> None:
    other = np.full((80, 90, 3), 0.5, np.float32)
    s = simulate(image, np.random.default_rng(0), BlurConfig.only("object"), foreground=other)
    assert s.blurry.shape == image.shape
    assert (np.abs(s.sharp - 0.5) < 0.02).mean() > 0.05  # some of the grey object is in view


def test_preview_cli_writes_png(tmp_path) -> None:
    out = tmp_path / "sheet.png"
    assert blur_main(["preview", "-o", str(out), "--seed", "1", "--size", "64"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    import cv2

    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 4 * 64 and sheet.shape[0] == 3 * (64 + 20)


def test_gpu_blur_keeps_dtype_and_rejects_even_kernels() -> None:
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    k = stack_kernels([linear_kernel(5.0, 0.0), defocus_kernel(2.0)])
    y = blur_batch(x, k)
    assert y.dtype == torch.float64
    assert torch.allclose(y.sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=0.05)
    with pytest.raises(ValueError):
        blur_batch(x, torch.ones(2, 4, 4) / 16)
