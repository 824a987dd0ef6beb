"""Latent whitening, JEN-1 Algorithm 1 ("Normalizing Latent Embedding Space").

1. mean and covariance of the pooled latent frames of all stems and mixes
   (batch-incremental, float64, Chan/Welford parallel merge so DDP ranks can be combined);
2. ``U, Λ, Uᵀ = SVD(Σ)``;
3. ``W = (U sqrt(Λ⁻¹))[:, :k]`` with ``k = whitened_dim(C, 0.9)`` (115 of 128);
4. ``z̃ = (z - μ) W`` per frame; the inverse uses the pseudo-inverse ``W⁺ = sqrt(Λ_k) U_kᵀ``.

One transform serves all tracks. ``LatentWhitener`` holds plain float32 buffers, so its
state_dict round-trips through safetensors.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jen_core.errors import JenError
from jen_core.presets import whitened_dim


def _frames(z: Tensor, dim: int) -> Tensor:
    """z: [B, C, S] or [N, C] -> float64 frames [N, C]."""
    if z.dim() == 3 and z.shape[1] == dim:
        x = z.detach().transpose(1, 2).reshape(-1, dim)
    elif z.dim() == 2 and z.shape[1] == dim:
        x = z.detach()
    else:
        raise JenError(f"whitening stats expect latents [B, {dim}, S] or [N, {dim}], got {tuple(z.shape)}")
    return x.to(torch.float64)


class WhiteningStats:
    """Running mean and covariance of latent frames (float64, CPU).

    ``update`` pools all frames of a batch; ``merge`` combines two partial results exactly
    (Chan et al. parallel algorithm), e.g. one per DDP rank. ``covariance`` is the unbiased
    estimate (divides by ``count - 1``, like ``torch.cov``).
    """

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise JenError(f"whitening dim must be >= 1, got {dim}")
        self.dim = dim
        self.count = 0
        self._mean = torch.zeros(dim, dtype=torch.float64)
        self._m2 = torch.zeros(dim, dim, dtype=torch.float64)  # sum of outer products of deviations

    def update(self, z: Tensor) -> None:
        """Add the frames of z: [B, C, S] (frames pooled over B and S) or [N, C]."""
        x = _frames(z, self.dim)
        n = x.shape[0]
        if n == 0:
            return
        mean = x.mean(dim=0)
        dev = x - mean
        self._combine(n, mean.cpu(), (dev.T @ dev).cpu())

    def _combine(self, n: int, mean: Tensor, m2: Tensor) -> None:
        total = self.count + n
        delta = mean - self._mean
        self._mean = self._mean + delta * (n / total)
        self._m2 = self._m2 + m2 + torch.outer(delta, delta) * (self.count * n / total)
        self.count = total

    @property
    def mean(self) -> Tensor:
        """[C] float64."""
        if self.count == 0:
            raise JenError("whitening stats are empty: update() them with latents first")
        return self._mean.clone()

    @property
    def covariance(self) -> Tensor:
        """[C, C] float64, unbiased."""
        if self.count < 2:
            raise JenError(f"whitening needs at least 2 latent frames, got {self.count}")
        return self._m2 / (self.count - 1)

    def merge(self, other: WhiteningStats) -> WhiteningStats:
        """New stats equal to having seen the frames of both (neither input changes)."""
        if other.dim != self.dim:
            raise JenError(f"cannot merge whitening stats of dim {self.dim} and {other.dim}")
        out = WhiteningStats(self.dim)
        out.count, out._mean, out._m2 = self.count, self._mean.clone(), self._m2.clone()
        if other.count:
            out._combine(other.count, other._mean, other._m2)
        return out

    def state_dict(self) -> dict[str, Tensor]:
        """Tensors to save or all-gather across ranks: count [1] int64, mean [C], m2 [C, C] float64."""
        return {
            "count": torch.tensor([self.count], dtype=torch.int64),
            "mean": self._mean.clone(),
            "m2": self._m2.clone(),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor]) -> WhiteningStats:
        """Inverse of ``state_dict``."""
        mean = state["mean"].to(torch.float64).cpu()
        out = cls(mean.shape[0])
        out.count = int(state["count"].reshape(-1)[0])
        out._mean, out._m2 = mean, state["m2"].to(torch.float64).cpu()
        return out

    def finalize(self, *, keep: float = 0.9) -> LatentWhitener:
        """Algorithm 1 on the accumulated statistics; keeps k = ``whitened_dim(C, keep)`` channels."""
        if not 0.0 < keep <= 1.0:
            raise JenError(f"whitening keep must be in (0, 1], got {keep}")
        return LatentWhitener.from_stats(self.mean, self.covariance, k=whitened_dim(self.dim, keep))


def whitening_transform(mean: Tensor, covariance: Tensor, *, k: int, eps: float = 1e-8) -> tuple[Tensor, Tensor]:
    """Algorithm 1 steps 2-3 in float64: returns (W [C, k], W⁺ [k, C]).

    Eigenvalues below ``eps`` times the largest are floored there, so a rank-deficient
    covariance gives large but finite weights instead of inf/NaN. The sign of each singular
    vector is fixed (largest-magnitude entry positive) so the result is deterministic.
    """
    dim = mean.shape[-1]
    if mean.shape != (dim,) or covariance.shape != (dim, dim):
        raise JenError(
            f"whitening needs mean [C] and covariance [C, C], got {tuple(mean.shape)}, {tuple(covariance.shape)}"
        )
    if not 1 <= k <= dim:
        raise JenError(f"whitening k must be in [1, {dim}], got {k}")
    cov = covariance.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(cov).all()) or not bool(torch.isfinite(mean).all()):
        raise JenError("latent statistics contain NaN or inf; check the autoencoder outputs")
    cov = (cov + cov.T) / 2
    u, lam, _ = torch.linalg.svd(cov)
    if float(lam[0]) <= 0.0:
        raise JenError("latent covariance is zero (all latents equal); fit whitening on real encoded audio")
    lam = lam.clamp(min=eps * float(lam[0]))
    pivot = u.abs().argmax(dim=0)
    u = u * torch.sign(u[pivot, torch.arange(dim)])
    u_k, lam_k = u[:, :k], lam[:k]
    return u_k * lam_k.rsqrt(), lam_k.sqrt()[:, None] * u_k.T


class LatentWhitener(nn.Module):
    """Fixed affine whitening of latent frames: buffers mean [C], weight W [C, k], inverse W⁺ [k, C].

    Initialised to the identity restricted to the first k channels; fit with
    ``WhiteningStats.finalize`` or ``from_stats``. Works on any leading dims: z [..., C, S].
    """

    mean: Tensor
    weight: Tensor
    inverse: Tensor

    def __init__(self, dim: int, k: int) -> None:
        super().__init__()
        if not 1 <= k <= dim:
            raise JenError(f"whitening k must be in [1, {dim}], got {k}")
        eye = torch.eye(dim, dtype=torch.float32)
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float32))
        self.register_buffer("weight", eye[:, :k].clone())
        self.register_buffer("inverse", eye[:k, :].clone())

    @classmethod
    def from_stats(cls, mean: Tensor, covariance: Tensor, *, k: int, eps: float = 1e-8) -> LatentWhitener:
        """Whitener from mean [C] and covariance [C, C] (Algorithm 1)."""
        weight, inverse = whitening_transform(mean, covariance, k=k, eps=eps)
        out = cls(mean.shape[-1], k)
        out.mean.copy_(mean.detach().to(torch.float64).cpu())
        out.weight.copy_(weight)
        out.inverse.copy_(inverse)
        return out

    @property
    def dim(self) -> int:
        return self.weight.shape[0]

    @property
    def k(self) -> int:
        return self.weight.shape[1]

    def whiten(self, z: Tensor) -> Tensor:
        """z: [..., C, S] -> [..., k, S]; (z - mean) W per frame."""
        if z.dim() < 2 or z.shape[-2] != self.dim:
            raise JenError(f"expected latents [..., {self.dim}, S], got {tuple(z.shape)}")
        mean = self.mean.to(z.dtype)[:, None]
        return torch.einsum("...cs,ck->...ks", z - mean, self.weight.to(z.dtype))

    def unwhiten(self, y: Tensor) -> Tensor:
        """y: [..., k, S] -> [..., C, S]; y W⁺ + mean per frame."""
        if y.dim() < 2 or y.shape[-2] != self.k:
            raise JenError(f"expected whitened latents [..., {self.k}, S], got {tuple(y.shape)}")
        z = torch.einsum("...ks,kc->...cs", y, self.inverse.to(y.dtype))
        return z + self.mean.to(y.dtype)[:, None]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, k={self.k}"
