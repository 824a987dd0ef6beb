"""Composer task sampler: the curriculum's pattern frequencies and the p1 kept/absent sampler."""

from __future__ import annotations

import math

import pytest
import torch

from jen_core.errors import JenError
from jen_core.pipelines.tracks import Role
from training.curriculum import Curriculum, sample_roles, target_patterns

N = 30_000


def _frequencies(cur: Curriculum, step: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    drawn = cur.sample(step, N, generator=g)
    index = {p: i for i, p in enumerate(cur.patterns)}
    counts = torch.zeros(len(cur.patterns), dtype=torch.float64)
    for p in drawn:
        counts[index[p]] += 1
    return counts / N


def _within_sampling_error(freq: torch.Tensor, p: torch.Tensor) -> bool:
    sigma = (p * (1 - p) / N).sqrt()
    return bool(((freq - p).abs() <= 4.5 * sigma + 1e-12).all())


def test_patterns_are_all_non_empty_subsets() -> None:
    pats = target_patterns(4)
    assert len(pats) == 15 and len(set(pats)) == 15 and pats[-1] == (0, 1, 2, 3)


def test_linear_curriculum_start_middle_end() -> None:
    cur = Curriculum(tracks=4, schedule="linear", start_step=100, steps=1000)
    singles = torch.tensor([len(p) == 1 for p in cur.patterns])
    start, middle, end = (cur.probabilities(s) for s in (0, 600, 5000))
    assert torch.allclose(start[singles], torch.full((4,), 0.25, dtype=torch.float64)) and start[~singles].sum() == 0
    assert torch.allclose(end, torch.full((15,), 1 / 15, dtype=torch.float64))
    assert torch.allclose(middle, 0.5 * start + 0.5 * end)
    for step, expected, seed in ((0, start, 0), (600, middle, 1), (5000, end, 2)):
        freq = _frequencies(cur, step, seed)
        assert _within_sampling_error(freq, expected), (step, freq, expected)
        assert freq[~singles].sum() == 0 if step == 0 else freq[-1] > 0  # joint k = K appears later on


def test_cosine_and_staged_schedules() -> None:
    cos = Curriculum(tracks=4, schedule="cosine", steps=1000)
    assert torch.allclose(cos.probabilities(500), 0.5 * cos.p_start + 0.5 * cos.p_end)
    assert cos.probabilities(250)[0] > 0.5 * cos.p_start[0] + 0.5 * cos.p_end[0]  # slower start than linear
    staged = Curriculum(tracks=4, schedule="staged", steps=1000)
    sizes = torch.tensor([len(p) for p in staged.patterns])
    stage2 = staged.probabilities(300)  # stage 2: uniform over patterns of 1 or 2 tracks
    assert torch.allclose(stage2[sizes <= 2], torch.full((10,), 0.1, dtype=torch.float64)) and stage2[sizes > 2].sum() == 0
    assert _within_sampling_error(_frequencies(staged, 300, 3), stage2)
    with pytest.raises(JenError):
        Curriculum(tracks=4, schedule="exponential")


def test_p1_kept_versus_absent_frequency() -> None:
    g = torch.Generator().manual_seed(0)
    kept = absent = 0
    for _ in range(6000):
        roles = sample_roles((1,), tracks=4, p1=0.8, generator=g)
        assert roles[1] == Role.TARGET
        kept += sum(r == Role.KEPT for r in roles)
        absent += sum(r == Role.ABSENT for r in roles)
    share, n = kept / (kept + absent), kept + absent
    assert abs(share - 0.8) <= 4.5 * math.sqrt(0.8 * 0.2 / n)
