"""Per-track roles and the UNet input they imply, in numpy: a mirror of ``jen_core.pipelines.tracks``.

Roles (Composer 4.1, eq. 5): TARGET is generated at the sampler's t (context = known frames,
mask 1 = generate); KEPT is given clean at t = 0; ABSENT is pure noise at t = T. Only numpy is
imported, so the torch-free serving path can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Role(IntEnum):
    TARGET = 0
    KEPT = 1
    ABSENT = 2


@dataclass
class NumpyTrackLayout:
    """What each of the K tracks is for one call.

    roles: K roles; clean: [B, K, k, S] float32 whitened latents of the given audio (zeros where none);
    mask: [B, K, S] float32, 1 = frame to generate; absent_noise: [B, K, k, S] noise for tracks at t = T.
    """

    roles: list[Role]
    clean: np.ndarray
    mask: np.ndarray
    absent_noise: np.ndarray

    @property
    def targets(self) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r == Role.TARGET]

    def with_roles(self, roles: list[Role]) -> NumpyTrackLayout:
        return NumpyTrackLayout(roles=roles, clean=self.clean, mask=self.mask, absent_noise=self.absent_noise)

    def unet_input(self, x_targets: np.ndarray, t: np.ndarray, *, timesteps: int) -> tuple[np.ndarray, np.ndarray]:
        """(x [B, K*(2k+1), S] float32, t_vec [B, K] float32) for ``x_targets`` [B, n_targets, k, S] at ``t`` [B]."""
        b = self.clean.shape[0]
        noisy, context, mask, t_vec = [], [], [], []
        targets = iter(range(x_targets.shape[1]))
        for i, role in enumerate(self.roles):
            if role == Role.TARGET:
                m = self.mask[:, i]
                noisy.append(x_targets[:, next(targets)])
                context.append(self.clean[:, i] * (np.float32(1.0) - m[:, None, :]))
                mask.append(m)
                t_vec.append(np.asarray(t, dtype=np.float32).reshape(b))
            elif role == Role.KEPT:
                noisy.append(self.clean[:, i])
                context.append(self.clean[:, i])
                mask.append(np.zeros_like(self.mask[:, i]))
                t_vec.append(np.zeros(b, np.float32))
            else:
                noisy.append(self.absent_noise[:, i])
                context.append(np.zeros_like(self.clean[:, i]))
                mask.append(np.ones_like(self.mask[:, i]))
                t_vec.append(np.full((b,), float(timesteps), np.float32))
        x = stack_inputs(np.stack(noisy, 1), np.stack(context, 1), np.stack(mask, 1))
        return x, np.stack(t_vec, 1)


def stack_inputs(noisy: np.ndarray, context: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """noisy, context: [B, K, k, S]; mask: [B, K, S] -> [B, K*(2k+1), S] (track by track, as ``jen_core.unet``)."""
    b, _, _, s = noisy.shape
    out = np.concatenate([noisy, context, mask[:, :, None, :].astype(noisy.dtype)], axis=2)
    return np.ascontiguousarray(out.reshape(b, -1, s), dtype=np.float32)


def split_tracks(eps: np.ndarray, tracks: int) -> np.ndarray:
    """[B, K*k, S] -> [B, K, k, S]."""
    b, c, s = eps.shape
    return eps.reshape(b, tracks, c // tracks, s)
