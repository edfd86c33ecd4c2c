"""Training stages on the tiny preset: losses fall, resume continues, DDP runs on 2 CPUs."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image

from glow_core.checkpoint import read_info
from glow_core.config import PRESETS
from glow_core.models import GlowDeblur
from training.config import LossConfig, load_config
from training.datasets import SimulatedBlurDataset, SimulatedConfig, collate
from training.stages import build_stage
from training.trainer import Trainer, lr_at, train

TINY_DATA = {"crop": 32, "photo_weight": 0.0, "blur_scale": 0.3}


def _config(tmp_path: Path, stage: str, **extra) -> object:
    sets = [f"stage={stage}", "preset=tiny", f"out_dir={tmp_path / stage}", "steps=4",
            "batch=2", "workers=0", "log_every=2", "ckpt_every=2", "sample_every=2",
            "val_images=0", f"data={json.dumps(TINY_DATA)}"]
    sets += [f"{k}={json.dumps(v)}" for k, v in extra.items()]
    return load_config(None, sets)


def test_dataset_is_deterministic_per_index() -> None:
    ds = SimulatedBlurDataset(SimulatedConfig(crop=32, photo_weight=0.0, seed=3))
    a, b, c = ds[5], ds[5], ds[6]
    assert torch.equal(a["blurry"], b["blurry"]) and a["caption"] == b["caption"]
    assert not torch.equal(a["blurry"], c["blurry"])
    assert a["blurry"].shape == (3, 32, 32) and a["motion"].shape == (3, 32, 32)


def test_caption_dropout_rate() -> None:
    ds = SimulatedBlurDataset(SimulatedConfig(crop=32, photo_weight=0.0, caption_dropout=0.5))
    empty = sum(ds[i]["caption"] == "" for i in range(60))
    assert 15 <= empty <= 45


@pytest.mark.parametrize("stage", ["autoencoder", "prerecon", "dit", "joint"])
def test_each_stage_loss_falls_on_a_fixed_batch(stage: str) -> None:
    torch.manual_seed(0)
    model = GlowDeblur(PRESETS["tiny"])
    module = build_stage(stage, model, LossConfig())
    ds = SimulatedBlurDataset(SimulatedConfig(crop=32, photo_weight=0.0, seed=1,
                                              caption_dropout=0.0, blur_scale=0.3))
    batch = collate([ds[i] for i in range(4)])
    batch["has_motion"] = torch.ones(4)
    opt = torch.optim.Adam(module.trainable_parameters(), lr=5e-3)
    module.train()
    losses = []
    for _ in range(30):
        torch.manual_seed(0)  # same noise and t each step: a fixed objective
        loss = module(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
    frozen = {"autoencoder": model.prerecon, "prerecon": model.dit, "dit": model.motion,
              "joint": model.autoencoder}[stage]
    assert all(not p.requires_grad for p in frozen.parameters())


def test_lr_schedule() -> None:
    assert lr_at(0, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, 10, 0.1) == pytest.approx(1.0)
    assert lr_at(100, 100, 1.0, 10, 0.1) == pytest.approx(0.1)


def test_config_overrides_and_errors(tmp_path: Path) -> None:
    cfg = load_config("training/configs/prerecon.json", ["optim.lr=0.01", "data.crop=64"])
    assert cfg.optim.lr == 0.01 and cfg.data.crop == 64 and cfg.stage == "prerecon"
    with pytest.raises(KeyError):
        load_config(None, ["no_such_key=1"])
    with pytest.raises(ValueError):
        load_config(None, ["stage=nonsense"])


def test_trainer_exports_checkpoint_with_stages_and_log(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "prerecon")
    path = train(cfg)
    info = read_info(path)
    assert set(info.stages) == {"prerecon", "motion"}
    rows = (tmp_path / "prerecon" / "log.csv").read_text().strip().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 3
    assert list((tmp_path / "prerecon" / "samples").glob("*.png"))


def test_resume_continues_where_it_stopped(tmp_path: Path) -> None:
    straight = Trainer(_config(tmp_path / "a", "prerecon", steps=4))
    straight.run()
    first = Trainer(_config(tmp_path / "b", "prerecon", steps=2))
    first.run()
    resumed = Trainer(_config(tmp_path / "b", "prerecon", steps=4), resume=True)
    assert resumed.step == 2
    resumed.run()
    for (name, p), q in zip(straight.model.named_parameters(), resumed.model.parameters()):
        assert torch.allclose(p, q, atol=1e-6), name


def test_stage_chain_keeps_earlier_stages(tmp_path: Path) -> None:
    pre = train(_config(tmp_path, "autoencoder"))
    dit = train(_config(tmp_path, "dit", init=str(pre)))
    assert set(read_info(dit).stages) == {"autoencoder", "dit", "fusion"}
    folder = tmp_path / "pairs"
    for sub in ("blur", "sharp"):
        (folder / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        img = (rng.random((48, 48, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(folder / "sharp" / f"{i}.png")
        Image.fromarray(img[:, ::-1].copy()).save(folder / "blur" / f"{i}.png")
    joint = train(_config(tmp_path, "joint", init=str(dit), real={"roots": [str(folder)],
                                                                    "weight": 0.5}))
    assert {"prerecon", "motion", "dit", "fusion", "autoencoder"} <= set(read_info(joint).stages)


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = _config(Path(out), "prerecon", steps=3, device="cpu")
    trainer = Trainer(cfg)
    trainer.run()
    flat = torch.cat([p.detach().flatten() for p in trainer.model.prerecon.parameters()])
    torch.save(flat, Path(out) / f"rank{rank}.pt")
    trainer.ctx.close()


def test_two_process_ddp_on_cpu(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert torch.allclose(r0, r1)  # gradients were averaged: both ranks hold one model
    assert (tmp_path / "prerecon" / "model.safetensors").is_file()


def test_merge_takes_each_part_from_the_checkpoint_that_trained_it(tmp_path: Path) -> None:
    from glow_core.checkpoint import load_checkpoint, save_checkpoint
    from training.merge import merge_checkpoints

    torch.manual_seed(0)
    a, b = GlowDeblur(PRESETS["tiny"]), GlowDeblur(PRESETS["tiny"])
    save_checkpoint(tmp_path / "a.safetensors", a, stages=["prerecon", "motion"])
    save_checkpoint(tmp_path / "b.safetensors", b, stages=["autoencoder"])
    out = merge_checkpoints(tmp_path / "m.safetensors",
                            [tmp_path / "a.safetensors", tmp_path / "b.safetensors"],
                            dtype=torch.float32)
    merged, info = load_checkpoint(out)
    assert set(info.stages) == {"prerecon", "motion", "autoencoder"}
    for (n, p), q in zip(merged.autoencoder.state_dict().items(),
                         b.autoencoder.state_dict().values()):
        assert torch.equal(p, q), n
    for p, q in zip(merged.prerecon.parameters(), a.prerecon.parameters()):
        assert torch.equal(p, q)


def test_ship_writes_weights_and_manifest(tmp_path: Path) -> None:
    from glow_core.checkpoint import read_manifest, save_checkpoint
    from glow_core.engine import Engine
    from training.ship import ship

    src = tmp_path / "model.safetensors"
    save_checkpoint(src, GlowDeblur(PRESETS["tiny"]), stages=["prerecon", "motion"])
    dest = ship(src, "glow-tiny-test", notes="test", evaluation={"kodak-shake": 1.0},
                target=tmp_path / "weights")
    manifest = read_manifest(tmp_path / "weights")
    assert manifest["default"] == dest.name
    entry = manifest["weights"][0]
    assert entry["stages"] == ["motion", "prerecon"] and entry["preset"] == "tiny"
    engine = Engine(dest)  # the recorded SHA-256 is checked on load
    assert engine.manifest_entry["sha256"] == entry["sha256"]


def test_interrupt_saves_state_and_exports(tmp_path: Path, monkeypatch) -> None:
    trainer = Trainer(_config(tmp_path, "prerecon", steps=10, ckpt_every=100))
    original = trainer.stage.forward

    def flaky(batch):
        if trainer.step == 3:
            raise KeyboardInterrupt
        return original(batch)

    monkeypatch.setattr(trainer.stage, "forward", flaky)
    path = trainer.run()
    assert path is not None and read_info(path).metadata["train_step"] == "3"
    resumed = Trainer(_config(tmp_path, "prerecon", steps=10), resume=True)
    assert resumed.step == 3


@pytest.mark.parametrize("stage", ["prerecon", "autoencoder", "dit"])
def test_validation_goes_through_the_evaluation(tmp_path: Path, stage: str) -> None:
    """_validate scores the EMA model on held-out Kodak crops via training.evaluation."""
    from tests.conftest import synthetic_photo

    folder = tmp_path / "data" / "sharp" / "kodak24"
    folder.mkdir(parents=True)
    for i in range(2):
        img = (synthetic_photo(48, 64, seed=i) * 255).round().astype(np.uint8)
        Image.fromarray(img).save(folder / f"kodim{i + 1:02d}.png")
    cfg = _config(tmp_path, stage, val_images=2,
                  data={**TINY_DATA, "data_root": str(tmp_path / "data")})
    trainer = Trainer(cfg)
    trainer.out.mkdir(parents=True, exist_ok=True)
    ema_before = {k: v.clone() for k, v in trainer.ema.items()}
    live_before = {k: v.detach().clone() for k, v in trainer.model.named_parameters()}
    trainer._validate(trainer.out / "log.csv")
    lines = (trainer.out / "val.csv").read_text().splitlines()
    assert lines[0] == "step,val_psnr,val_input_psnr" and len(lines) == 2
    step, val, base = lines[1].split(",")
    assert step == "0" and np.isfinite(float(val)) and np.isfinite(float(base))
    # Nothing of the live model or the EMA was swapped or changed.
    assert all(torch.equal(v, ema_before[k]) for k, v in trainer.ema.items())
    assert all(torch.equal(p, live_before[k]) for k, p in trainer.model.named_parameters())
