"""``openclip:<arch>[@<weights>]``: token states of an open_clip text tower.

What we return: the per-token output of the text transformer *after* ``ln_final`` and
*before* pooling/projection (``B x L x width``), i.e. what CLIP pools its EOT token from.
Mask: CLIP's tokenizer writes ``[SOT] tokens... [EOT]`` then pads with id 0 -- but id 0 is
also a real BPE token ("!"), so the mask is built from positions (``<=`` the first EOT), not
from ``id != 0``. Captions longer than ``max_tokens`` are tokenized at that length, so the
tokenizer's own truncation keeps an EOT as the last token; the ids are then zero-padded to the
model's context length (the positional table is fixed) and, CLIP's text attention being
causal, the states of the kept positions do not see the padding.

Where weights come from (never a hub call unless the user asked for a download):

1. ``openclip:ViT-B-32@/path/file.safetensors`` or ``get_encoder(..., pretrained="/path")``;
2. else the user cache, ``<cache>/openclip/<arch>.safetensors`` or ``<arch>-<tag>.safetensors``
   (what :func:`fetch_openclip_weights` writes);
3. else, only with ``download=True`` (an explicit user action): a checksummed download of
   ``pretrained=<tag>`` (default ``"openai"``) via :mod:`glow_core.text.captions.download`.
   Only sources whose SHA-256 is known are offered (OpenAI's URLs embed it); the ``.pt`` TorchScript
   archive is converted once to safetensors so later loads never unpickle anything.

OpenAI-trained weights need QuickGELU: files named ``<arch>-openai.*`` get
``force_quick_gelu``; for your own file pick the matching arch (e.g. ``ViT-B-32-quickgelu``).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from glow_core.fsutil import atomic_write

from ..base import BaseCaptionEncoder
from ..offline import hub_offline
from .download import DownloadError, cache_dir, download_file
from .torchvision_compat import import_open_clip

PREFIX = "openclip:"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def parse_name(name: str) -> tuple[str, Path | None]:
    """``"openclip:ViT-B-32@/w.safetensors"`` -> ``("ViT-B-32", Path("/w.safetensors"))``."""
    if not name.startswith(PREFIX):
        raise ValueError(f"not an open_clip encoder name: {name!r}")
    rest = name[len(PREFIX):]
    arch, _, path = rest.partition("@")
    if not arch:
        raise ValueError(f"missing architecture in {name!r} (e.g. 'openclip:ViT-B-32')")
    return arch, (Path(path).expanduser() if path else None)


def openclip_cache_dir() -> Path:
    return cache_dir() / "openclip"


def find_cached_weights(arch: str, directory: Path | None = None) -> Path | None:
    """``<arch>.<ext>`` first, then ``<arch>-<tag>.<ext>``, in ``directory`` (default cache)."""
    directory = directory or openclip_cache_dir()
    for suffix in WEIGHT_SUFFIXES:
        candidate = directory / f"{arch}{suffix}"
        if candidate.is_file():
            return candidate
    if directory.is_dir():
        tagged = sorted(p for p in directory.iterdir()
                        if p.stem.startswith(f"{arch}-") and p.suffix in WEIGHT_SUFFIXES
                        and not p.name.endswith(".part"))
        if tagged:
            return tagged[0]
    return None


def _known_source(arch: str, tag: str) -> tuple[str, str]:
    """(url, sha256) for ``arch``/``tag`` if the checksum is known, else raise DownloadError."""
    open_clip = import_open_clip()
    base = arch.removesuffix("-quickgelu")
    cfg = open_clip.get_pretrained_cfg(base, tag) or open_clip.get_pretrained_cfg(arch, tag)
    url = (cfg or {}).get("url", "")
    if "openaipublic" in url:
        return url, url.rstrip("/").split("/")[-2]
    raise DownloadError(
        f"no checksummed download is known for open_clip {arch!r} / {tag!r}. Download the "
        f"weights yourself and put them at {openclip_cache_dir() / (arch + '.safetensors')} "
        f"or pass 'openclip:{arch}@/path/to/weights'."
    )


def _convert_torchscript(src: Path, dest: Path) -> Path:
    """Turn OpenAI's TorchScript ``.pt`` into safetensors (one time, right after download)."""
    from safetensors.torch import save_file

    module = torch.jit.load(str(src), map_location="cpu")
    state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()
             if k not in ("input_resolution", "context_length", "vocab_size")}
    with atomic_write(dest, "path") as tmp:
        save_file(state, str(tmp))
    return dest


def fetch_openclip_weights(arch: str, tag: str = "openai", *, show_progress: bool = True,
                           progress=None) -> Path:
    """Download (checked, resumable) weights for ``arch`` into the cache; return the file.

    Only call this on an explicit user request: it is the one place that uses the network.
    """
    final = openclip_cache_dir() / f"{arch}-{tag}.safetensors"
    if final.is_file():
        return final
    url, sha = _known_source(arch, tag)
    raw = openclip_cache_dir() / f"{arch}-{tag}{Path(url).suffix or '.pt'}"
    download_file(url, raw, sha, show_progress=show_progress, progress=progress)
    if raw.suffix == ".safetensors":
        return raw
    _convert_torchscript(raw, final)
    raw.unlink(missing_ok=True)
    return final


