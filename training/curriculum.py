"""Composer task sampling (Composer 4.3): the progressive curriculum over target patterns and
the conditional / marginal sampler for non-target tracks.

A target pattern is a non-empty subset of the K tracks. At the start only single-track
patterns are drawn (1/K each); the distribution moves towards uniform over all 2^K - 1
patterns (joint generation of all K included) as training goes on.
"""

from __future__ import annotations

import math
from itertools import combinations

import torch
from torch import Tensor

from jen_core.errors import JenError
from jen_core.pipelines.tracks import Role

SCHEDULES = ("linear", "cosine", "staged")


def target_patterns(tracks: int) -> list[tuple[int, ...]]:
    """All 2^K - 1 non-empty subsets of range(K), by size then lexicographically."""
    return [c for size in range(1, tracks + 1) for c in combinations(range(tracks), size)]


class Curriculum:
    """Pattern probabilities as a function of the training step.

    progress a = clamp((step - start_step) / steps, 0, 1); linear: p = (1 - a) p_start + a p_end;
    cosine: the same blend with a' = (1 - cos(pi a)) / 2; staged: stage s = min(K, 1 + floor(a K))
    is uniform over the patterns of at most s tracks (stage 1 = p_start, stage K = p_end).
    """

    def __init__(self, *, tracks: int, schedule: str = "linear", start_step: int = 0, steps: int = 100_000) -> None:
        if schedule not in SCHEDULES:
            raise JenError(f"unknown curriculum schedule '{schedule}'; choose one of {', '.join(SCHEDULES)}")
        if steps < 1 or tracks < 1:
            raise JenError("curriculum needs steps >= 1 and tracks >= 1")
        self.tracks, self.schedule, self.start_step, self.steps = tracks, schedule, start_step, steps
        self.patterns = target_patterns(tracks)
        sizes = torch.tensor([len(p) for p in self.patterns], dtype=torch.float64)
        self.sizes = sizes
        self.p_start = (sizes == 1).double() / tracks
        self.p_end = torch.full((len(self.patterns),), 1.0 / len(self.patterns), dtype=torch.float64)

    def progress(self, step: int) -> float:
        return min(1.0, max(0.0, (step - self.start_step) / self.steps))

    def probabilities(self, step: int) -> Tensor:
        """[2^K - 1] float64 probabilities of ``self.patterns`` at ``step``."""
        a = self.progress(step)
        if self.schedule == "staged":
            stage = min(self.tracks, 1 + math.floor(a * self.tracks))
            allowed = (self.sizes <= stage).double()
            return allowed / allowed.sum()
        if self.schedule == "cosine":
            a = (1.0 - math.cos(math.pi * a)) / 2.0
        return (1.0 - a) * self.p_start + a * self.p_end

    def sample(self, step: int, n: int, *, generator: torch.Generator | None = None) -> list[tuple[int, ...]]:
        """``n`` target patterns drawn independently at ``step``."""
        idx = torch.multinomial(self.probabilities(step), n, replacement=True, generator=generator)
        return [self.patterns[i] for i in idx.tolist()]


def sample_roles(
    targets: tuple[int, ...], *, tracks: int, p1: float, generator: torch.Generator | None = None
) -> list[Role]:
    """Roles of the K tracks: targets are TARGET; each other track is KEPT (t = 0) with
    probability ``p1`` and ABSENT (t = T) otherwise, drawn per track (the inference
    pipeline mixes kept and absent tracks in one call, so training covers every mix)."""
    draws = torch.rand(tracks, generator=generator).tolist()
    return [Role.TARGET if i in targets else (Role.KEPT if draws[i] < p1 else Role.ABSENT) for i in range(tracks)]
