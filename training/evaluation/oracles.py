"""Classical non-blind references ("oracles") for sets whose uniform kernel is known.

Two references run in the same process: Wiener (``skimage.restoration.wiener`` per
channel) and Richardson-Lucy (``richardson_lucy``, 30 iterations). They are deliberately
generous: they get the true kernel, they deconvolve in linear light through the true tone
curve of the simulated camera, the images are mirror-extended so FFT wrap-around adds no
ringing, and Wiener's balance is the best (by PSNR against the ground truth) of a small
grid per image. They are slow, so :func:`references` computes them once per set and keeps
them on the (cached) :class:`~training.evaluation.sets.EvalSet`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from training.blur.camera import CameraParams, apply_tone
from training.evaluation.sets import EvalSet
from training.metrics import psnr, ssim

WIENER_BALANCES: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
RL_ITERATIONS = 30

ProgressFn = Callable[[str], None]


def _tone_maps(cam: CameraParams | None) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                   Callable[[np.ndarray], np.ndarray]]:
    """(display -> linear, linear -> display) for the simulated camera's tone curve."""
    if cam is None or not cam.linear or cam.tone.kind == "identity":
        return (lambda x: x), (lambda x: x)
    grid = np.linspace(0.0, 1.0, 4097, dtype=np.float32)
    curve = apply_tone(grid, cam.tone)
    curve = np.maximum.accumulate(curve)  # monotone for np.interp

    def to_linear(x: np.ndarray) -> np.ndarray:
        return np.interp(x, curve, grid).astype(np.float32)

    def to_display(x: np.ndarray) -> np.ndarray:
        return apply_tone(np.clip(x, 0.0, 1.0), cam.tone)

    return to_linear, to_display


def _circular_blur(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Circular convolution (kernel centred at ``k.shape // 2``), as Wiener's model assumes."""
    h, w = x.shape
    pad = np.zeros((h, w))
    pad[:k.shape[0], :k.shape[1]] = k
    pad = np.roll(pad, (-(k.shape[0] // 2), -(k.shape[1] // 2)), axis=(0, 1))
    return np.fft.irfft2(np.fft.rfft2(x) * np.fft.rfft2(pad), s=(h, w))


def _edge_taper(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, int]:
    """Reflect-pad one channel by a kernel width and taper it towards its circular re-blur.

    The simulator blurs with reflected borders, which no circular (FFT) model reproduces
    for asymmetric kernels; that mismatch rings across the whole Wiener result. Blending,
    over a kernel width on each side of the image edge, towards the circularly re-blurred
    image (MATLAB's ``edgetaper`` idea) makes the data consistent with the model there.
    Returns (tapered padded channel, pad).
    """
    h, w = x.shape
    pad = min(k.shape[0], h - 1, w - 1)
    inner = min(k.shape[0], h // 4, w // 4)
    p = np.pad(x, pad, mode="reflect")
    n = pad + inner

    def ramp(length: int) -> np.ndarray:
        r = np.ones(length)
        t = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
        r[:n] = t
        r[-n:] = np.minimum(r[-n:], t[::-1])
        return r

    alpha = np.outer(ramp(p.shape[0]), ramp(p.shape[1]))
    return alpha * p + (1.0 - alpha) * _circular_blur(p, k), pad


def wiener_reference(blurry: np.ndarray, sharp: np.ndarray, kernel: np.ndarray,
                     camera: CameraParams | None = None,
                     balances: Sequence[float] = WIENER_BALANCES
                     ) -> tuple[np.ndarray, float]:
    """Oracle Wiener deconvolution: the best-PSNR balance of ``balances``; (image, balance)."""
    from skimage.restoration import wiener

    to_linear, to_display = _tone_maps(camera)
    lin = to_linear(blurry).astype(np.float64)
    h, w = lin.shape[:2]
    psf = np.asarray(kernel, np.float64)
    tapered = [_edge_taper(lin[..., c], psf) for c in range(3)]
    best: tuple[float, float, np.ndarray] | None = None
    for balance in balances:
        out = np.stack([wiener(ch, psf, balance, clip=False)[pad:pad + h, pad:pad + w]
                        for ch, pad in tapered], axis=2)
        out = to_display(np.clip(out, 0.0, 1.0).astype(np.float32))
        score = psnr(out, sharp)
        if best is None or score > best[0]:
            best = (score, float(balance), out)
    assert best is not None
    return best[2], best[1]


def richardson_lucy_reference(blurry: np.ndarray, kernel: np.ndarray,
                              camera: CameraParams | None = None,
                              iterations: int = RL_ITERATIONS) -> np.ndarray:
    """Oracle Richardson-Lucy (true kernel, linear light, padded and edge-tapered borders)."""
    from skimage.restoration import richardson_lucy

    to_linear, to_display = _tone_maps(camera)
    lin = to_linear(blurry).astype(np.float64)
    h, w = lin.shape[:2]
    psf = np.asarray(kernel, np.float64)
    tapered = [_edge_taper(lin[..., c], psf) for c in range(3)]
    pad = tapered[0][1]
    padded = np.stack([t for t, _ in tapered], axis=2).astype(np.float32)
    out = richardson_lucy(np.clip(padded, 1e-4, 1.0), psf.astype(np.float32)[..., None],
                          num_iter=iterations, clip=True, filter_epsilon=1e-7)
    return to_display(out[pad:pad + h, pad:pad + w].astype(np.float32))


def metrics(out: np.ndarray, sharp: np.ndarray, border: int) -> dict[str, float]:
    return {"psnr": float(psnr(out, sharp, border)), "ssim": float(ssim(out, sharp, border))}


def references(evalset: EvalSet, border: int,
                progress: ProgressFn | None) -> list[dict[str, dict[str, float]]]:
    """Per image: {"wiener": {...}, "rl": {...}} (empty without a kernel); cached on the set."""
    if evalset.references is not None and evalset.references_border == border:
        return evalset.references
    refs: list[dict[str, dict[str, float]]] = []
    for i, img in enumerate(evalset.images):
        entry: dict[str, dict[str, float]] = {}
        if img.kernel is not None:
            t0 = time.perf_counter()
            out, balance = wiener_reference(img.blurry, img.sharp, img.kernel, img.camera)
            entry["wiener"] = {**metrics(out, img.sharp, border), "balance": balance,
                               "seconds": time.perf_counter() - t0}
            t0 = time.perf_counter()
            out = richardson_lucy_reference(img.blurry, img.kernel, img.camera)
            entry["rl"] = {**metrics(out, img.sharp, border),
                           "seconds": time.perf_counter() - t0}
            if progress is not None:
                progress(f"{evalset.name}: references {i + 1}/{len(evalset.images)}")
        refs.append(entry)
    evalset.references = refs
    evalset.references_border = border
    return refs
