"""Noise schedule, samplers and guidance in numpy: a line-by-line mirror of ``jen_core.diffusion``.

The torch-free serving path samples with these. They keep jen_core's shared sampler signature
(``denoise(x_t, t) -> eps``, ``x = x_T``, ``steps``, ``generator``, ``on_step``), its trailing
timestep spacing, its float64 coefficients and its float32 state, so both backends give the
same numbers; tests pin them to the golden values of ``tests/jen_core/test_diffusion.py``.
Only numpy is imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from jen_core.errors import JenError
from jen_core.noise import draw
from jen_core.presets import DiffusionConfig

DenoiseFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(x_t: [B, ...] float32, t: int64 [B] timesteps in [0, T-1]) -> predicted epsilon [B, ...]."""

StepCallback = Callable[[int, int], None]
"""(steps_done starting at 1, total_steps). Raise from it to cancel."""

NoiseFn = Callable[[tuple[int, ...]], np.ndarray]
"""shape -> standard normal float32 array; DDPM's per-step noise."""


class NumpySchedule:
    """Linear-beta schedule over ``T`` timesteps (float64), as ``jen_core.diffusion.NoiseSchedule``."""

    def __init__(self, *, timesteps: int = 1000, beta_start: float = 0.0015, beta_end: float = 0.0195) -> None:
        if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
            raise JenError(f"diffusion timesteps must be a positive integer, got {timesteps!r}")
        if not 0.0 < beta_start <= beta_end < 1.0:
            raise JenError(f"diffusion betas must satisfy 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
        self.T = timesteps
        self.betas = np.linspace(beta_start, beta_end, timesteps, dtype=np.float64)
        self.alphas_cumprod = np.cumprod(1.0 - self.betas)

    @classmethod
    def from_config(cls, cfg: DiffusionConfig) -> NumpySchedule:
        return cls(timesteps=cfg.timesteps, beta_start=cfg.beta_start, beta_end=cfg.beta_end)

    def to_eps(self, out: np.ndarray, x_t: np.ndarray, t: np.ndarray, prediction: str) -> np.ndarray:
        """As ``NoiseSchedule.to_eps``: a v prediction as epsilon; t [B] integer timesteps."""
        if prediction == "epsilon":
            return out
        if prediction != "v":
            raise JenError(f"unknown prediction {prediction!r}; choose epsilon or v")
        ac = self.alphas_cumprod[np.asarray(t, np.int64)].reshape((-1,) + (1,) * (x_t.ndim - 1))
        return (np.sqrt(ac) * out + np.sqrt(1.0 - ac) * x_t).astype(x_t.dtype, copy=False)


class NumpySampler(Protocol):
    def __call__(
        self,
        denoise: DenoiseFn,
        x: np.ndarray,
        schedule: NumpySchedule,
        *,
        steps: int,
        generator: np.random.Generator | NoiseFn | None = None,
        on_step: StepCallback | None = None,
    ) -> np.ndarray: ...


def timesteps_for(schedule: NumpySchedule, steps: int) -> np.ndarray:
    """Descending int64 timesteps ``[steps]``, trailing spacing: ``round(T (steps - i) / steps) - 1``."""
    _check_steps(schedule, steps)
    i = np.arange(steps, dtype=np.int64)
    return (2 * schedule.T * (steps - i) + steps) // (2 * steps) - 1


def ddpm(
    denoise: DenoiseFn,
    x: np.ndarray,
    schedule: NumpySchedule,
    *,
    steps: int,
    generator: np.random.Generator | NoiseFn | None = None,
    on_step: StepCallback | None = None,
) -> np.ndarray:
    """Ancestral DDPM with posterior variance (respaced for ``steps < T``). x: [B, ...] -> [B, ...]."""
    plan = _plan(schedule, steps, x)
    noise = _noise_fn(generator)
    for i, (t, a_t, a_prev) in enumerate(plan):
        eps = _predict(denoise, x, t)
        x0 = (x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        beta = 1.0 - a_t / a_prev
        c_x0 = math.sqrt(a_prev) * beta / (1.0 - a_t)
        c_xt = math.sqrt(1.0 - beta) * (1.0 - a_prev) / (1.0 - a_t)
        x = c_x0 * x0 + c_xt * x
        if i < steps - 1:
            variance = (1.0 - a_prev) / (1.0 - a_t) * beta
            x = x + math.sqrt(variance) * noise(x.shape).astype(x.dtype)
        _report(on_step, i, steps)
    return x


def ddim(
    denoise: DenoiseFn,
    x: np.ndarray,
    schedule: NumpySchedule,
    *,
    steps: int,
    generator: np.random.Generator | NoiseFn | None = None,
    on_step: StepCallback | None = None,
    eta: float = 0.0,
) -> np.ndarray:
    """DDIM; ``eta = 0`` deterministic. x: [B, ...] -> [B, ...] (the last x_0 prediction)."""
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
            x = x + sigma * _noise_fn(generator)(x.shape).astype(x.dtype)
        _report(on_step, i, steps)
    return x


def dpmpp_2m(
    denoise: DenoiseFn,
    x: np.ndarray,
    schedule: NumpySchedule,
    *,
    steps: int,
    generator: np.random.Generator | NoiseFn | None = None,
    on_step: StepCallback | None = None,
) -> np.ndarray:
    """DPM-Solver++(2M), data prediction, discrete schedule; deterministic. x: [B, ...] -> [B, ...]."""
    del generator
    plan = _plan(schedule, steps, x)
    alphas = [math.sqrt(a) for _, a, _ in plan]
    sigmas = [math.sqrt(1.0 - a) for _, a, _ in plan]
    lambdas = [math.log(a) - math.log(s) for a, s in zip(alphas, sigmas, strict=True)]
    x0_prev: np.ndarray | None = None
    h_prev = 0.0
    for i, (t, _, _) in enumerate(plan):
        eps = _predict(denoise, x, t)
        x0 = (x - sigmas[i] * eps) / alphas[i]
        if i == steps - 1:
            x = x0
        else:
            h = lambdas[i + 1] - lambdas[i]
            c_x = sigmas[i + 1] / sigmas[i]
            c_d = -alphas[i + 1] * math.expm1(-h)
            if x0_prev is None:
                d = x0
            else:
                r = h_prev / h
                d = x0 + (0.5 / r) * (x0 - x0_prev)
            x = c_x * x + c_d * d
            x0_prev, h_prev = x0, h
        _report(on_step, i, steps)
    return x


SAMPLERS: dict[str, NumpySampler] = {"ddpm": ddpm, "ddim": ddim, "dpmpp": dpmpp_2m}


def get_sampler(name: str) -> NumpySampler:
    """Look a sampler up by name (``ddpm``, ``ddim``, ``dpmpp``); JenError on an unknown name."""
    try:
        return SAMPLERS[name.strip().lower()]
    except (KeyError, AttributeError):
        raise JenError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}") from None


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``torch.lerp`` exactly: ``start + w (end - start)`` for w < 0.5, else ``end - (end - start)(1 - w)``."""
    diff = end - start
    w = float(weight)
    return start + w * diff if abs(w) < 0.5 else end - diff * (1.0 - w)


def classifier_free(eps_cond: np.ndarray, eps_uncond: np.ndarray, scale: float) -> np.ndarray:
    """``eps_u + w (eps_c - eps_u)``; shapes [B, ...] (same)."""
    _check_shapes(eps_cond, eps_uncond, "eps_cond", "eps_uncond")
    return lerp(eps_uncond, eps_cond, scale)


def composer_guidance(eps_marginal: np.ndarray, eps_conditional: np.ndarray, lam: float) -> np.ndarray:
    """Composer eq. (6): ``(1 - λ) ε_m + λ ε_c``; shapes [B, ...] (same)."""
    _check_shapes(eps_conditional, eps_marginal, "eps_conditional", "eps_marginal")
    return lerp(eps_marginal, eps_conditional, lam)


# ---------------------------------------------------------------------------- helpers


def _check_steps(schedule: NumpySchedule, steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= schedule.T:
        raise JenError(f"sampling steps must be an integer in 1..{schedule.T}, got {steps!r}")


def _plan(schedule: NumpySchedule, steps: int, x: np.ndarray) -> list[tuple[int, float, float]]:
    if x.ndim < 1 or not np.issubdtype(x.dtype, np.floating):
        raise JenError(f"sampler input must be a floating array [B, ...], got {x.dtype} {tuple(x.shape)}")
    ts = timesteps_for(schedule, steps).tolist()
    ac = schedule.alphas_cumprod.tolist()
    return [(t, ac[t], ac[ts[i + 1]] if i + 1 < len(ts) else 1.0) for i, t in enumerate(ts)]


def _predict(denoise: DenoiseFn, x: np.ndarray, t: int) -> np.ndarray:
    eps = denoise(x, np.full((x.shape[0],), t, dtype=np.int64))
    if eps.shape != x.shape:
        raise ValueError(f"denoise returned shape {tuple(eps.shape)} for input {tuple(x.shape)}")
    return eps.astype(x.dtype, copy=False)


def _noise_fn(generator: np.random.Generator | NoiseFn | None) -> NoiseFn:
    if generator is None:
        generator = np.random.default_rng()
    if isinstance(generator, np.random.Generator):
        rng = generator
        return lambda shape: draw(rng, shape)
    return generator


def _check_shapes(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise JenError(f"{name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)} must have the same shape")


def _report(on_step: StepCallback | None, i: int, steps: int) -> None:
    if on_step is not None:
        on_step(i + 1, steps)
