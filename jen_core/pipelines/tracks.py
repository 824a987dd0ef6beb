"""Per-track roles and the UNet input they imply: the one place where JEN-1 masks and
Composer timestep vectors are laid out, shared by inference and training.

Roles (Composer 4.1, eq. 5):
- TARGET: generated; shares the sampler's timestep t; its in-context channels hold the
  known frames (mask 0) and zeros where it is generated (mask 1).
- KEPT: a given clean track, t = 0 (Z_c); noisy slot = clean latent, mask 0 everywhere.
- ABSENT: marginalised, t = T (Z_m); noisy slot = pure Gaussian noise, mask 1, context 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import torch
from torch import Tensor

from jen_core.unet import stack_inputs


class Role(IntEnum):
    TARGET = 0
    KEPT = 1
    ABSENT = 2


@dataclass
class TrackLayout:
    """What each of the K tracks is for one call.

    roles: K roles; clean: [B, K, k, S] whitened latents of the given audio (zeros where none);
    mask: [B, K, S], 1 = frame to generate (only meaningful for TARGET tracks);
    absent_noise: [B, K, k, S] fixed Gaussian noise used for tracks at t = T.
    """

    roles: list[Role]
    clean: Tensor
    mask: Tensor
    absent_noise: Tensor

    @property
    def targets(self) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r == Role.TARGET]

    def with_roles(self, roles: list[Role]) -> TrackLayout:
        return TrackLayout(roles=roles, clean=self.clean, mask=self.mask, absent_noise=self.absent_noise)

    def unet_input(self, x_targets: Tensor, t: Tensor, *, timesteps: int) -> tuple[Tensor, Tensor]:
        """Assemble (x [B, K*(2k+1), S], t_vec [B, K]) for sampler state ``x_targets`` [B, n_targets, k, S]
        at target timestep ``t`` [B]."""
        b, k_tracks = self.clean.shape[:2]
        noisy, context, mask, t_vec = [], [], [], []
        targets = iter(range(x_targets.shape[1]))
        for i, role in enumerate(self.roles):
            if role == Role.TARGET:
                m = self.mask[:, i]
                noisy.append(x_targets[:, next(targets)])
                context.append(self.clean[:, i] * (1.0 - m[:, None, :]))
                mask.append(m)
                t_vec.append(t.to(torch.float32).reshape(b))
            elif role == Role.KEPT:
                noisy.append(self.clean[:, i])
                context.append(self.clean[:, i])
                mask.append(torch.zeros_like(self.mask[:, i]))
                t_vec.append(torch.zeros(b, device=t.device))
            else:
                noisy.append(self.absent_noise[:, i])
                context.append(torch.zeros_like(self.clean[:, i]))
                mask.append(torch.ones_like(self.mask[:, i]))
                t_vec.append(torch.full((b,), float(timesteps), device=t.device))
        x = stack_inputs(torch.stack(noisy, 1), torch.stack(context, 1), torch.stack(mask, 1))
        return x, torch.stack(t_vec, 1)
