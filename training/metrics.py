"""Reconstruction metrics for the autoencoder: SI-SDR and multi-resolution STFT distance."""

from __future__ import annotations

import torch
from torch import Tensor

from training.losses import MultiResolutionSTFTLoss


def si_sdr(est: Tensor, ref: Tensor, *, eps: float = 1e-8) -> Tensor:
    """Scale-invariant SDR in dB per example; est, ref: [B, C, L] (channels flattened) -> [B]."""
    est = est.double().reshape(est.shape[0], -1)
    ref = ref.double().reshape(ref.shape[0], -1)
    est = est - est.mean(dim=1, keepdim=True)
    ref = ref - ref.mean(dim=1, keepdim=True)
    scale = (est * ref).sum(dim=1, keepdim=True) / (ref.pow(2).sum(dim=1, keepdim=True) + eps)
    target = scale * ref
    noise = est - target
    return (10 * torch.log10((target.pow(2).sum(dim=1) + eps) / (noise.pow(2).sum(dim=1) + eps))).float()


_MRSTFT: dict[tuple[int, ...], MultiResolutionSTFTLoss] = {}


def mrstft_distance(est: Tensor, ref: Tensor, *, ffts: tuple[int, ...] = (2048, 1024, 512, 256, 128)) -> float:
    """Multi-resolution STFT distance (spectral convergence + log-magnitude L1, mean over FFT sizes)."""
    loss = _MRSTFT.setdefault(tuple(ffts), MultiResolutionSTFTLoss(ffts))
    with torch.no_grad():
        return float(loss.to(est.device)(est, ref))
