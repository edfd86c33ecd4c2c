"""Checkpoint round trip, refusal of anything that is not our safetensors, the manifest."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from glow_core.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_info,
    read_manifest,
    save_checkpoint,
    sha256_of,
    write_manifest_entry,
)
from glow_core.config import PRESETS
from glow_core.models import GlowDeblur


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = GlowDeblur(PRESETS["tiny"]).eval()
    with torch.no_grad():
        model.prerecon.ending[0].weight.normal_(0, 0.1)
    digest = save_checkpoint(tmp_path / "m.safetensors", model, stages=["prerecon"])
    assert digest == sha256_of(tmp_path / "m.safetensors")
    loaded, info = load_checkpoint(tmp_path / "m.safetensors", expected_sha256=digest)
    assert info.config == model.config and info.stages == ["prerecon"]
    assert info.metadata["text_encoder"] == "hash-tiny"
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.fast(x).rgb, loaded.fast(x).rgb)


def test_half_precision_storage_loads_into_float32(tmp_path: Path) -> None:
    model = GlowDeblur(PRESETS["tiny"])
    save_checkpoint(tmp_path / "h.safetensors", model, dtype=torch.float16)
    loaded, _ = load_checkpoint(tmp_path / "h.safetensors")
    assert next(loaded.parameters()).dtype == torch.float32


def test_refuses_pickles_and_foreign_files(tmp_path: Path) -> None:
    zipped = tmp_path / "model.pt"
    torch.save({"a": torch.zeros(1)}, zipped)
    with pytest.raises(CheckpointError, match="pickle"):
        read_info(zipped)
    raw = tmp_path / "raw.ckpt"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        read_info(raw)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a GLOW Deblur checkpoint"):
        read_info(foreign)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a safetensors"):
        read_info(garbage)
    with pytest.raises(CheckpointError, match="not found"):
        read_info(tmp_path / "missing.safetensors")


def test_checksum_mismatch_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, GlowDeblur(PRESETS["tiny"]))
    with pytest.raises(CheckpointError, match="SHA-256"):
        read_info(path, expected_sha256="0" * 64)


def test_manifest_entries(tmp_path: Path) -> None:
    assert read_manifest(tmp_path)["weights"] == []
    write_manifest_entry(tmp_path, {"file": "a.safetensors", "sha256": "1"})
    write_manifest_entry(tmp_path, {"file": "b.safetensors", "sha256": "2"}, make_default=False)
    write_manifest_entry(tmp_path, {"file": "a.safetensors", "sha256": "3"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["default"] == "a.safetensors"
    assert sorted(e["sha256"] for e in manifest["weights"]) == ["2", "3"]


# ------------------------------------------------------------- self-verifying weights
def _legacy_copy(src: Path, dest: Path) -> Path:
    """The same checkpoint as written before the content digest existed."""
    from safetensors import safe_open

    from glow_core.checkpoint import DIGEST_KEY

    with safe_open(str(src), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
        metadata = {k: v for k, v in (fh.metadata() or {}).items() if k != DIGEST_KEY}
    save_file(tensors, str(dest), metadata=metadata)
    return dest


def _flip_bit_in(path: Path, tensor_prefix: str) -> str:
    import struct

    data = bytearray(path.read_bytes())
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    name = sorted(k for k in header if k.startswith(tensor_prefix))[0]
    start, end = header[name]["data_offsets"]
    data[8 + header_len + (start + end) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    return name


def test_one_flipped_bit_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    save_checkpoint(path, GlowDeblur(PRESETS["tiny"]), stages=["prerecon"])
    assert read_info(path).verified_by == "digest"  # no manifest needed
    _flip_bit_in(path, "prerecon.")
    with pytest.raises(CheckpointError, match="damaged") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    # Also through the engine, the way the CLI and the app load a user-chosen file.
    from glow_core.engine import Engine

    with pytest.raises(CheckpointError, match=str(path).replace(".", r"\.")):
        Engine(path, device="cpu")


def test_digest_written_matches_the_file_and_covers_metadata(tmp_path: Path) -> None:
    from glow_core.checkpoint import DIGEST_KEY, file_content_digest

    path = tmp_path / "m.safetensors"
    save_checkpoint(path, GlowDeblur(PRESETS["tiny"]), stages=["prerecon"], dtype=torch.float16)
    computed, stored = file_content_digest(path)
    assert stored and computed == stored
    assert read_info(path).metadata[DIGEST_KEY] == stored
    # A metadata change (e.g. claiming the DiT was trained) breaks the digest too.
    legacy = _legacy_copy(path, tmp_path / "tmp.safetensors")
    from safetensors import safe_open

    with safe_open(str(legacy), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    meta = {**read_info(path).metadata, "stages": json.dumps(["dit", "prerecon"])}
    save_file(tensors, str(tmp_path / "forged.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="damaged"):
        read_info(tmp_path / "forged.safetensors")


def test_old_checkpoint_refused_with_reexport_hint_or_verified_by_manifest(
        tmp_path: Path) -> None:
    from glow_core.checkpoint import reexport_checkpoint

    new = tmp_path / "new.safetensors"
    save_checkpoint(new, GlowDeblur(PRESETS["tiny"]), stages=["prerecon"])
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    old = _legacy_copy(new, old_dir / "old.safetensors")
    with pytest.raises(CheckpointError, match="--reexport") as err:
        load_checkpoint(old)
    assert str(old) in str(err.value)
    # A manifest beside it that lists its SHA-256 vouches for it ...
    write_manifest_entry(old_dir, {"file": old.name, "sha256": sha256_of(old)})
    assert read_info(old).verified_by == "manifest"
    # ... but not when the SHA-256 differs.
    write_manifest_entry(old_dir, {"file": old.name, "sha256": "0" * 64})
    with pytest.raises(CheckpointError, match="SHA-256"):
        read_info(old)
    # Re-exporting gives the same tensors, with the digest.
    fixed = tmp_path / "fixed.safetensors"
    assert reexport_checkpoint(old, fixed) == sha256_of(fixed)
    model_a, info = load_checkpoint(fixed)
    model_b, _ = load_checkpoint(new)
    assert info.verified_by == "digest"
    for (ka, va), (kb, vb) in zip(model_a.state_dict().items(), model_b.state_dict().items(),
                                  strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_training_ship_reexport_command_and_ship_writes_the_digest(tmp_path: Path) -> None:
    from training.ship import main as ship_main
    from training.ship import ship

    new = tmp_path / "new.safetensors"
    save_checkpoint(new, GlowDeblur(PRESETS["tiny"]), stages=["prerecon"])
    old = _legacy_copy(new, tmp_path / "old.safetensors")
    assert ship_main(["--reexport", str(old), str(tmp_path / "re.safetensors")]) == 0
    assert read_info(tmp_path / "re.safetensors").verified_by == "digest"
    # Shipping an old checkpoint writes the digest into the shipped copy.
    dest = ship(old, "tiny-test", target=tmp_path / "weights")
    assert read_info(dest).verified_by == "digest"
    assert read_manifest(tmp_path / "weights")["weights"][0]["sha256"] == sha256_of(dest)


def test_shipped_weights_carry_their_digest() -> None:
    from glow_core.checkpoint import DIGEST_KEY, file_content_digest
    from glow_core.resources import weights_dir

    for path in sorted(weights_dir().glob("*.safetensors")):
        assert path.stat().st_size < 16 * 2**20, path
        computed, stored = file_content_digest(path)
        assert stored == computed, f"{path} has no valid {DIGEST_KEY}"
