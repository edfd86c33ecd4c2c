"""Checkpoints: safetensors with the model config in the metadata; nothing is unpickled.

A checkpoint rebuilds its own network (the config travels with the weights), names the
caption encoder its DiT was trained with, and verifies itself: at export the SHA-256 of
its content (every tensor's name, dtype, shape and bytes in name order, then the other
metadata) is stored in the safetensors metadata under ``glow_content_sha256``, and every
load recomputes it, so one flipped bit anywhere in the weights is a clear error naming
the file, with or without a manifest. The bundled manifest also records each file's
SHA-256. Checkpoints written before the digest existed load only when a ``manifest.json``
beside them lists their file SHA-256; otherwise the error says how to re-export them
(``python -m training ship --reexport OLD NEW``).
"""

from __future__ import annotations

import contextlib
import hashlib
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
#: Metadata key holding the SHA-256 of the checkpoint's content (see module docstring).
DIGEST_KEY = "glow_content_sha256"

_SAFETENSORS_DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


@dataclass
class CheckpointInfo:
    path: Path
    config: GlowConfig
    sha256: str
    stages: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    #: how the content was verified: "digest" (its own), "manifest" (file SHA-256 listed
    #: beside it or passed in) or "unverified" (re-export only)
    verified_by: str = "digest"


def _content_digest(tensors: list[tuple[str, str, list[int], bytes | memoryview]],
                    metadata: dict[str, str]) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of every tensor in name order, then the
    metadata without the digest itself."""
    h = hashlib.sha256(b"glow-content/1\0")
    for name, dtype, shape, data in sorted(tensors, key=lambda t: t[0]):
        h.update(json.dumps([name, dtype, list(shape), len(data)]).encode("utf-8"))
        h.update(data)
    rest = {k: v for k, v in metadata.items() if k != DIGEST_KEY}
    h.update(json.dumps(rest, sort_keys=True).encode("utf-8"))
    return h.hexdigest()


def _tensor_entry(name: str, t: torch.Tensor) -> tuple[str, str, list[int], bytes]:
    if t.dtype not in _SAFETENSORS_DTYPES:
        raise CheckpointError(f"tensor {name} has dtype {t.dtype}, which checkpoints do not store")
    raw = t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return name, _SAFETENSORS_DTYPES[t.dtype], list(t.shape), raw


def file_content_digest(path: str | Path) -> tuple[str, str | None]:
    """``(computed, stored)`` content digests of a safetensors file (stored may be None)."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + header_len:]
    tensors = [(name, spec["dtype"], spec["shape"],
                body[spec["data_offsets"][0]:spec["data_offsets"][1]])
               for name, spec in header.items()]
    return _content_digest(tensors, metadata), metadata.get(DIGEST_KEY)


def write_safetensors(path: str | Path, tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str]) -> str:
    """The one checkpoint writer: atomic, content digest added; returns the file SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {k: v for k, v in metadata.items() if k != DIGEST_KEY}
    metadata[DIGEST_KEY] = _content_digest(
        [_tensor_entry(name, t) for name, t in tensors.items()], metadata)
    with atomic_write(path, "path") as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return sha256_of(path)


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
    return write_safetensors(path, tensors, metadata)


def reexport_checkpoint(source: str | Path, target: str | Path) -> str:
    """Rewrite ``source`` as ``target`` with the content digest (same tensors, same dtypes).

    For checkpoints written before the digest existed. A source that carries a digest is
    still verified first (a damaged file is not blessed by re-exporting it). Returns the
    new file's SHA-256.
    """
    source, target = Path(source), Path(target)
    info = read_info(source, allow_unverified=True)
    if source.resolve() == target.resolve():
        raise CheckpointError(f"re-export {source} into a new file, not over itself")
    with safe_open(str(source), framework="pt", device="cpu") as fh:
        tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118
    return write_safetensors(target, tensors, info.metadata)


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


def _listed_in_manifest(path: Path, digest: str) -> bool:
    with contextlib.suppress(CheckpointError, OSError):
        entry = manifest_entry(path.parent, path.name)
        return bool(entry) and str(entry.get("sha256", "")).lower() == digest
    return False


def read_info(path: str | Path, expected_sha256: str | None = None, *,
              allow_unverified: bool = False) -> CheckpointInfo:
    """Read and validate a checkpoint's metadata and verify its content digest.

    Raises :class:`CheckpointError` naming the file when the content does not match the
    digest stored at export, or (a checkpoint from before the digest) when neither
    ``expected_sha256`` nor a manifest beside it vouches for it; ``allow_unverified``
    lets such an old file through (for re-exporting it).
    """
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
    stored = metadata.get(DIGEST_KEY)
    if stored:
        try:
            computed, _ = file_content_digest(path)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"{path} has a damaged header ({exc})") from exc
        if computed != stored:
            raise CheckpointError(
                f"{path} is damaged: its weights do not match the checksum recorded in it "
                f"when it was exported (expected {stored[:12]}…, found {computed[:12]}…). "
                "Restoring with it would give wrong pictures; download or export it again.")
        verified_by = "digest"
    elif (expected_sha256 and digest == expected_sha256.lower()) or \
            _listed_in_manifest(path, digest):
        verified_by = "manifest"
    elif allow_unverified:
        verified_by = "unverified"
    else:
        raise CheckpointError(
            f"{path} was written before GLOW checkpoints carried a checksum of their "
            "weights, and no manifest.json beside it lists its SHA-256, so a damaged file "
            "could not be told from a good one. If you trust it, re-export it once: "
            f"python -m training ship --reexport {path} NEW.safetensors")
    try:
        stages = json.loads(metadata.get("stages", "[]"))
    except ValueError as exc:
        raise CheckpointError(f"{path} has unreadable stages in its metadata ({exc})") from exc
    return CheckpointInfo(path=path, config=config, sha256=digest, stages=stages,
                          metadata=metadata, verified_by=verified_by)


def load_checkpoint(path: str | Path, expected_sha256: str | None = None,
                    device: str | torch.device = "cpu", *, allow_unverified: bool = False
                    ) -> tuple[GlowDeblur, CheckpointInfo]:
    """Build the network the checkpoint describes and load its weights (strictly)."""
    info = read_info(path, expected_sha256, allow_unverified=allow_unverified)
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
