"""The loop every trainer shares: steps, optimiser updates with non-finite guards, EMA,
per-step seeding, logging, checkpoints and resume.

Randomness: before step s every rank seeds torch, numpy and python from (seed, rank, s), so
a step's draws depend on nothing but its number; resuming at s therefore continues exactly
as a straight run would (the RNG states are saved and restored as well). Data: the batch
of step s is fixed by :class:`~training.batches.ShardedBatches`.

Subclasses build their modules, register them with :meth:`add_trained`, and implement
``train_step(batch) -> StepOutput`` and ``export_model() -> JenModel``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from jen_core.errors import JenError
from jen_core.model import JenModel
from training.batches import ShardedBatches
from training.config import OptimConfig, config_to_dict
from training.distributed import DistEnv, all_reduce_sum, barrier
from training.ema import EMA
from training.metrics_log import MetricsLogger
from training.optim import build_optimizer, build_scheduler
from training.state import (
    latest_checkpoint,
    load_module_tensors,
    load_optimizer_state,
    load_trainer_state,
    module_tensors,
    optimizer_state,
    rng_state,
    save_training_checkpoint,
    set_rng_state,
)


@dataclass
class StepOutput:
    """What one training step did: metrics to log, and which optimisers made an update."""

    metrics: dict[str, float] = field(default_factory=dict)
    updated: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)  # updates skipped for a non-finite loss or gradient

    @property
    def ok(self) -> bool:
        return not self.skipped


def seed_step(seed: int, rank: int, step: int) -> None:
    """Seed torch (all devices), numpy and python for ``step`` of ``rank``."""
    a, b = np.random.SeedSequence([seed, rank, step]).generate_state(2)
    torch.manual_seed(int(a))
    np.random.seed(int(b))
    random.seed(int(a))


class BaseTrainer:
    kind = "base"

    def __init__(self, cfg: Any, *, model: JenModel, run_dir: str | Path, env: DistEnv, stages: list[str]) -> None:
        self.cfg = cfg
        self.model = model
        self.run_dir = Path(run_dir)
        self.env = env
        self.stages = list(stages)
        self.step = 0
        self.updates: dict[str, int] = {}
        self.trained: dict[str, nn.Module] = {}
        self.optimizers: dict[str, Optimizer] = {}
        self.schedulers: dict[str, LambdaLR] = {}
        self.clip: dict[str, float] = {}
        self.emas: dict[str, EMA] = {}
        self.wrapped: dict[str, nn.Module] = {}
        self.nonfinite_streak = 0
        self.last_saved_step: int | None = None
        self.batches: ShardedBatches | None = None
        self.logger = MetricsLogger(self.run_dir, env, tensorboard=cfg.run.tensorboard, total_steps=cfg.run.max_steps)
        amp = cfg.run.amp
        self.amp = env.device.type == "cuda" and amp in ("auto", "bf16")

    # ------------------------------------------------------------------ set-up helpers
    def add_trained(self, name: str, module: nn.Module, optim: OptimConfig | None, *, ema: bool = False) -> None:
        """Register a module whose weights are trained (and saved in the trainer state)."""
        module.train()
        self.trained[name] = module
        if optim is not None:
            self.optimizers[name] = build_optimizer(module, optim)
            self.schedulers[name] = build_scheduler(self.optimizers[name], optim)
            self.clip[name] = optim.grad_clip
            self.updates[name] = 0
        if ema:
            self.emas[name] = EMA(module, decay=self.cfg.run.ema_decay, warmup=self.cfg.run.ema_warmup)

    def ddp(self, name: str) -> nn.Module:
        """The module to call in forward passes: DDP-wrapped under torchrun, else the module itself."""
        if name not in self.wrapped:
            module = self.trained[name]
            if self.env.distributed:
                ids = [self.env.device.index] if self.env.device.type == "cuda" else None
                self.wrapped[name] = DistributedDataParallel(module, device_ids=ids)
            else:
                self.wrapped[name] = module
        return self.wrapped[name]

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA when enabled (never on CPU)."""
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ one update
    def apply_update(self, name: str, loss: torch.Tensor, out: StepOutput) -> bool:
        """Backward + clip + optimiser step for ``name``; skipped (weights untouched) when the loss
        or the gradient norm is not finite on any rank. Records the result in ``out``."""
        opt = self.optimizers[name]
        total = all_reduce_sum(loss.detach().float().reshape(1), self.env)
        out.metrics[f"loss_mean/{name}"] = float(total) / self.env.world_size  # over all ranks
        if not bool(torch.isfinite(total).all()):
            if self.env.distributed and loss.requires_grad:  # keep every rank's DDP reducer in step
                (torch.nan_to_num(loss, nan=0.0, posinf=0.0, neginf=0.0) * 0.0).backward()
            opt.zero_grad(set_to_none=True)
            out.skipped.add(name)
            return False
        loss.backward()
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        clip = self.clip[name]
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
        if not bool(torch.isfinite(norm)):
            opt.zero_grad(set_to_none=True)
            out.skipped.add(name)
            return False
        opt.step()
        self.schedulers[name].step()
        opt.zero_grad(set_to_none=True)
        self.updates[name] += 1
        out.updated.add(name)
        out.metrics[f"grad_norm/{name}"] = float(norm)
        return True

    # ------------------------------------------------------------------ the loop
    def train_step(self, batch: Any) -> StepOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def export_model(self) -> JenModel:  # pragma: no cover - abstract
        raise NotImplementedError

    def make_batches(self) -> ShardedBatches:  # pragma: no cover - abstract
        raise NotImplementedError

    def iterate(self) -> Iterator[tuple[int, Any]]:
        if self.batches is None:
            self.batches = self.make_batches()
        return self.batches.iterate(self.step)

    def fit(self, max_steps: int | None = None) -> dict[str, float]:
        """Train until ``max_steps`` (default ``cfg.run.max_steps``) steps are done; returns the last logged metrics."""
        run = self.cfg.run
        max_steps = run.max_steps if max_steps is None else max_steps
        self.logger.total_steps = max_steps
        if self.step >= max_steps:
            self.logger.message(f"already at step {self.step} >= max steps {max_steps}; nothing to do")
        else:
            for step, batch in self.iterate():
                if step >= max_steps:
                    break
                seed_step(run.seed, self.env.rank, step)
                out = self.train_step(batch)
                self.step = step + 1
                for name in out.updated:
                    if name in self.emas:
                        self.emas[name].update(self.trained[name])
                self._track_nonfinite(out)
                self.logger.add(out.metrics)
                if self.step % run.log_every == 0 or self.step == max_steps:
                    lrs = {f"lr/{n}": s.get_last_lr()[0] for n, s in self.schedulers.items()}
                    first = next(iter(self.schedulers.values()), None)
                    self.logger.flush(self.step, extra={**lrs, "lr": first.get_last_lr()[0] if first else 0.0})
                if self.step % run.checkpoint_every == 0:
                    self.save()
                if self.step >= max_steps:
                    break
        if self.last_saved_step != self.step:
            self.save()
        self.logger.close()
        return self.logger.last

    def _track_nonfinite(self, out: StepOutput) -> None:
        if out.ok:
            self.nonfinite_streak = 0
            return
        self.nonfinite_streak += 1
        limit = self.cfg.run.max_nonfinite
        self.logger.message(
            f"warning: step {self.step}: non-finite loss or gradient ({', '.join(sorted(out.skipped))}); "
            f"update skipped, weights unchanged ({self.nonfinite_streak}/{limit} in a row)"
        )
        if self.nonfinite_streak >= limit:
            self.logger.close()
            last = latest_checkpoint(self.run_dir)
            where = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
            raise JenError(
                f"the loss was not finite for {limit} steps in a row (steps {self.step - limit + 1}-{self.step}); "
                f"training stopped without saving, {where}; lower optim.lr or check the data"
            )

    # ------------------------------------------------------------------ checkpoints
    def train_extra(self) -> dict[str, Any]:
        return {}

    def save(self) -> Path | None:
        """Write a checkpoint (rank 0) of the exported model and the trainer state; all ranks wait."""
        path = None
        if self.env.is_main:
            tensors, meta = self.state()
            stages = self.stages + ([self.kind] if self.kind not in self.stages else [])
            extra = {"stages": stages, "train": {"stage": self.kind, "step": self.step, **self.train_extra()}}
            path = save_training_checkpoint(
                self.run_dir, step=self.step, model=self.export_model(), tensors=tensors, meta=meta, extra=extra,
                dtype=self.cfg.run.checkpoint_dtype, keep=self.cfg.run.keep_checkpoints,
            )
        self.last_saved_step = self.step
        barrier(self.env)
        return path

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        optim_meta: dict[str, Any] = {}
        for name, module in self.trained.items():
            tensors.update(module_tensors(f"module.{name}", module))
        for name, opt in self.optimizers.items():
            t, m = optimizer_state(f"optim.{name}", opt)
            tensors.update(t)
            optim_meta[name] = m
        for name, ema in self.emas.items():
            tensors.update({f"ema.{name}.{k}": v for k, v in ema.state_dict().items()})
        rng_t, rng_m = rng_state()
        tensors.update(rng_t)
        epoch, offset = self.batches.position(self.step) if self.batches else (0, self.step)
        meta = {
            "kind": self.kind,
            "updates": self.updates,
            "nonfinite_streak": self.nonfinite_streak,
            "data": {"epoch": epoch, "offset": offset, "world_size": self.env.world_size,
                     "batch_size": getattr(getattr(self.cfg, "data", None), "batch_size", 0)},
            "optimizers": optim_meta,
            "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
            "ema_updates": {n: e.updates for n, e in self.emas.items()},
            "rng": rng_m,
            "config": config_to_dict(self.cfg),
            "stages": self.stages,
        }
        return tensors, json.loads(json.dumps(meta))

    def resume(self, folder: str | Path) -> None:
        """Restore everything a checkpoint holds; the next step is the one after it."""
        tensors, meta = load_trainer_state(folder)
        if meta.get("kind") != self.kind:
            raise JenError(f"{folder} holds a '{meta.get('kind')}' run, not '{self.kind}'; use another --out folder")
        for name, module in self.trained.items():
            load_module_tensors(f"module.{name}", module, tensors)
        for name, opt in self.optimizers.items():
            load_optimizer_state(f"optim.{name}", opt, tensors, meta["optimizers"][name])
            self.schedulers[name].load_state_dict(meta["schedulers"][name])
        for name, ema in self.emas.items():
            start = f"ema.{name}."
            ema.load_state_dict({k[len(start):]: v for k, v in tensors.items() if k.startswith(start)},
                                updates=meta["ema_updates"][name])
        self.step = int(meta["step"])
        self.updates = {k: int(v) for k, v in meta["updates"].items()}
        self.nonfinite_streak = int(meta.get("nonfinite_streak", 0))
        self.stages = list(meta.get("stages", self.stages))
        set_rng_state(tensors, meta.get("rng", {}))
        data = meta.get("data", {})
        batch = getattr(getattr(self.cfg, "data", None), "batch_size", 0)
        if data.get("world_size") != self.env.world_size or data.get("batch_size") != batch:
            self.logger.message(
                f"note: the run was saved with {data.get('world_size')} process(es) x batch {data.get('batch_size')}, "
                f"now {self.env.world_size} x {batch}; training goes on but the data order differs from a straight run"
            )
        self.last_saved_step = self.step


def config_diff(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    keys = sorted(set(saved) | set(current))
    out = []
    for k in keys:
        a, b = saved.get(k), current.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def replace_run(cfg: Any, **changes: Any) -> Any:
    """A copy of ``cfg`` with fields of ``cfg.run`` changed."""
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, **changes))
