"""AdamW and the learning-rate schedule of the papers (linear decay from 3e-5, optional warm-up)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import LambdaLR

from training.config import OptimConfig


def build_optimizer(module: nn.Module, cfg: OptimConfig) -> AdamW:
    """AdamW over ``module``'s trainable parameters; decoupled weight decay on matrices and
    convolution kernels only (biases, norm scales and 1-D parameters are not decayed)."""
    decay, no_decay = [], []
    for _, p in module.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return AdamW([g for g in groups if g["params"]], lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)


def lr_factor(cfg: OptimConfig) -> Callable[[int], float]:
    """Multiplier of ``cfg.lr`` after ``n`` optimiser updates: linear warm-up over ``warmup_steps``,
    then linear decay to ``final_lr_ratio`` over ``decay_steps``, then constant."""

    def factor(n: int) -> float:
        if cfg.warmup_steps and n < cfg.warmup_steps:
            return (n + 1) / cfg.warmup_steps
        done = min(1.0, (n - cfg.warmup_steps) / cfg.decay_steps)
        return 1.0 - (1.0 - cfg.final_lr_ratio) * done

    return factor


def build_scheduler(opt: Optimizer, cfg: OptimConfig) -> LambdaLR:
    return LambdaLR(opt, lr_factor(cfg))
