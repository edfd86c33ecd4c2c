"""Building blocks shared by the GLOWDeblur parts.

Conv parts use NAFNet's recipe (LayerNorm, SimpleGate, Simplified Channel Attention, no
other nonlinearity). Channel attention pools over a *local* window instead of the whole
image: a photo restored in tiles must compute the same statistics in every tile, and the
network sees the same local pooling in training, so nothing shifts between the two
(NAFNet's TLC applied from the start).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.Module):
    """Channel LayerNorm at every pixel of an N x C x H x W map (tile-local by construction)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One fused pass over the channels (F.layer_norm on the channels-last view)
        # instead of six elementwise passes: at 1 MP the six cost ~0.3 s of the fast
        # path's 1.8 s on two CPU threads. Statistics in float32 for half inputs.
        dtype = x.dtype
        y = F.layer_norm(x.permute(0, 2, 3, 1).float(), (x.shape[1],),
                         self.weight.float(), self.bias.float(), self.eps)
        return y.permute(0, 3, 1, 2).to(dtype)


def box_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window around each pixel, ignoring positions outside the map.

    Computed with integral images, so the cost does not grow with the window. Summation
    runs in float32 (or float64 for very large maps) to keep half-precision inputs exact
    enough; windows that cover the whole map give exactly the global mean.
    """
    radius = max(window // 2, 0)
    if radius == 0:
        return x
    dtype = x.dtype
    n, c, h, w = x.shape
    acc = torch.float64 if h * w > 4_000_000 else torch.float32
    xf = x.to(acc)

    def axis_sums(t: torch.Tensor, dim: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Cumulative sums with a leading 0, extended by ``radius`` zeros before and
        # copies of the total after: a window's sum is then the difference of two
        # shifted slices, cs[i + 2r + 1] - cs[i], with no gather (``index_select`` of
        # the two bounds took a quarter of the fast path's time).
        shape = list(t.shape)
        shape[dim] = size + 2 * radius + 1
        cs = torch.empty(shape, dtype=t.dtype, device=t.device, memory_format=_layout(t))
        cs.narrow(dim, 0, radius + 1).zero_()
        _cumsum_into(cs.narrow(dim, radius + 1, size), t, dim)
        cs.narrow(dim, size + radius + 1, radius).copy_(cs.narrow(dim, size + radius, 1))
        sums = cs.narrow(dim, 2 * radius + 1, size) - cs.narrow(dim, 0, size)
        idx = torch.arange(size, device=t.device)
        count = (idx + radius + 1).clamp(max=size) - (idx - radius).clamp(min=0)
        return sums, count.to(acc)

    s, count_w = axis_sums(xf, 3, w)
    s, count_h = axis_sums(s, 2, h)
    counts = count_h.view(1, 1, h, 1) * count_w.view(1, 1, 1, w)
    return (s / counts).to(dtype)


def _cumsum_into(out: torch.Tensor, t: torch.Tensor, dim: int) -> None:
    """``out = t.cumsum(dim)``, fast for channels-last maps on the CPU.

    torch's CPU cumsum along a dimension that is not the innermost one is slow (on a
    channels-last 32 x 1024 x 1024 map along W 0.29 s, along H 0.43 s, 2 threads): there
    a running sum over the slices, each a dense (H or W) x C block, does the same
    additions in order in 0.12 / 0.10 s. Elsewhere (CUDA, contiguous maps) torch's own.
    """
    if t.device.type != "cpu" or t.dim() != 4 or dim < 2 \
            or not t.is_contiguous(memory_format=torch.channels_last):
        out.copy_(t.cumsum(dim))
        return
    out.copy_(t)
    prev = out.select(dim, 0)
    for i in range(1, t.shape[dim]):
        cur = out.select(dim, i)
        cur.add_(prev)
        prev = cur


def _layout(t: torch.Tensor) -> torch.memory_format:
    """Channels-last when ``t`` is (the engine's CPU / CUDA layout), so passes stay dense."""
    if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class SimpleGate(nn.Module):
    """Split channels in two halves and multiply them: the only nonlinearity NAFNet needs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class LocalChannelAttention(nn.Module):
    """Simplified Channel Attention with locally pooled statistics (see module docstring)."""

    def __init__(self, channels: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.proj(box_mean(x, self.window))


class NAFBlock(nn.Module):
    """NAFNet block: (LN, 1x1, dw3x3, SimpleGate, SCA, 1x1) + gated FFN, residual scales."""

    def __init__(self, channels: int, window: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = channels * dw_expand
        self.norm1 = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.gate = SimpleGate()
        self.sca = LocalChannelAttention(dw // 2, window)
        self.conv3 = nn.Conv2d(dw // 2, channels, 1)
        ffn = channels * ffn_expand
        self.norm2 = LayerNorm2d(channels)
        self.conv4 = nn.Conv2d(channels, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, channels, 1)
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.sca(self.gate(self.conv2(self.conv1(self.norm1(x))))))
        x = x + y * self.beta
        y = self.conv5(self.gate(self.conv4(self.norm2(x))))
        return x + y * self.gamma


def level_window(stat_window: int, level: int) -> int:
    """A statistics window fixed in full-resolution pixels, expressed at a U-Net level."""
    return max(3, stat_window >> level)


class ResBlock(nn.Module):
    """Residual conv block for the autoencoder (norm, conv, SiLU, conv)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.SiLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(self.norm(x))))


