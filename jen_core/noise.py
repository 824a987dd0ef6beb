"""Seeded Gaussian noise drawn with numpy (PCG64), so every backend samples the same numbers.

The torch pipeline and the torch-free ONNX pipeline both draw the initial latent x_T, the
absent-track noise and DDPM's per-step noise here; tensors are made from the arrays afterwards.
Only numpy is imported, so the torch-free serving path can use this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SEED_MASK = (1 << 64) - 1


def noise_rng(seed: int) -> np.random.Generator:
    """A PCG64 generator for ``seed`` (any int; taken mod 2**64)."""
    return np.random.Generator(np.random.PCG64(int(seed) & _SEED_MASK))


def draw(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Standard normal float32 array of ``shape`` (drawn in float64, then rounded: stable across platforms)."""
    return rng.standard_normal(tuple(int(d) for d in shape), dtype=np.float64).astype(np.float32)


def gaussian(seed: int, shape: Sequence[int]) -> np.ndarray:
    """``draw(noise_rng(seed), shape)``: the same seed and shape give the same values everywhere."""
    return draw(noise_rng(seed), shape)
