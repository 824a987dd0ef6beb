"""Samplers: plain functions with one shared signature (k-diffusion style).

Each takes an epsilon-prediction ``denoise(x_t, t)``, the initial noise ``x = x_T`` (``[B, ...]``)
and a ``NoiseSchedule``; it returns the ``x_0`` estimate ``[B, ...]``. Samplers know nothing of
tasks, masks, tracks or guidance: pipelines wrap those into ``denoise``.

All three visit the same timesteps (``timesteps_for``, "trailing" spacing) and call ``denoise``
exactly ``steps`` times, then ``on_step(done, steps)`` after each step. The step after the last
visited timestep goes to the clean end (``ᾱ = 1``), so every sampler returns the model's final
``x_0`` prediction. Coefficients are computed in float64 (Python floats); ``x`` keeps its dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from jen_core.diffusion.schedule import NoiseSchedule
from jen_core.errors import JenError
from jen_core.noise import draw

DenoiseFn = Callable[[Tensor, Tensor], Tensor]
"""(x_t: [B, ...], t: LongTensor [B] of integer timesteps in [0, T-1]) -> predicted epsilon [B, ...]."""

NoiseGenerator = torch.Generator | np.random.Generator
"""Source of DDPM's per-step noise: a torch generator, or a numpy one (what pipelines pass, so every backend
draws the same numbers; see ``jen_core.noise``)."""

StepCallback = Callable[[int, int], None]
"""(steps_done starting at 1, total_steps). Raise from it to cancel; samplers let it propagate."""


class Sampler(Protocol):
    """The shared sampler signature."""

    def __call__(
        self,
        denoise: DenoiseFn,
        x: Tensor,
        schedule: NoiseSchedule,
        *,
        steps: int,
        generator: NoiseGenerator | None = None,
        on_step: StepCallback | None = None,
    ) -> Tensor: ...


def timesteps_for(schedule: NoiseSchedule, steps: int) -> Tensor:
    """The descending integer timesteps a sampler visits: LongTensor ``[steps]`` (CPU).

    "Trailing" spacing (Lin et al. 2023, diffusers ``timestep_spacing="trailing"``):
    ``t_i = round(T * (steps - i) / steps) - 1``, so the first step is always ``T - 1`` (the
    noisiest trained timestep, matching ``x_T ~ N(0, I)`` as well as the schedule allows) and
    ``steps = T`` visits every timestep. Leading spacing would start a 1-step run at ``t = 0``.
    """
    _check_steps(schedule, steps)
    i = torch.arange(steps, dtype=torch.int64)
    # round-half-up of T * (steps - i) / steps in exact integer arithmetic
    return (2 * schedule.T * (steps - i) + steps) // (2 * steps) - 1


# ---------------------------------------------------------------------------- samplers


def ddpm(
    denoise: DenoiseFn,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    generator: NoiseGenerator | None = None,
    on_step: StepCallback | None = None,
) -> Tensor:
    """Ancestral DDPM sampling (Ho et al. 2020) with posterior variance β̃.

    ``steps < T`` respaces the chain (improved-DDPM / diffusers): for consecutive visited
    timesteps ``t > s``, ``β'_t = 1 - ᾱ_t / ᾱ_s``. No noise is added at the last step.
    x: ``[B, ...]`` initial noise. Returns ``[B, ...]``.
    """
    plan = _plan(schedule, steps, x)
    for i, (t, a_t, a_prev) in enumerate(plan):
        eps = _predict(denoise, x, t)
        x0 = (x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        beta = 1.0 - a_t / a_prev
        c_x0 = math.sqrt(a_prev) * beta / (1.0 - a_t)
        c_xt = math.sqrt(1.0 - beta) * (1.0 - a_prev) / (1.0 - a_t)
        x = c_x0 * x0 + c_xt * x
        if i < steps - 1:
            variance = (1.0 - a_prev) / (1.0 - a_t) * beta
            x = x + math.sqrt(variance) * _noise(x, generator)
        _report(on_step, i, steps)
    return x


def ddim(
    denoise: DenoiseFn,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    generator: NoiseGenerator | None = None,
    on_step: StepCallback | None = None,
    eta: float = 0.0,
) -> Tensor:
    """DDIM (Song et al. 2021); ``eta = 0`` is deterministic, ``eta = 1`` matches DDPM's variance.

    Trailing spacing (see ``timesteps_for``); the final step goes to ``ᾱ = 1``, i.e. returns
    the last ``x_0`` prediction. x: ``[B, ...]`` initial noise. Returns ``[B, ...]``.
    """
    if not eta >= 0.0 or math.isinf(eta):
        raise JenError(f"ddim eta must be a finite number >= 0, got {eta}")
    plan = _plan(schedule, steps, x)
    for i, (t, a_t, a_prev) in enumerate(plan):
        eps = _predict(denoise, x, t)
        x0 = (x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        c_eps = math.sqrt(max(1.0 - a_prev - sigma * sigma, 0.0))
        x = math.sqrt(a_prev) * x0 + c_eps * eps
        if sigma > 0.0:
            x = x + sigma * _noise(x, generator)
        _report(on_step, i, steps)
    return x


def dpmpp_2m(
    denoise: DenoiseFn,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    generator: NoiseGenerator | None = None,
    on_step: StepCallback | None = None,
) -> Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022): data prediction, multistep 2nd order, discrete schedule.

    ``α_t = sqrt(ᾱ_t)``, ``σ_t = sqrt(1 - ᾱ_t)``, ``λ_t = log(α_t / σ_t)``, ``h = λ_s - λ_t``.
    First step first-order (= DDIM); middle steps use the midpoint 2M update with the
    previous ``x_0`` prediction; the final step is first-order to ``σ = 0``, i.e. returns the
    last ``x_0`` prediction. Deterministic: ``generator`` is accepted for the shared signature.
    x: ``[B, ...]`` initial noise. Returns ``[B, ...]``.
    """
    del generator
    plan = _plan(schedule, steps, x)
    alphas = [math.sqrt(a) for _, a, _ in plan]
    sigmas = [math.sqrt(1.0 - a) for _, a, _ in plan]
    lambdas = [math.log(a) - math.log(s) for a, s in zip(alphas, sigmas, strict=True)]
    x0_prev: Tensor | None = None
    h_prev = 0.0
    for i, (t, _, _) in enumerate(plan):
        eps = _predict(denoise, x, t)
        x0 = (x - sigmas[i] * eps) / alphas[i]
        if i == steps - 1:
            x = x0  # first-order step to σ = 0, α = 1
        else:
            h = lambdas[i + 1] - lambdas[i]
            c_x = sigmas[i + 1] / sigmas[i]
            c_d = -alphas[i + 1] * math.expm1(-h)
            if x0_prev is None:
                d = x0
            else:
                r = h_prev / h
                d = x0 + (0.5 / r) * (x0 - x0_prev)  # D0 + D1 / 2, D1 = (x0 - x0_prev) / r
            x = c_x * x + c_d * d
            x0_prev, h_prev = x0, h
        _report(on_step, i, steps)
    return x


