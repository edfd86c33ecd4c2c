"""Non-uniform blur: spatially varying kernels, rotation, object motion, frame averaging.

Every function returns the blurred image together with the per-pixel 2 x 2 covariance of
the local blur (H x W x 2 x 2, in px²), from which
:func:`~training.blur.motion.motion_from_covariance` makes the motion field. Covariances
(not field vectors) are blended because they mix exactly: the effective kernel of a pixel
that blends kernels ``k_i`` with weights ``w_i`` has covariance ``Σ w_i C_i``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .kernels import blur_image
from .motion import kernel_covariance

__all__ = [
    "average_frames",
    "blend_weights",
    "frame_average_blur",
    "object_motion_blur",
    "random_mask",
    "random_motion_sequence",
    "rotation_blur",
    "rotation_sequence",
    "sequence_covariance",
    "spatially_varying_blur",
]


def _smoothstep(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def _axis_weights(n: int, knots: int) -> np.ndarray:
    """``knots x n`` smooth partition of unity along one axis (smoothstep tents)."""
    if knots <= 1:
        return np.ones((1, n), np.float32)
    pos = np.linspace(0.0, knots - 1.0, n)
    j = np.minimum(np.floor(pos).astype(int), knots - 2)
    f = _smoothstep(pos - j)
    w = np.zeros((knots, n), np.float32)
    w[j, np.arange(n)] = 1.0 - f
    w[j + 1, np.arange(n)] += f
    return w


def blend_weights(height: int, width: int, grid: tuple[int, int]) -> np.ndarray:
    """``(gy*gx) x H x W`` weights, smooth and summing to one, for a kernel grid.

    Kernel ``i = row * gx + col`` dominates near its knot; the weights are products of
    smoothstep tents, so the blur changes smoothly (C1) across the frame.
    """
    gy, gx = grid
    wy = _axis_weights(height, gy)
    wx = _axis_weights(width, gx)
    return (wy[:, None, :, None] * wx[None, :, None, :]).reshape(gy * gx, height, width)


def spatially_varying_blur(
    image: np.ndarray, kernels: Sequence[np.ndarray], weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Blur with each kernel and blend the results: ``Σ w_i (image * k_i)``.

    This is the efficient-filter-flow approximation of a smoothly varying kernel.
    Returns ``(blurred, covariance field H x W x 2 x 2)``.
    """
    h, w = image.shape[:2]
    out = np.zeros_like(image, dtype=np.float32)
    cov = np.zeros((h, w, 2, 2), np.float32)
    for k, wt in zip(kernels, weights, strict=True):
        out += wt[..., None] * blur_image(image, k)
        cov += wt[..., None, None] * kernel_covariance(k).astype(np.float32)
    return out, cov


def _affine_matrix(angle: float, tx: float, ty: float, center: tuple[float, float]) -> np.ndarray:
    """2 x 3 forward map ``p -> R(angle) (p - c) + c + t`` (angle radians, y down)."""
    c, s = np.cos(angle), np.sin(angle)
    r = np.array([[c, -s], [s, c]])
    cc = np.asarray(center, float)
    t = cc - r @ cc + np.array([tx, ty])
    return np.concatenate([r, t[:, None]], axis=1)


