"""One training loop for every stage: resumable, EMA, CSV log, samples, DDP.

State lives in ``<out_dir>/state/``: the model and EMA weights as safetensors, the
optimizer's tensors saved with ``torch.save`` and read back with ``weights_only=True``
(plain tensors, no code), and a JSON file with the step and the data position. A resumed
run continues from exactly that step with the data it would have seen next. The EMA
weights are what gets exported as a glow checkpoint.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset, Sampler

from glow_core.checkpoint import load_checkpoint, save_checkpoint
from glow_core.config import preset
from glow_core.engine import pick_device
from glow_core.fsutil import atomic_write, atomic_write_text
from glow_core.models import GlowDeblur
from training.config import STAGE_PARTS, TrainConfig
from training.datasets import SimulatedBlurDataset, collate
from training.stages import Stage, build_stage


class StreamSampler(Sampler[int]):
    """Indices start, start+world, ... forever: every rank sees distinct samples."""

    def __init__(self, start: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.rank, self.world = start, rank, world

    def __iter__(self) -> Iterator[int]:
        i = self.start + self.rank
        while True:
            yield i
            i += self.world

    def __len__(self) -> int:  # pragma: no cover - infinite by design
        return 2**62


def lr_at(step: int, total: int, base: float, warmup: int, min_ratio: float) -> float:
    """Linear warm-up, then cosine decay to ``min_ratio * base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class DistributedContext:
    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1

    def setup(self, device: torch.device) -> None:
        if self.enabled and not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def build_model(config: TrainConfig) -> tuple[GlowDeblur, list[str]]:
    """The network to train: from `init` (keeping its trained stages) or fresh."""
    if config.init:
        model, info = load_checkpoint(config.init)
        if config.stage == "refine" and not model.config.prerecon.deconv_input:
            from training.stages import widen_for_deconv

            model = widen_for_deconv(model.float(), keep_output=config.init_keep_output)
        model.train()
        return model, list(info.stages)
    if config.stage == "refine":
        cfg = preset(config.preset)
        cfg = dataclasses.replace(
            cfg, prerecon=dataclasses.replace(cfg.prerecon, deconv_input=True))
        return GlowDeblur(cfg), []
    return GlowDeblur(preset(config.preset)), []


def build_dataset(config: TrainConfig) -> Dataset:
    if config.stage == "refine":
        from training.deconv_data import DeconvRefineDataset

        refine = config.refine
        if refine.data_root is None and config.data.data_root:
            refine = dataclasses.replace(refine, data_root=config.data.data_root)
        return DeconvRefineDataset(refine, length=config.data.length)
    sim = SimulatedBlurDataset(config.data)
    if config.stage != "joint":
        return sim
    from training.paired import MixedDataset, PairedFolderDataset, gopro_frameavg_split

    data_root = Path(config.data.data_root) if config.data.data_root else None
    if config.real.roots:
        reals = [PairedFolderDataset(root, split="train", crop=config.data.crop,
                                     seed=config.seed) for root in config.real.roots]
    else:
        reals = [PairedFolderDataset.from_pairs(gopro_frameavg_split(data_root, "train"),
                                                crop=config.data.crop, seed=config.seed)]
    parts = [(RealWithMotion(r, sim), config.real.weight / len(reals)) for r in reals]
    parts.append((sim, 1.0 - config.real.weight))
    return MixedDataset(parts, length=config.data.length, seed=config.seed)


class RealWithMotion(Dataset):
    """Real pairs in the simulated items' shape: no motion ground truth, a caption."""

    def __init__(self, real: Dataset, sim: SimulatedBlurDataset) -> None:
        self.real, self.sim = real, sim

    def __len__(self) -> int:
        return len(self.real)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.real[index])
        rng = np.random.default_rng([7, int(index)])
        caption = self.sim.captions.caption_for(item.get("path", ""), rng)
        item["caption"] = self.sim.captions.with_dropout(caption, rng,
                                                         self.sim.config.caption_dropout)
        item["motion"] = torch.zeros_like(item["blurry"])
        item["has_motion"] = torch.tensor(0.0)
        item["pattern"] = "real"
        item.pop("path", None)
        item.pop("name", None)
        return item


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}


