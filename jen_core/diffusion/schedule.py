"""Discrete DDPM noise schedule (JEN-1 V: linear betas 0.0015 -> 0.0195, T = 1000, epsilon prediction).

Timestep convention (diffusers / improved-DDPM): integer ``t`` in ``0..T-1`` indexes
``betas[t]`` and ``alphas_cumprod[t] = prod_{i<=t} (1 - betas[i])``, so even ``t = 0`` is
very slightly noisy (``ᾱ_0 = 1 - beta_start``). One extra index is accepted everywhere a
timestep is: ``t = T`` means "absent" (``ᾱ = 0``, pure noise), the value the Composer
gives non-target tracks in marginal mode (Composer 4.1, Fig. 3).

Forward process (JEN-1 eq. 4, Composer eq. 1): ``x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from jen_core.errors import JenError
from jen_core.presets import DiffusionConfig


class NoiseSchedule:
    """Linear-beta schedule over ``T`` discrete timesteps; knows nothing about models or tasks.

    Attributes:
        T: number of training timesteps.
        betas: ``[T]`` float64, linear from ``beta_start`` to ``beta_end``.
        alphas_cumprod: ``[T]`` float64, ``ᾱ_t``, strictly decreasing.
    """

    def __init__(self, *, timesteps: int = 1000, beta_start: float = 0.0015, beta_end: float = 0.0195) -> None:
        if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
            raise JenError(f"diffusion timesteps must be a positive integer, got {timesteps!r}")
        if not 0.0 < beta_start <= beta_end < 1.0:
            raise JenError(f"diffusion betas must satisfy 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
        self.T: int = timesteps
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)
        self.betas: Tensor = torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
        self.alphas_cumprod: Tensor = torch.cumprod(1.0 - self.betas, dim=0)
        # [T + 1] tables: index T is the "absent" timestep (ᾱ = 0).
        ac = torch.cat([self.alphas_cumprod, self.alphas_cumprod.new_zeros(1)])
        self._sqrt_ac = ac.sqrt()
        self._sqrt_one_minus_ac = (1.0 - ac).sqrt()
        self._cache: dict[tuple[str, torch.device, torch.dtype], Tensor] = {}

    @classmethod
    def from_config(cls, cfg: DiffusionConfig) -> NoiseSchedule:
        """Build the schedule described by a ``DiffusionConfig``."""
        return cls(timesteps=cfg.timesteps, beta_start=cfg.beta_start, beta_end=cfg.beta_end)

    def __repr__(self) -> str:
        return f"NoiseSchedule(timesteps={self.T}, beta_start={self.beta_start}, beta_end={self.beta_end})"

    # ------------------------------------------------------------------ coefficients

    def alpha_sigma(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """``(sqrt(ᾱ_t), sqrt(1 - ᾱ_t))`` as float32 on ``t``'s device, each the same shape as ``t``.

        t: integer tensor of any shape with values in ``0..T`` (``T`` = absent, ``ᾱ = 0``).
        """
        return self._lookup("alpha", t, torch.float32), self._lookup("sigma", t, torch.float32)

    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """Forward process ``x_t = sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) noise``.

        x0, noise: ``[B, ...]`` (same shape). t: ``[B]`` (one timestep per example, broadcast over
        the remaining dims) or ``[B, K]`` with x0 ``[B, K, ...]`` (one timestep per track, the
        Composer timestep vector). Any leading-dims match works; a 0-dim ``t`` applies to all.
        Returns ``[B, ...]`` in x0's dtype.
        """
        _check_same_shape(x0, noise, "x0", "noise")
        a, s = self._coefs(t, x0)
        return a * x0 + s * noise

    def eps_to_x0(self, x_t: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """``x0 = (x_t - sqrt(1 - ᾱ_t) eps) / sqrt(ᾱ_t)``; shapes and broadcasting as ``add_noise``.

        Undefined (division by zero) for the absent timestep ``t = T``.
        """
        _check_same_shape(x_t, eps, "x_t", "eps")
        a, s = self._coefs(t, x_t)
        return (x_t - s * eps) / a

    def x0_to_eps(self, x_t: Tensor, x0: Tensor, t: Tensor) -> Tensor:
        """``eps = (x_t - sqrt(ᾱ_t) x0) / sqrt(1 - ᾱ_t)``; shapes and broadcasting as ``add_noise``."""
        _check_same_shape(x_t, x0, "x_t", "x0")
        a, s = self._coefs(t, x_t)
        return (x_t - a * x0) / s

    def v_target(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """``v = sqrt(ᾱ_t) eps - sqrt(1 - ᾱ_t) x0`` (Salimans & Ho 2022); shapes as ``add_noise``."""
        _check_same_shape(x0, eps, "x0", "eps")
        a, s = self._coefs(t, x0)
        return a * eps - s * x0

    def to_eps(self, out: Tensor, x_t: Tensor, t: Tensor, prediction: str) -> Tensor:
        """A UNet output as epsilon: itself for ``epsilon``, ``sqrt(ᾱ_t) v + sqrt(1 - ᾱ_t) x_t`` for ``v``."""
        if prediction == "epsilon":
            return out
        if prediction != "v":
            raise JenError(f"unknown prediction {prediction!r}; choose epsilon or v")
        _check_same_shape(x_t, out, "x_t", "v")
        a, s = self._coefs(t, x_t)
        return a * out + s * x_t

    # ------------------------------------------------------------------ internals

    def _coefs(self, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """sqrt(ᾱ_t), sqrt(1 - ᾱ_t) in x's dtype, reshaped to ``t.shape + (1,) * extra`` to broadcast over x."""
        t = torch.as_tensor(t, device=x.device)
        if t.ndim > x.ndim or (tuple(x.shape[: t.ndim]) != tuple(t.shape) and t.numel() != 1):
            raise JenError(f"timesteps of shape {tuple(t.shape)} do not match the leading dims of {tuple(x.shape)}")
        dtype = x.dtype if x.is_floating_point() else torch.float32
        shape = tuple(t.shape) + (1,) * (x.ndim - t.ndim)
        return self._lookup("alpha", t, dtype).reshape(shape), self._lookup("sigma", t, dtype).reshape(shape)

    def _lookup(self, which: str, t: Tensor, dtype: torch.dtype) -> Tensor:
        t = torch.as_tensor(t)
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise JenError(f"diffusion timesteps must be integers, got dtype {t.dtype}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) > self.T):
            raise JenError(f"diffusion timesteps must lie in 0..{self.T}, got {int(t.min())}..{int(t.max())}")
        key = (which, t.device, dtype)
        table = self._cache.get(key)
        if table is None:
            src = self._sqrt_ac if which == "alpha" else self._sqrt_one_minus_ac
            table = src.to(dtype).to(t.device)  # cast on CPU first: some devices (mps) lack float64
            self._cache[key] = table
        return table[t.long()]


def _check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise JenError(f"{name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)} must have the same shape")
