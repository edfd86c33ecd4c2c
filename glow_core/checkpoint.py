"""Checkpoints: safetensors with the model config in the metadata; nothing is unpickled.

A checkpoint rebuilds its own network (the config travels with the weights), names the
caption encoder its DiT was trained with, and is identified by its SHA-256, which the
bundled manifest records so a damaged or swapped file is caught before it is used.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from glow_core.config import GlowConfig
from glow_core.errors import CheckpointError
from glow_core.fsutil import atomic_write, atomic_write_text, sha256_of
from glow_core.models import GlowDeblur
from glow_core.resources import MANIFEST_NAME

FORMAT = "glow-deblur/1"
MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass
class CheckpointInfo:
    path: Path
    config: GlowConfig
    sha256: str
    stages: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def save_checkpoint(path: str | Path, model: GlowDeblur, *, stages: list[str] | None = None,
                    dtype: torch.dtype = torch.float32,
                    extra: dict[str, Any] | None = None) -> str:
    """Write `model` atomically as safetensors; return the file's SHA-256.

    `stages` names the parts that have been trained (the engine refuses the full path on a
    checkpoint whose DiT was never trained, instead of returning noise). Floating tensors
    may be stored as float16 to halve the file; they load back into float32 modules.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu()
        if t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    metadata = {
        "format": FORMAT,
        "glow_config": model.config.to_json(),
        "text_encoder": model.config.text_encoder,
        "stages": json.dumps(sorted(stages or [])),
    }
    for key, value in (extra or {}).items():
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    with atomic_write(path, "path") as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return sha256_of(path)


def _check_container(path: Path) -> None:
    """Reject anything that is not a safetensors file before any parser sees it."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) == 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        if header_len <= MAX_HEADER_BYTES and 8 + header_len <= size and head[8:9] == b"{":
            return
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise CheckpointError(
            f"{path} is a PyTorch pickle; GLOW Deblur only loads .safetensors checkpoints "
            "(pickles can run code). Convert it with safetensors.torch.save_file."
        )
    raise CheckpointError(f"{path} is not a safetensors file (bad header)")


def read_info(path: str | Path, expected_sha256: str | None = None) -> CheckpointInfo:
    """Read and validate a checkpoint's metadata without loading its tensors."""
    path = Path(path)
    _check_container(path)
    digest = sha256_of(path)
    if expected_sha256 and digest != expected_sha256.lower():
        raise CheckpointError(
            f"{path} does not match its recorded SHA-256 (expected {expected_sha256[:12]}…, "
            f"found {digest[:12]}…): the file is damaged or was replaced."
        )
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = dict(fh.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path} could not be read as safetensors: {exc}") from exc
    if metadata.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a GLOW Deblur checkpoint (format {metadata.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    try:
        config = GlowConfig.from_json(metadata["glow_config"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} has no usable model config in its metadata ({exc})") from exc
    stages = json.loads(metadata.get("stages", "[]"))
    return CheckpointInfo(path=path, config=config, sha256=digest, stages=stages,
                          metadata=metadata)


def load_checkpoint(path: str | Path, expected_sha256: str | None = None,
                    device: str | torch.device = "cpu") -> tuple[GlowDeblur, CheckpointInfo]:
    """Build the network the checkpoint describes and load its weights (strictly)."""
    info = read_info(path, expected_sha256)
    model = GlowDeblur(info.config)
    state: dict[str, torch.Tensor] = {}
    with safe_open(str(info.path), framework="pt", device="cpu") as fh:
        for key in fh.keys():  # noqa: SIM118 - safe_open is not a mapping
            state[key] = fh.get_tensor(key)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not fit its own config: {len(missing)} missing and "
            f"{len(unexpected)} unexpected tensors (e.g. {(missing or unexpected)[:3]})"
        )
    for key, value in state.items():
        if value.shape != own[key].shape:
            raise CheckpointError(f"{path}: tensor {key} has shape {tuple(value.shape)}, "
                                  f"config expects {tuple(own[key].shape)}")
        state[key] = value.to(own[key].dtype)
    model.load_state_dict(state)
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, info


# --------------------------------------------------------------------------- manifest
def read_manifest(weights_dir: str | Path) -> dict[str, Any]:
    path = Path(weights_dir) / MANIFEST_NAME
    if not path.is_file():
        return {"default": None, "weights": []}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"weights manifest {path} is not valid JSON: {exc}") from exc


def manifest_entry(weights_dir: str | Path, file_name: str) -> dict[str, Any] | None:
    for entry in read_manifest(weights_dir).get("weights", []):
        if entry.get("file") == file_name:
            return entry
    return None


def write_manifest_entry(weights_dir: str | Path, entry: dict[str, Any],
                         make_default: bool = True) -> None:
    """Add or replace one entry (keyed by file name), atomically."""
    weights_dir = Path(weights_dir)
    manifest = read_manifest(weights_dir)
    entries = [e for e in manifest.get("weights", []) if e.get("file") != entry["file"]]
    entries.append(entry)
    manifest["weights"] = entries
    if make_default or not manifest.get("default"):
        manifest["default"] = entry["file"]
    atomic_write_text(weights_dir / MANIFEST_NAME,
                      json.dumps(manifest, indent=2, sort_keys=True) + "\n")
