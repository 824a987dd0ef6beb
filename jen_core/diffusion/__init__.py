"""Diffusion: noise schedule, samplers and guidance helpers (DESIGN.md section 3).

Model, schedule and sampler stay separate: samplers are plain functions with one shared
signature that take an epsilon-prediction ``denoise(x_t, t)`` and know nothing of tasks.
"""

from __future__ import annotations

from jen_core.diffusion.guidance import classifier_free, composer_guidance
from jen_core.diffusion.samplers import (
    SAMPLERS,
    DenoiseFn,
    Sampler,
    StepCallback,
    ddim,
    ddpm,
    dpmpp_2m,
    get_sampler,
    timesteps_for,
)
from jen_core.diffusion.schedule import NoiseSchedule

__all__ = [
    "SAMPLERS",
    "DenoiseFn",
    "NoiseSchedule",
    "Sampler",
    "StepCallback",
    "classifier_free",
    "composer_guidance",
    "ddim",
    "ddpm",
    "dpmpp_2m",
    "get_sampler",
    "timesteps_for",
]
