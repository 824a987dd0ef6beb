"""Exponential moving average of a module's weights (the weights every trainer exports)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Shadow copy ``module`` whose parameters follow ``p_ema <- d p_ema + (1 - d) p``.

    With ``warmup`` the decay is ``min(decay, (1 + n) / (10 + n))`` after n updates, so an early
    checkpoint is not dominated by the random initialisation. Buffers are copied as they are.
    """

    def __init__(self, module: nn.Module, *, decay: float, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay = decay
        self.warmup = warmup
        self.updates = 0

    def current_decay(self) -> float:
        if self.warmup:
            return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        return self.decay

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        d = self.current_decay()
        for e, p in zip(self.module.parameters(), module.parameters(), strict=True):
            e.lerp_(p.detach().to(e.dtype), 1.0 - d)
        for e, b in zip(self.module.buffers(), module.buffers(), strict=True):
            e.copy_(b)
        self.updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], *, updates: int) -> None:
        self.module.load_state_dict(state)
        self.updates = updates