SAMPLERS: dict[str, Sampler] = {"ddpm": ddpm, "ddim": ddim, "dpmpp": dpmpp_2m}


def get_sampler(name: str) -> Sampler:
    """Look a sampler up by name (``ddpm``, ``ddim``, ``dpmpp``); JenError on an unknown name."""
    try:
        return SAMPLERS[name.strip().lower()]
    except (KeyError, AttributeError):
        raise JenError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}") from None


# ---------------------------------------------------------------------------- helpers


def _check_steps(schedule: NoiseSchedule, steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= schedule.T:
        raise JenError(f"sampling steps must be an integer in 1..{schedule.T}, got {steps!r}")


def _plan(schedule: NoiseSchedule, steps: int, x: Tensor) -> list[tuple[int, float, float]]:
    """``(t, ᾱ_t, ᾱ_next)`` per step as Python ints/floats (float64); ``ᾱ_next = 1`` on the last step."""
    if x.ndim < 1 or not x.is_floating_point():
        raise JenError(f"sampler input must be a floating tensor [B, ...], got {x.dtype} {tuple(x.shape)}")
    ts = timesteps_for(schedule, steps).tolist()
    ac = schedule.alphas_cumprod.tolist()
    return [(t, ac[t], ac[ts[i + 1]] if i + 1 < len(ts) else 1.0) for i, t in enumerate(ts)]


def _predict(denoise: DenoiseFn, x: Tensor, t: int) -> Tensor:
    t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
    eps = denoise(x, t_batch)
    if eps.shape != x.shape:
        raise ValueError(f"denoise returned shape {tuple(eps.shape)} for input {tuple(x.shape)}")
    return eps.to(x.dtype)


def _noise(x: Tensor, generator: NoiseGenerator | None) -> Tensor:
    """Standard normal like ``x``, drawn on the generator's device (reproducible per seed), moved to x's."""
    if isinstance(generator, np.random.Generator):
        return torch.from_numpy(draw(generator, x.shape)).to(x.device, x.dtype)
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=torch.float32).to(x.device, x.dtype)


def _report(on_step: StepCallback | None, i: int, steps: int) -> None:
    if on_step is not None:
        on_step(i + 1, steps)
