"""Guidance helpers: combine two epsilon predictions of the same shape.

Both are linear extrapolations between two branches, written with ``torch.lerp`` so the
endpoints are exact (``scale = 1`` / ``lam = 1`` return the conditional branch bit for bit).
"""

from __future__ import annotations

import torch
from torch import Tensor

from jen_core.errors import JenError


def classifier_free(eps_cond: Tensor, eps_uncond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance (Ho & Salimans 2022): ``eps_u + w (eps_c - eps_u)``; JEN-1 uses w = 2.

    eps_cond, eps_uncond: ``[B, ...]`` (same shape). Returns ``[B, ...]``.
    """
    _check(eps_cond, eps_uncond, "eps_cond", "eps_uncond")
    return torch.lerp(eps_uncond, eps_cond, float(scale))


def composer_guidance(eps_marginal: Tensor, eps_conditional: Tensor, lam: float) -> Tensor:
    """JEN-1 Composer eq. (6): ``(1 - λ) ε(Z_m, e, T_m) + λ ε(Z_c, e, T_c)``; the paper uses λ = 7.

    eps_marginal: prediction with the non-target tracks absent (t = T); eps_conditional: with
    them given clean (t = 0). Both ``[B, ...]`` (same shape, e.g. ``[B, K, k, S]``). Returns ``[B, ...]``.
    """
    _check(eps_conditional, eps_marginal, "eps_conditional", "eps_marginal")
    return torch.lerp(eps_marginal, eps_conditional, float(lam))


def _check(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise JenError(f"{name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)} must have the same shape")