def average_frames(image: np.ndarray, mats: Sequence[np.ndarray]) -> np.ndarray:
    """Warp the image by each 2 x 3 forward matrix and average the sub-frames."""
    h, w = image.shape[:2]
    acc = np.zeros(image.shape, np.float64)
    img = np.ascontiguousarray(image, np.float32)
    for m in mats:
        warped = cv2.warpAffine(
            img,
            m.astype(np.float64),
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        acc += warped.reshape(image.shape)
    return (acc / len(mats)).astype(np.float32)


def sequence_covariance(mats: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """Per-pixel covariance (H x W x 2 x 2) of the displacements ``M_i p - p`` over frames."""
    ys, xs = np.mgrid[:height, :width].astype(np.float64)
    n = len(mats)
    s = np.zeros((height, width, 2))
    ss = np.zeros((height, width, 2, 2))
    for m in mats:
        dx = m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs
        dy = m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys
        d = np.stack([dx, dy], -1)
        s += d
        ss += d[..., :, None] * d[..., None, :]
    mean = s / n
    cov = ss / n - mean[..., :, None] * mean[..., None, :]
    return cov.astype(np.float32)


def rotation_sequence(angle: float, center: tuple[float, float], frames: int) -> list[np.ndarray]:
    """Forward matrices of a rotation about ``center`` sweeping ``[-angle/2, angle/2]``."""
    return [_affine_matrix(a, 0.0, 0.0, center) for a in np.linspace(-angle / 2, angle / 2, frames)]


def rotation_blur(
    image: np.ndarray,
    angle: float,
    center: tuple[float, float] | None = None,
    frames: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """In-plane camera rotation (about the optical axis at ``center``) by ``angle`` radians.

    Blur grows with the distance from the centre and runs tangentially. The sweep is
    symmetric, so the sharp target (angle 0) is the middle of the exposure and stays
    aligned. ``frames`` defaults to enough sub-frames for <= 0.75 px steps at the corners.
    """
    h, w = image.shape[:2]
    c = ((w - 1) / 2, (h - 1) / 2) if center is None else center
    if frames is None:
        rmax = max(np.hypot(x - c[0], y - c[1]) for x in (0, w - 1) for y in (0, h - 1))
        frames = int(np.clip(np.ceil(abs(angle) * rmax / 0.75), 3, 96)) | 1
    mats = rotation_sequence(angle, c, frames)
    return average_frames(image, mats), sequence_covariance(mats, h, w)


def random_motion_sequence(
    rng: np.random.Generator,
    frames: int,
    shift: float,
    rotation: float,
    center: tuple[float, float],
) -> list[np.ndarray]:
    """A smooth random camera path in ``frames`` sub-frames, centre frame = identity.

    Translation follows a camera-shake-like random walk scaled to span ``shift`` px,
    rotation ramps over ``rotation`` radians; both are zero at the centre frame, which
    is the sharp target (as in GoPro-style frame averaging).
    """
    from .trajectory import ShakeParams, random_trajectory

    path = random_trajectory(rng, ShakeParams(steps=max(frames, 2)))
    span = float(np.max(path.max(0) - path.min(0)))
    path = path * (shift / max(span, 1e-9))
    mid = frames // 2
    path = path - path[mid]
    angles = np.linspace(-0.5, 0.5, frames) * rotation
    angles = angles - angles[mid]
    return [_affine_matrix(angles[i], path[i, 0], path[i, 1], center) for i in range(frames)]


def frame_average_blur(
    image: np.ndarray, mats: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Average a synthetic moving sequence (like GoPro's 240 fps averaging)."""
    h, w = image.shape[:2]
    return average_frames(image, mats), sequence_covariance(mats, h, w)


def random_mask(
    rng: np.random.Generator, height: int, width: int, kind: str | None = None
) -> np.ndarray:
    """A random foreground mask in [0, 1] (anti-aliased): a smooth blob or a polygon.

    The object covers roughly 10-50 % of the frame and lies away from the borders, so its
    motion blur is seen against the background on all sides.
    """
    kind = kind or ("blob" if rng.random() < 0.5 else "polygon")
    ss = 4  # supersampling for anti-aliased edges
    hh, ww = height * ss, width * ss
    cx, cy = rng.uniform(0.35, 0.65) * ww, rng.uniform(0.35, 0.65) * hh
    base = min(hh, ww) * rng.uniform(0.18, 0.32)
    if kind == "polygon":
        n = int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = base * rng.uniform(0.6, 1.3, n)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        m = np.zeros((hh, ww), np.uint8)
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
    else:
        # Ellipse envelope perturbed by smooth noise.
        ys, xs = np.mgrid[:hh, :ww].astype(np.float32)
        a = rng.uniform(0, np.pi)
        ex = base * rng.uniform(0.7, 1.4)
        ey = base * rng.uniform(0.7, 1.4)
        u = ((xs - cx) * np.cos(a) + (ys - cy) * np.sin(a)) / ex
        v = (-(xs - cx) * np.sin(a) + (ys - cy) * np.cos(a)) / ey
        noise = rng.standard_normal((6, 6)).astype(np.float32)
        noise = cv2.resize(noise, (ww, hh), interpolation=cv2.INTER_CUBIC)
        m = ((u * u + v * v) < 1.0 + 0.35 * noise).astype(np.uint8) * 255
    m = cv2.resize(m.astype(np.float32) / 255.0, (width, height), interpolation=cv2.INTER_AREA)
    return np.clip(m, 0.0, 1.0).astype(np.float32)


def object_motion_blur(
    background: np.ndarray,
    foreground: np.ndarray,
    mask: np.ndarray,
    k_foreground: np.ndarray,
    k_background: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A moving layer over a differently blurred background, with correct occlusion.

    The layer is blurred premultiplied by its mask, the mask itself too, and composited
    "over": ``B(f m) + (1 - B(m)) · B'(bg)``. Inside the object (far from its edges) only
    the object's blur is seen; near them, the smeared object becomes semi-transparent.
    Returns ``(blurred, sharp composite, blurred alpha, covariance field)``.
    """
    m = np.asarray(mask, np.float32)
    m3 = m[..., None]
    fg_b = blur_image(foreground * m3, k_foreground)
    a_b = np.clip(blur_image(m, k_foreground), 0.0, 1.0)
    bg_b = blur_image(background, k_background)
    blurred = fg_b + (1.0 - a_b[..., None]) * bg_b
    sharp = foreground * m3 + (1.0 - m3) * background
    cf = kernel_covariance(k_foreground).astype(np.float32)
    cb = kernel_covariance(k_background).astype(np.float32)
    cov = a_b[..., None, None] * cf + (1.0 - a_b[..., None, None]) * cb
    return blurred.astype(np.float32), sharp.astype(np.float32), a_b, cov
