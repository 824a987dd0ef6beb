"""Autoencoder losses (JEN-1 IV-A, after SoundStream / EnCodec): multi-resolution STFT,
waveform L1, and a multi-scale STFT discriminator with feature matching and hinge or
least-squares adversarial losses. Everything runs in float32 (call outside autocast).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from jen_core.autoencoder.spectral import mel_filterbank

EPS = 1e-5


def _stft(x: Tensor, n_fft: int, hop: int, window: Tensor) -> Tensor:
    """x: [N, L] -> complex [N, n_fft // 2 + 1, frames]."""
    return torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=window, return_complex=True)


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1, averaged over FFT sizes (ParallelWaveGAN style).

    forward(est [B, C, L], ref [B, C, L]) -> scalar. Hop = n_fft / 4, Hann windows.
    """

    def __init__(self, ffts: tuple[int, ...] = (2048, 1024, 512, 256, 128)) -> None:
        super().__init__()
        self.ffts = tuple(int(n) for n in ffts)
        for n in self.ffts:
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)

    def forward(self, est: Tensor, ref: Tensor) -> Tensor:
        est = est.float().reshape(-1, est.shape[-1])
        ref = ref.float().reshape(-1, ref.shape[-1])
        total = est.new_zeros(())
        for n in self.ffts:
            window = getattr(self, f"window_{n}")
            e = _stft(est, n, max(1, n // 4), window).abs()
            r = _stft(ref, n, max(1, n // 4), window).abs()
            sc = torch.linalg.vector_norm(r - e, dim=(1, 2)) / torch.linalg.vector_norm(r, dim=(1, 2)).clamp_min(EPS)
            logmag = (torch.log(r.clamp_min(EPS)) - torch.log(e.clamp_min(EPS))).abs().mean(dim=(1, 2))
            total = total + (sc + logmag).mean()
        return total / len(self.ffts)


class MultiScaleMelLoss(nn.Module):
    """Mean |log10 mel(ref) - log10 mel(est)| over (FFT size, mel bands) pairs, magnitudes floored at 1e-5
    (DAC / Vocos habit). Bands pool neighbouring bins, so an estimate with the right spectral envelope and
    loudness but not yet the right fine structure is rewarded, which the per-bin terms of
    :class:`MultiResolutionSTFTLoss` are not: on sparse (tonal, synthetic) spectra those alone pull an
    early codec towards quiet output. forward(est [B, C, L], ref [B, C, L]) -> scalar."""

    def __init__(
        self, sample_rate: int, ffts: tuple[int, ...] = (2048, 1024, 512, 256), mels: tuple[int, ...] = (128, 64, 32, 16)
    ) -> None:
        super().__init__()
        if len(ffts) != len(mels) or not ffts:
            raise ValueError("MultiScaleMelLoss needs one mel band count per FFT size")
        self.pairs = tuple(zip((int(n) for n in ffts), (int(m) for m in mels), strict=True))
        for n, m in self.pairs:
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)
            self.register_buffer(f"mel_{n}", mel_filterbank(sample_rate, n, m), persistent=False)

    def forward(self, est: Tensor, ref: Tensor) -> Tensor:
        est = est.float().reshape(-1, est.shape[-1])
        ref = ref.float().reshape(-1, ref.shape[-1])
        total = est.new_zeros(())
        for n, _ in self.pairs:
            window, basis = getattr(self, f"window_{n}"), getattr(self, f"mel_{n}")
            e = torch.matmul(basis, _stft(est, n, n // 4, window).abs())
            r = torch.matmul(basis, _stft(ref, n, n // 4, window).abs())
            total = total + (torch.log10(r.clamp_min(EPS)) - torch.log10(e.clamp_min(EPS))).abs().mean()
        return total / len(self.pairs)


def waveform_l1(est: Tensor, ref: Tensor) -> Tensor:
    """Mean absolute sample error; est, ref: [B, C, L]."""
    return (est.float() - ref.float()).abs().mean()


class STFTDiscriminator(nn.Module):
    """EnCodec's STFT discriminator at one resolution: complex STFT (real, imag per channel) -> 2D convs.

    forward(wav [B, C, L]) -> (logits [B, 1, T', F'], features: list of activations).
    """

    def __init__(self, *, channels: int, filters: int, n_fft: int, dilations: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        convs = [weight_norm(nn.Conv2d(2 * channels, filters, (3, 9), padding=(1, 4)))]
        for d in dilations:
            convs.append(weight_norm(nn.Conv2d(filters, filters, (3, 9), stride=(1, 2), dilation=(d, 1), padding=(d, 4))))
        convs.append(weight_norm(nn.Conv2d(filters, filters, (3, 3), padding=(1, 1))))
        self.convs = nn.ModuleList(convs)
        self.out = weight_norm(nn.Conv2d(filters, 1, (3, 3), padding=(1, 1)))

    def forward(self, wav: Tensor) -> tuple[Tensor, list[Tensor]]:
        b, c, n = wav.shape
        spec = torch.stft(
            wav.float().reshape(b * c, n), self.n_fft, hop_length=self.hop, window=self.window,
            normalized=True, return_complex=True,
        )  # [B*C, F, T]
        spec = spec.reshape(b, c, *spec.shape[1:])
        h = torch.cat([spec.real, spec.imag], dim=1).transpose(2, 3)  # [B, 2C, T, F]
        features = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            features.append(h)
        return self.out(h), features


class MultiScaleSTFTDiscriminator(nn.Module):
    """One :class:`STFTDiscriminator` per FFT size; forward(wav [B, C, L]) -> list of (logits, features)."""

    def __init__(self, *, channels: int = 2, filters: int = 32, ffts: tuple[int, ...] = (2048, 1024, 512)) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(channels=channels, filters=filters, n_fft=int(n)) for n in ffts
        )

    def forward(self, wav: Tensor) -> list[tuple[Tensor, list[Tensor]]]:
        return [d(wav) for d in self.discriminators]


def discriminator_loss(real: list[Tensor], fake: list[Tensor], kind: str = "hinge") -> Tensor:
    """Discriminator objective over scales; real/fake: lists of logits."""
    total = real[0].new_zeros((), dtype=torch.float32)
    for r, f in zip(real, fake, strict=True):
        r, f = r.float(), f.float()
        if kind == "hinge":
            total = total + F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
        else:
            total = total + (r - 1.0).pow(2).mean() + f.pow(2).mean()
    return total / len(real)


def generator_adversarial_loss(fake: list[Tensor], kind: str = "hinge") -> Tensor:
    """Generator objective over scales; fake: list of logits of reconstructed audio."""
    total = fake[0].new_zeros((), dtype=torch.float32)
    for f in fake:
        f = f.float()
        total = total + (F.relu(1.0 - f).mean() if kind == "hinge" else (f - 1.0).pow(2).mean())
    return total / len(fake)


def feature_matching_loss(real: list[list[Tensor]], fake: list[list[Tensor]]) -> Tensor:
    """Relative L1 between discriminator activations of real and fake audio (EnCodec),
    averaged over scales and layers; real activations are treated as constants."""
    total, count = fake[0][0].new_zeros((), dtype=torch.float32), 0
    for rs, fs in zip(real, fake, strict=True):
        for r, f in zip(rs, fs, strict=True):
            r = r.detach().float()
            total = total + (f.float() - r).abs().mean() / r.abs().mean().clamp_min(EPS)
            count += 1
    return total / max(count, 1)
