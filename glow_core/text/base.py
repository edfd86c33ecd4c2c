"""The caption-encoder contract shared by every encoder and by the DiT's cross-attention.

Contract of ``encode(captions, max_tokens) -> (tokens, mask)``:

* ``tokens``: float32, ``B x max_tokens x dim``, on the encoder's device.
* ``mask``: bool, ``B x max_tokens``; True on real tokens, which always come first.
* ``L == max_tokens`` always (padded, or truncated for long captions).
* A caption that is empty or only whitespace gives an all-False mask row and all-zero
  tokens. The model relies on that to switch cross-attention off for that image (see
  :func:`has_caption`), so a blank caption field means "no guidance", never "guidance from
  the encoder's [CLS]/[SEP] or start/end tokens".
* Padded positions are zero, so even a consumer that forgot the mask sees nothing there.

:class:`BaseCaptionEncoder` enforces all of that once; concrete encoders only implement
``_encode_texts`` for the non-empty captions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class CaptionEncoder(Protocol):
    """What the engine and training need from a frozen caption encoder."""

    name: str
    dim: int

    def encode(self, captions: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        """Return ``(tokens B x max_tokens x dim float32, mask B x max_tokens bool)``."""
        ...


def is_blank_caption(caption: str) -> bool:
    """Blank captions (empty or whitespace) mean "no caption" for every encoder."""
    return not caption or not caption.strip()


def has_caption(mask: Tensor) -> Tensor:
    """Per-row bool ``B``: whether a caption row has any real token (else skip cross-attn)."""
    return mask.any(dim=-1)


class BaseCaptionEncoder(ABC):
    """Implements the padding / blank-caption / dtype rules of the contract once.

    Subclasses set ``name``, ``dim``, ``device`` and implement :meth:`_encode_texts`.
    """

    name: str
    dim: int
    device: torch.device

    @abstractmethod
    def _encode_texts(self, texts: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        """Encode non-blank texts: ``(tokens N x l x dim, mask N x l)`` with ``l <= max_tokens``."""

    def encode(self, captions: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        if isinstance(captions, str):
            raise TypeError("encode() takes a list of captions, not a single string")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        batch = len(captions)
        tokens = torch.zeros(batch, max_tokens, self.dim, dtype=torch.float32, device=self.device)
        mask = torch.zeros(batch, max_tokens, dtype=torch.bool, device=self.device)
        rows = [i for i, c in enumerate(captions) if not is_blank_caption(c)]
        if rows:
            texts = [captions[i].strip() for i in rows]
            got_tokens, got_mask = self._encode_texts(texts, max_tokens)
            length = min(got_tokens.shape[1], max_tokens)
            got_mask = got_mask[:, :length].to(device=self.device, dtype=torch.bool)
            got_tokens = got_tokens[:, :length].to(device=self.device, dtype=torch.float32)
            index = torch.tensor(rows, device=self.device)
            mask[index, :length] = got_mask
            tokens[index, :length] = got_tokens * got_mask.unsqueeze(-1)
        return tokens, mask

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, device={self.device})"