class Trainer:
    def __init__(self, config: TrainConfig, resume: bool = False) -> None:
        self.config = config
        self.ctx = DistributedContext()
        if config.threads:
            torch.set_num_threads(config.threads)
        device = config.device
        if self.ctx.enabled and torch.cuda.is_available() and device in ("auto", "cuda"):
            device = f"cuda:{self.ctx.local_rank}"
        self.device = pick_device(device)
        self.ctx.setup(self.device)
        self.out = Path(config.out_dir)
        self.state_dir = self.out / "state"
        torch.manual_seed(config.seed + self.ctx.rank)
        self.model, self.prior_stages = build_model(config)
        self.model.to(self.device)
        self.stage: Stage = build_stage(config.stage, self.model, config.loss)
        self.stage.to(self.device)
        self.params = self.stage.trainable_parameters()
        self.optimizer = torch.optim.AdamW(self.params, lr=config.optim.lr,
                                           betas=tuple(config.optim.betas),
                                           weight_decay=config.optim.weight_decay)
        self.ema = {n: p.detach().clone() for n, p in self.model.named_parameters()
                    if p.requires_grad}
        self.step = 0
        if resume:
            self._load_state()
        self.wrapped: torch.nn.Module = self.stage
        if self.ctx.enabled:
            self.wrapped = torch.nn.parallel.DistributedDataParallel(
                self.stage, device_ids=[self.device.index] if self.device.type == "cuda"
                else None, find_unused_parameters=True)
        self.amp = config.amp and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() \
            else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and
                                           self.amp_dtype == torch.float16)

    # --------------------------------------------------------------------- state
    def _save_state(self) -> None:
        if not self.ctx.main:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.detach().cpu().contiguous()
                   for k, v in self.model.state_dict().items()}
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous() for k, v in self.ema.items()})
        tensors.update({f"stage.{k}": v.detach().cpu().contiguous()
                        for k, v in self.stage.named_buffers() if not k.startswith("model.")})
        with atomic_write(self.state_dir / "weights.safetensors", "path") as tmp:
            save_file(tensors, str(tmp), metadata={"glow_config": self.model.config.to_json()})
        with atomic_write(self.state_dir / "optimizer.pt") as fh:
            torch.save(self.optimizer.state_dict(), fh)
        meta = {"step": self.step, "stage": self.config.stage,
                "prior_stages": self.prior_stages, "config": self.config.to_dict()}
        atomic_write_text(self.state_dir / "meta.json", json.dumps(meta, indent=2))

    def _load_state(self) -> None:
        meta_path = self.state_dir / "meta.json"
        if not meta_path.is_file():
            return
        meta = json.loads(meta_path.read_text())
        tensors = load_file(str(self.state_dir / "weights.safetensors"))
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_state)
        for k in self.ema:
            self.ema[k] = tensors[f"ema.{k}"].to(self.device)
        for k, buf in self.stage.named_buffers():
            if f"stage.{k}" in tensors:
                buf.copy_(tensors[f"stage.{k}"])
        opt = torch.load(self.state_dir / "optimizer.pt", map_location=self.device,
                         weights_only=True)
        self.optimizer.load_state_dict(opt)
        self.step = int(meta["step"])
        self.prior_stages = list(meta.get("prior_stages", self.prior_stages))

    # ----------------------------------------------------------------------- loop
    def _loader(self) -> Iterator[dict[str, Any]]:
        dataset = build_dataset(self.config)
        start = self.step * self.config.batch * self.ctx.world
        sampler = StreamSampler(start, self.ctx.rank, self.ctx.world)
        workers = self.config.workers
        loader = DataLoader(dataset, batch_size=self.config.batch, sampler=sampler,
                            num_workers=workers, collate_fn=collate,
                            persistent_workers=workers > 0,
                            prefetch_factor=4 if workers > 0 else None,
                            pin_memory=self.device.type == "cuda")
        return iter(loader)

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.config.optim.ema, (1 + self.step) / (10 + self.step))
        for name, p in self.model.named_parameters():
            if name in self.ema:
                self.ema[name].lerp_(p.detach(), 1 - decay)

    def ema_model(self) -> GlowDeblur:
        model = GlowDeblur(self.model.config)
        model.load_state_dict(self.model.state_dict())
        with torch.no_grad():
            params = dict(model.named_parameters())
            for name, value in self.ema.items():
                params[name].copy_(value.cpu())
        if hasattr(self.stage, "finalize"):
            self.stage.finalize(model)
        return model.eval()

    def run(self) -> Path | None:
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        if self.ctx.main:
            (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        log_path = self.out / "log.csv"
        data = self._loader()
        self.stage.train()
        started = time.time()
        try:
            self._loop(data, log_path, started)
        except KeyboardInterrupt:
            # Ctrl-C (or SIGINT from a scheduler) keeps what was learned: state + export.
            print(f"interrupted at step {self.step}: saving state", flush=True)
            self._save_state()
        exported = self.export() if self.ctx.main else None
        self.ctx.barrier()
        return exported

    def _loop(self, data: Iterator[dict[str, Any]], log_path: Path, started: float) -> None:
        cfg = self.config
        window: dict[str, float] = {}
        window_n = 0
        tick = time.time()
        while self.step < cfg.steps:
            batch = _to_device(next(data), self.device)
            lr = lr_at(self.step, cfg.steps, cfg.optim.lr, cfg.optim.warmup,
                       cfg.optim.min_lr_ratio)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
                losses = self.wrapped(batch)
            loss = losses["loss"]
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {self.step}")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.optim.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self._update_ema()
            self.step += 1
            for k, v in losses.items():
                window[k] = window.get(k, 0.0) + float(v.detach())
            window["grad_norm"] = window.get("grad_norm", 0.0) + float(grad_norm)
            window_n += 1
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                row = {"step": self.step, "lr": f"{lr:.3e}",
                       "sec_per_step": f"{(time.time() - tick) / window_n:.3f}"}
                row.update({k: f"{v / window_n:.5f}" for k, v in window.items()})
                self._log(log_path, row)
                window, window_n, tick = {}, 0, time.time()
            if self.step % cfg.sample_every == 0:
                self._samples(batch)
            if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                self._validate(log_path)
            out_of_time = cfg.max_minutes and (time.time() - started) / 60 >= cfg.max_minutes
            if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps or out_of_time:
                self._save_state()
            if out_of_time:
                break

    def _trained_stages(self) -> list[str]:
        """Every part trained so far: earlier stages' and this stage's."""
        return sorted(set(self.prior_stages) | set(STAGE_PARTS[self.config.stage]))

    def export(self, path: str | Path | None = None) -> Path:
        """The EMA model as a glow checkpoint, naming every stage it has been through."""
        path = Path(path or self.config.export or self.out / "model.safetensors")
        save_checkpoint(path, self.ema_model(), stages=self._trained_stages(),
                        dtype=torch.float16,
                        extra={"train_stage": self.config.stage, "train_step": self.step})
        return path

    # --------------------------------------------------------------- reporting
    def _log(self, path: Path, row: dict[str, Any]) -> None:
        if not self.ctx.main:
            return
        new = not path.is_file()
        fields = list(row)
        if not new:
            with open(path, newline="") as fh:
                header = next(csv.reader(fh), [])
            if set(fields) <= set(header):
                fields = header
            else:
                new = True
                path.rename(path.with_suffix(f".{int(time.time())}.csv"))
        with open(path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    @torch.no_grad()
    def _samples(self, batch: dict[str, Any]) -> None:
        if not self.ctx.main:
            return
        self.stage.eval()
        n = min(4, batch["blurry"].shape[0])
        sub = {k: v[:n] if isinstance(v, torch.Tensor | list) else v for k, v in batch.items()}
        out = self.stage.restoration(sub).clamp(0, 1)
        self.stage.train()
        rows = torch.cat([sub["blurry"], out, sub["sharp"]], dim=3)
        grid = torch.cat(list(rows), dim=1).permute(1, 2, 0).cpu().numpy()
        folder = self.out / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((grid * 255 + 0.5).astype(np.uint8)).save(
            folder / f"step{self.step:07d}.png")

    def _validate(self, log_path: Path) -> None:
        """PSNR of the EMA model on held-out Kodak crops, measured by the evaluation.

        The stage's path in the product is measured through an engine around the EMA model
        (the fast path; the full path for the DiT stages). The autoencoder stage has no
        path of its own in the product, so it is scored on reconstructing the sharp crops.
        """
        if not self.ctx.main or self.config.val_images <= 0:
            return
        if self.config.stage == "refine":
            self._validate_refine()
            return
        from glow_core.engine import Engine
        from training.evaluation import EvalConfig, build_set, evaluate
        from training.metrics import psnr

        set_name = "kodak-mixed"
        cfg = EvalConfig([set_name], limit=self.config.val_images,
                         crop=max(32, self.config.data.crop // 32 * 32), references=False,
                         full=self.config.stage in ("dit", "joint"), precision="fp32",
                         data_root=self.config.data.data_root, kernel_stage=False)
        model = self.ema_model()
        try:
            if self.config.stage == "autoencoder":
                evalset = build_set(set_name, crop=cfg.crop, limit=cfg.limit,
                                    data_root=cfg.data_root)
                scores, inputs = [], []
                for im in evalset.images:
                    x = torch.from_numpy(im.sharp).permute(2, 0, 1)[None]
                    with torch.inference_mode():
                        out = model.autoencoder(x)[0].clamp(0, 1).permute(1, 2, 0).numpy()
                    scores.append(psnr(out, im.sharp))
                    inputs.append(psnr(im.blurry, im.sharp))
                val, base = float(np.mean(scores)), float(np.mean(inputs))
            else:
                engine = Engine.from_model(model, self._trained_stages(), device=self.device,
                                           precision=cfg.precision)
                result = evaluate(cfg, engine)
                method = "full" if result.settings["full"] else "fast"
                val = result.method_psnr(set_name, method)
                base = result.method_psnr(set_name, "blurry")
        except FileNotFoundError:
            return  # no held-out photos under this data root
        row = {"step": self.step, "val_psnr": f"{val:.3f}", "val_input_psnr": f"{base:.3f}"}
        with open(self.out / "val.csv", "a") as fh:
            if fh.tell() == 0:
                fh.write("step,val_psnr,val_input_psnr\n")
            fh.write(f"{row['step']},{row['val_psnr']},{row['val_input_psnr']}\n")
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)


    def _validate_refine(self) -> None:
        """Refined vs deconvolved on the held-out cache of ``training.refine_eval``."""
        from training.refine_eval import CACHE, score_models

        files = sorted(CACHE.glob("*.npz"))[: self.config.val_images]
        if not files:
            return
        res = score_models({"ema": self.ema_model().float()}, files)
        row = {"step": self.step}
        for which in ("true", "blind"):
            if f"{which}/ema" in res:
                row[f"val_{which}_refined"] = f"{res[f'{which}/ema']['psnr']:.3f}"
                row[f"val_{which}_deconv"] = f"{res[f'{which}/deconvolved']['psnr']:.3f}"
        new = not (self.out / "val.csv").is_file()
        with open(self.out / "val.csv", "a") as fh:
            if new:
                fh.write(",".join(row) + "\n")
            fh.write(",".join(str(v) for v in row.values()) + "\n")
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def train(config: TrainConfig, resume: bool = False) -> Path | None:
    trainer = Trainer(config, resume=resume)
    try:
        return trainer.run()
    finally:
        trainer.ctx.close()