def load_openclip_model(arch: str, weights: Path, device: str | torch.device = "cpu") -> nn.Module:
    """Build ``arch`` with local ``weights`` (no hub access), fp32, eval, frozen, on ``device``."""
    open_clip = import_open_clip()
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"open_clip weights not found: {weights}")
    with hub_offline():
        model = open_clip.create_model(
            arch,
            pretrained=str(weights),
            device=torch.device(device),
            force_quick_gelu=weights.stem.endswith("-openai"),
            pretrained_text=False,  # never fetch tower weights from a hub
        )
    return model.float().eval().requires_grad_(False)


def text_context_length(model: nn.Module) -> int:
    text = getattr(model, "text", None)
    return int(getattr(model, "context_length", None) or text.context_length)


def text_token_states(model: nn.Module, ids: Tensor) -> Tensor:
    """Per-token text states after ``ln_final``, before pooling (``B x ctx x width``)."""
    if hasattr(model, "token_embedding"):  # open_clip.CLIP keeps the text tower inline
        cast_dtype = model.transformer.get_cast_dtype()
        x = model.token_embedding(ids).to(cast_dtype)
        x = x + model.positional_embedding.to(cast_dtype)
        x = model.transformer(x, attn_mask=model.attn_mask)
        return model.ln_final(x)
    text = getattr(model, "text", None)
    if text is not None and hasattr(text, "_embeds") and hasattr(text, "ln_final"):
        x, attn_mask = text._embeds(ids)  # CustomTextCLIP / CoCa TextTransformer
        x = text.transformer(x, attn_mask=attn_mask)
        if getattr(text, "cls_emb", None) is not None:
            x = x[:, :-1]  # CoCa appends a class token; drop it
        return text.ln_final(x)
    raise NotImplementedError(
        f"{type(model).__name__}: only open_clip's own text transformers are supported "
        "(not Hugging Face text towers)"
    )


class OpenCLIPEncoder(BaseCaptionEncoder):
    """open_clip text tower token states; see the module docstring."""

    def __init__(self, arch: str, weights: Path, device: str | torch.device = "cpu") -> None:
        open_clip = import_open_clip()
        self.arch = arch
        self.weights = Path(weights)
        # The canonical name (no local path): what a checkpoint records, see
        # registry.canonical_name.
        self.name = f"{PREFIX}{arch}"
        self.device = torch.device(device)
        self.model = load_openclip_model(arch, self.weights, self.device)
        with hub_offline():
            self.tokenizer = open_clip.get_tokenizer(arch)
        self.context_length = text_context_length(self.model)
        probe = torch.zeros(1, self.context_length, dtype=torch.long, device=self.device)
        with torch.inference_mode():
            self.dim = int(text_token_states(self.model, probe).shape[-1])

    @classmethod
    def from_name(cls, name: str, device: str | torch.device = "cpu", *,
                  pretrained: str | os.PathLike | None = None,
                  download: bool = False) -> OpenCLIPEncoder:
        """Resolve weights as the module docstring says, then load."""
        arch, path = parse_name(name)
        if path is None and pretrained is not None:
            candidate = Path(pretrained).expanduser()
            if candidate.is_file() or candidate.suffix in WEIGHT_SUFFIXES:
                path = candidate
        if path is not None:
            if not path.is_file():
                raise FileNotFoundError(f"open_clip weights for {name!r} not found at {path}")
            return cls(arch, path, device)
        tag = str(pretrained) if pretrained is not None else "openai"
        cached = openclip_cache_dir() / f"{arch}-{tag}.safetensors"
        found = cached if cached.is_file() else (
            find_cached_weights(arch) if pretrained is None else None)
        if found is None and download:
            found = fetch_openclip_weights(arch, tag)
        if found is None:
            raise FileNotFoundError(
                f"no weights for caption encoder {name!r}: put them at "
                f"{openclip_cache_dir() / (arch + '.safetensors')}, use "
                f"'openclip:{arch}@/path/to/weights.safetensors', or allow a download "
                f"(get_encoder({name!r}, download=True))."
            )
        return cls(arch, found, device)

    def tokenize(self, texts: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        """``(ids B x ctx, mask B x n)`` with ``n = min(max_tokens, ctx)``."""
        n = min(max_tokens, self.context_length)
        if n < 2:
            n = 2  # [SOT] [EOT]; the base class cuts to max_tokens afterwards
        ids = self.tokenizer(texts, context_length=n)
        eot = getattr(self.tokenizer, "eot_token_id", None)
        positions = torch.arange(n).unsqueeze(0)
        if eot is not None:
            is_eot = ids == eot
            fallback = torch.full_like(ids[:, 0], n - 1)
            last = torch.where(is_eot.any(1), is_eot.int().argmax(1), fallback)
            mask = positions <= last.unsqueeze(1)
        else:
            pad = getattr(self.tokenizer, "pad_token_id", 0) or 0
            mask = ids != pad
        full = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        full[:, :n] = ids
        return full, mask

    def _encode_texts(self, texts: list[str], max_tokens: int) -> tuple[Tensor, Tensor]:
        ids, mask = self.tokenize(texts, max_tokens)
        with torch.inference_mode():
            states = text_token_states(self.model, ids.to(self.device))
        n = mask.shape[1]
        return states[:, :n].float().clone(), mask.to(self.device)
