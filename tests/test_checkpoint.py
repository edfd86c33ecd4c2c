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
