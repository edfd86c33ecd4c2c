"""``hash-tiny``: a dependency-free, deterministic caption encoder (dim 32).

Used by the ``tiny`` preset in tests and as a fallback when no real encoder can load. It has
no weights file: each word and each of its character trigrams is hashed (BLAKE2b, stable
across processes and platforms, unlike Python's ``hash``) into a fixed embedding table drawn
from a seeded generator; a token's vector is its word row plus the mean of its trigram rows
(so "deblur" and "deblurred" are near), plus a sinusoidal position code. The result carries
a little lexical signal and is bit-for-bit reproducible, which is all tests need.
"""

from __future__ import annotations

import hashlib
import math
import re

import torch
from torch import Tensor

from .base import BaseCaptionEncoder

# Words (any script: \w is Unicode-aware) or single punctuation marks.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _bucket(text: str, buckets: int) -> int:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % buckets


def _sinusoid(length: int, dim: int) -> Tensor:
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    code = torch.zeros(length, dim, dtype=torch.float64)
    code[:, 0::2] = torch.sin(position * freq)
    code[:, 1::2] = torch.cos(position * freq)
    return code.float()


class HashTinyEncoder(BaseCaptionEncoder):
    """Deterministic hashing encoder; see the module docstring."""

    def __init__(self, device: str | torch.device = "cpu", *, dim: int = 32,
                 buckets: int = 4096, seed: int = 1234, name: str = "hash-tiny") -> None:
        if dim % 2:
            raise ValueError("dim must be even (sin/cos position code)")
        self.name = name
        self.dim = dim
        self.buckets = buckets
        self.device = torch.device(device)
        generator = torch.Generator().manual_seed(seed)
        table = torch.randn(buckets, dim, generator=generator) / math.sqrt(dim)
        self._table = table.to(self.device)

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return _TOKEN_RE.findall(text.lower())

    def _token_vector(self, word: str) -> Tensor:
        padded = f"<{word}>"
        grams = [padded[i:i + 3] for i in range(max(1, len(padded) - 2))]
        rows = [_bucket("w:" + word, self.buckets)]
        gram_rows = [_bucket("g:" + g, self.buckets) for g in grams]
        word_vec = self._table[rows[0]]
        gram_vec = self._table[gram_rows].mean(dim=0)
        return word_vec + gram_vec

    def _encode_texts(self, texts: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        tokens = torch.zeros(len(texts), max_tokens, self.dim, device=self.device)
        mask = torch.zeros(len(texts), max_tokens, dtype=torch.bool, device=self.device)
        position = _sinusoid(max_tokens, self.dim).to(self.device) * 0.5
        for row, text in enumerate(texts):
            words = self.tokenize(text)[:max_tokens]
            for col, word in enumerate(words):
                tokens[row, col] = self._token_vector(word) + position[col]
            mask[row, : len(words)] = True
        return tokens, mask
