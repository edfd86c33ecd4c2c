"""FFT helpers for kernel estimation and deconvolution (torch, any device).

Conventions (shared by the whole ``glow_core.kernel`` package):

* Kernels are stored in the orientation of the data README:
  ``blurred = scipy.signal.convolve(sharp, k, mode="same")``. The kernel's *centre*
  (zero shift) is the index ``((kh - 1) // 2, (kw - 1) // 2)``, which is what
  ``mode="same"`` uses for both odd and even sizes.
* Optical transfer functions are **real-input half spectra** (``torch.fft.rfft2``) of
  shape ``(..., H, W // 2 + 1)``: half the memory and time of ``fft2`` and every image
  here is real. Invert with ``torch.fft.irfft2(..., s=(H, W))``.
* Gradients are circular forward differences, ``dx[i, j] = x[i, j + 1] - x[i, j]``
  (wrapping), so their transposes and OTFs are exact and FFT solves are closed form.
"""

from __future__ import annotations

import math

import torch


def kernel_centre(kh: int, kw: int) -> tuple[int, int]:
    """Zero-shift index of a ``kh x kw`` kernel under scipy ``mode="same"``."""
    return (kh - 1) // 2, (kw - 1) // 2


def psf2otf(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Half-spectrum OTF (``rfft2``) of a centred kernel for a circular ``shape`` image.

    The kernel is zero-padded to ``shape`` and circularly shifted so its centre lands
    on index (0, 0); then multiplying spectra is circular convolution with the same
    orientation as ``scipy.signal.convolve``. Leading batch dimensions are kept.
    """
    kh, kw = kernel.shape[-2:]
    h, w = shape
    if kh > h or kw > w:
        raise ValueError(f"kernel {kh}x{kw} larger than image {h}x{w}")
    pad = kernel.new_zeros(kernel.shape[:-2] + (h, w))
    pad[..., :kh, :kw] = kernel
    cy, cx = kernel_centre(kh, kw)
    pad = torch.roll(pad, shifts=(-cy, -cx), dims=(-2, -1))
    return torch.fft.rfft2(pad)


def otf2psf(otf: torch.Tensor, shape: tuple[int, int], ksize: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`psf2otf`: the centred ``ksize`` kernel of a half-spectrum OTF."""
    kh, kw = ksize
    full = torch.fft.irfft2(otf, s=shape)
    cy, cx = kernel_centre(kh, kw)
    full = torch.roll(full, shifts=(cy, cx), dims=(-2, -1))
    return full[..., :kh, :kw]


def fft_convolve(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Circular convolution of ``image`` (..., H, W) with a centred kernel (scipy orientation)."""
    h, w = image.shape[-2:]
    otf = psf2otf(kernel.to(image.dtype), (h, w))
    return torch.fft.irfft2(torch.fft.rfft2(image) * otf, s=(h, w))


def conv2_same(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Zero-padded linear convolution, identical to ``scipy.signal.convolve(mode="same")``.

    Done by FFT on a zero-padded canvas (cost independent of kernel size, which
    matters for 70 px kernels).
    """
    h, w = image.shape[-2:]
    kh, kw = kernel.shape[-2:]
    fh, fw = fast_size(h + kh - 1), fast_size(w + kw - 1)
    spec = torch.fft.rfft2(image, s=(fh, fw)) * torch.fft.rfft2(kernel.to(image.dtype), s=(fh, fw))
    full = torch.fft.irfft2(spec, s=(fh, fw))
    cy, cx = kernel_centre(kh, kw)
    return full[..., cy : cy + h, cx : cx + w]


def fast_size(n: int, *, even: bool = False) -> int:
    """Smallest integer >= n whose prime factors are 2, 3 and 5 (fast FFT sizes).

    ``even``: also a multiple of 2. Measured with torch's CPU FFT (MKL, one thread, 3 x
    ~1.1 MP): odd sizes such as 1125 = 3^2 5^3 or 1215 take 1.5x the time of a forward
    real FFT of the next even one (14 against 8 ms/MP), so the deconvolution, which does
    ~200 FFTs per window, asks for even sizes.
    """
    n = max(int(n), 1)
    while True:
        if even and n % 2:
            n += 1
            continue
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _taper(n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Cosine weights going from ~1 (next to the image) to ~0 (at the wrap seam)."""
    t = (torch.arange(n, device=device, dtype=dtype) + 0.5) / n
    return 0.5 + 0.5 * torch.cos(math.pi * t)


def extend_periodic(
    image: torch.Tensor, margin: int, *, fast: bool = True, even: bool = False
) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Extend ``image`` (..., H, W) so it is smoothly periodic, for FFT work.

    Each side gets at least ``margin`` pixels (more when ``fast`` rounds the size up to
    an FFT-friendly one, even too with ``even``: see :func:`fast_size`). The margin is a
    mirror of the image blended with a cosine taper into a heavily blurred *circular*
    version of the mirrored canvas: next to the image the values continue it (mirror, so
    no step), at the wrap seam they equal a smooth field that is itself periodic, and
    the taper has zero slope there, so the wrap has neither a step nor a kink in value.
    Circular FFTs then do not ring at the borders (the role of Liu & Jia 2008's boundary
    extension), and a blurred border can be explained by latent pixels that live in the
    margin.

    Returns ``(padded, crop)`` with ``crop = (top, left, H, W)``; undo with
    :func:`crop_back`.
    """
    h, w = image.shape[-2:]
    margin = int(margin)
    if margin <= 0:
        return image, (0, 0, h, w)
    ph = fast_size(h + 2 * margin, even=even) if fast else h + 2 * margin
    pw = fast_size(w + 2 * margin, even=even) if fast else w + 2 * margin
    top, left = (ph - h) // 2, (pw - w) // 2
    bottom, right = ph - h - top, pw - w - left
    # Mirror pad; torch's reflect needs pad < size, so repeat if the margin is huge.
    x = image.reshape((-1, 1, h, w))
    padded = x
    pt, pb, pl, pr = top, bottom, left, right
    while pt or pb or pl or pr:
        ch, cw = padded.shape[-2:]
        st, sb = min(pt, ch - 1), min(pb, ch - 1)
        sl, sr = min(pl, cw - 1), min(pr, cw - 1)
        padded = torch.nn.functional.pad(padded, (sl, sr, st, sb), mode="reflect")
        pt, pb, pl, pr = pt - st, pb - sb, pl - sl, pr - sr
    padded = padded.reshape(image.shape[:-2] + (ph, pw))
    # Smooth periodic field: strong circular Gaussian blur of the mirrored canvas.
    sigma = max(margin / 2.0, 2.0)
    fy = torch.fft.fftfreq(ph, device=image.device, dtype=image.dtype)
    fx = torch.fft.rfftfreq(pw, device=image.device, dtype=image.dtype)
    g = torch.exp(-2 * (math.pi * sigma) ** 2 * (fy[:, None] ** 2 + fx[None, :] ** 2))
    smooth = torch.fft.irfft2(torch.fft.rfft2(padded) * g, s=(ph, pw))
    # Weight: 1 inside, cosine taper to 0 towards the seam, separable.
    wy = torch.ones(ph, device=image.device, dtype=image.dtype)
    wx = torch.ones(pw, device=image.device, dtype=image.dtype)
    if top:
        wy[:top] = _taper(top, image.device, image.dtype).flip(0)
    if bottom:
        wy[top + h :] = _taper(bottom, image.device, image.dtype)
    if left:
        wx[:left] = _taper(left, image.device, image.dtype).flip(0)
    if right:
        wx[left + w :] = _taper(right, image.device, image.dtype)
    weight = wy[:, None] * wx[None, :]
    out = weight * padded + (1 - weight) * smooth
    return out, (top, left, h, w)


def crop_back(padded: torch.Tensor, crop: tuple[int, int, int, int]) -> torch.Tensor:
    """Undo :func:`extend_periodic`."""
    top, left, h, w = crop
    return padded[..., top : top + h, left : left + w]


def _circular_diff(x: torch.Tensor, dim: int, ahead: bool) -> torch.Tensor:
    """``roll(x, -1, dim) - x`` (``ahead``) or ``roll(x, 1, dim) - x``, written from slices
    into one new tensor: the same values as the rolls, without their copies (the L0 latent
    step calls this ~30 times per update; the rolls were ~40 % of its time)."""
    n = x.shape[dim]
    out = torch.empty_like(x)
    if ahead:  # out[i] = x[i + 1] - x[i], out[n - 1] = x[0] - x[n - 1]
        torch.sub(x.narrow(dim, 1, n - 1), x.narrow(dim, 0, n - 1),
                  out=out.narrow(dim, 0, n - 1))
        torch.sub(x.narrow(dim, 0, 1), x.narrow(dim, n - 1, 1), out=out.narrow(dim, n - 1, 1))
    else:  # out[i] = x[i - 1] - x[i], out[0] = x[n - 1] - x[0]
        torch.sub(x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1),
                  out=out.narrow(dim, 1, n - 1))
        torch.sub(x.narrow(dim, n - 1, 1), x.narrow(dim, 0, 1), out=out.narrow(dim, 0, 1))
    return out


def gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Circular forward differences ``(dx, dy)`` of (..., H, W)."""
    return _circular_diff(x, -1, True), _circular_diff(x, -2, True)


def gradients_t(dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`gradients`: ``Dx^T dx + Dy^T dy`` (a negative divergence)."""
    return _circular_diff(dx, -1, False).add_(_circular_diff(dy, -2, False))


def otf_of_gradients(
    shape: tuple[int, int],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Half-spectrum OTFs of :func:`gradients` (``rfft2`` convention, shape (H, W//2+1)).

    ``Dx`` multiplies the spectrum by ``exp(2 pi i u / W) - 1``; written out in closed
    form so it is exact and costs no FFT.
    """
    h, w = shape
    ctype = torch.complex64 if dtype == torch.float32 else torch.complex128
    fy = torch.fft.fftfreq(h, device=device, dtype=dtype)
    fx = torch.fft.rfftfreq(w, device=device, dtype=dtype)
    ox = torch.exp(2j * math.pi * fx.to(ctype)) - 1
    oy = torch.exp(2j * math.pi * fy.to(ctype)) - 1
    otf_x = ox[None, :].expand(h, fx.shape[0])
    otf_y = oy[:, None].expand(h, fx.shape[0])
    return otf_x, otf_y