class LinearAttention(nn.Module):
    """ReLU linear attention (Sana's LiteLA): cost linear in the number of tokens.

    The key-value products are accumulated in float32, as Sana does, since half-precision
    sums over thousands of tokens overflow.
    """

    def __init__(self, width: int, heads: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, width * 3)
        self.out = nn.Linear(width, width)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = (t.float() for t in qkv)
        q, k = F.relu(q), F.relu(k)
        kv = torch.einsum("bhnd,bhne->bhde", k, v)
        k_sum = k.sum(dim=2, keepdim=True)
        num = torch.einsum("bhnd,bhde->bhne", q, kv)
        den = (q * k_sum).sum(-1, keepdim=True) + self.eps
        y = (num / den).transpose(1, 2).reshape(b, n, c).to(x.dtype)
        return self.out(y)


class CrossAttention(nn.Module):
    """Softmax cross-attention from image tokens to caption tokens.

    A learned null token is always attendable, so an empty caption (all tokens masked)
    gives a well-defined result instead of a softmax over nothing.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, width * 2)
        self.out = nn.Linear(width, width)
        self.null = nn.Parameter(torch.zeros(1, 1, width))

    def forward(self, x: torch.Tensor, ctx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        ctx = torch.cat([self.null.expand(b, -1, -1).to(ctx.dtype), ctx], dim=1)
        mask = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=mask.device), mask], dim=1)
        h, d = self.heads, c // self.heads
        q = self.q(x).view(b, n, h, d).transpose(1, 2)
        k, v = self.kv(ctx).view(b, -1, 2, h, d).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return self.out(y.transpose(1, 2).reshape(b, n, c))


class MixFFN(nn.Module):
    """Mix-FFN: 1x1 expand, depthwise 3x3 (local position cue), gate, 1x1."""

    def __init__(self, width: int, ratio: float) -> None:
        super().__init__()
        hidden = int(width * ratio)
        self.expand = nn.Conv2d(width, hidden * 2, 1)
        self.dw = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2)
        self.act = nn.SiLU()
        self.proj = nn.Conv2d(hidden, width, 1)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        b, n, c = x.shape
        y = x.transpose(1, 2).reshape(b, c, height, width)
        a, g = self.dw(self.expand(y)).chunk(2, dim=1)
        y = self.proj(a * self.act(g))
        return y.flatten(2).transpose(1, 2)


def resample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-average down to `size` (or repeat up to it); tile-aligned for powers of two."""
    h, w = x.shape[-2:]
    if (h, w) == size:
        return x
    if h >= size[0] and w >= size[1]:
        return F.avg_pool2d(x, (h // size[0], w // size[1]))
    return F.interpolate(x, size=size, mode="nearest")
