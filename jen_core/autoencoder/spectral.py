"""A fixed spectral analysis encoder: log band energies of the mid and side signals every hop.

``AutoencoderConfig.encoder = "logmel"`` replaces the learned conv encoder with this analysis; the
decoder (conv or iSTFT) is still learned, with the paper's latent masking, so the codec stays a masked
autoencoder whose latent is whitened by Algorithm 1. Why: a learned 48 kHz encoder needs far more steps
than a CPU budget allows before its latent carries pitch and loudness; a log-frequency analysis carries
them from step 0 (loudness, spectral envelope, onsets and, to about a semitone above 250 Hz, pitch), and
only the decoder (a vocoder) has to be trained. The conv encoder stays the default (and the paper's).

Layout of the latent [B, mid_bands + side_bands, S]: log band magnitudes of M = (L + R) / 2, then of
S = (L - R) / 2. Bands are triangular on a warped frequency scale ``log10(1 + f / corner)`` from
``fmin`` to Nyquist: with corner 150 Hz they are close to constant-Q above a few hundred Hz, where
music's pitch lives, and are limited by the FFT's 12.5 Hz bins below.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG_FLOOR = 1e-2  # band magnitudes are floored here before the log (~80 dB below a full-scale tone's band)
CORNER_HZ = 150.0
FMIN_HZ = 25.0


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, *, fmin: float = 0.0, corner: float = 700.0
) -> Tensor:
    """Triangular filters on the scale ``log10(1 + f / corner)`` (corner 700 Hz: the HTK mel scale) from
    ``fmin`` to Nyquist, [n_mels, n_fft // 2 + 1], peaks of 1; a band narrower than a bin keeps its
    nearest bin. Computed in numpy (float64), so it also builds under a meta-device context."""
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lo, hi = np.log10(1.0 + fmin / corner), np.log10(1.0 + (sample_rate / 2) / corner)
    edges = corner * (10.0 ** np.linspace(lo, hi, n_mels + 2) - 1.0)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.clip(np.minimum((freqs[None] - lower) / (centre - lower), (upper - freqs[None]) / (upper - centre)), 0.0, None)
    empty = bank.max(axis=1) == 0
    bank[empty, np.abs(freqs[None] - centre[empty]).argmin(axis=1)] = 1.0
    return torch.tensor(bank, dtype=torch.float32)


class LogBandEncoder(nn.Module):
    """wav [B, 2, L] (L a multiple of hop) -> log band magnitudes [B, mid_bands + side_bands, L / hop].

    STFT with a periodic Hann window of ``4 * hop`` samples, zero-padded so frame m is centred on
    sample ``m * hop + hop / 2`` (the middle of its own hop, as the iSTFT head places it); shift
    equivariant by the hop, so chunked encoding with a margin of two frames is exact. No parameters.
    """

    def __init__(self, *, sample_rate: int, hop: int, mid_bands: int, side_bands: int) -> None:
        super().__init__()
        self.hop, self.n_fft = hop, 4 * hop
        self.mid_bands, self.side_bands = mid_bands, side_bands
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)
        bank = lambda n: mel_filterbank(sample_rate, self.n_fft, n, fmin=FMIN_HZ, corner=CORNER_HZ)  # noqa: E731
        self.register_buffer("mid_bank", bank(mid_bands), persistent=False)
        self.register_buffer("side_bank", bank(side_bands) if side_bands else torch.zeros(0, self.n_fft // 2 + 1),
                             persistent=False)

    def forward(self, wav: Tensor) -> Tensor:
        b = wav.shape[0]
        pad = (self.n_fft - self.hop) // 2  # frame m then spans [m * hop - pad, m * hop + hop + pad)
        mid = 0.5 * (wav[:, 0] + wav[:, 1])
        side = 0.5 * (wav[:, 0] - wav[:, 1])
        x = F.pad(torch.stack([mid, side], dim=1).reshape(2 * b, -1), (pad, pad))
        frames = wav.shape[-1] // self.hop
        # Real and imaginary parts as a last axis (not a complex tensor): ONNX's STFT op exports only this form.
        # Eager torch only warns about that form, so it is used while tracing alone; the values are the same.
        stft = dict(n_fft=self.n_fft, hop_length=self.hop, window=self.window, center=False)
        if torch.jit.is_tracing():
            parts = torch.stft(x, return_complex=False, **stft)
        else:
            parts = torch.view_as_real(torch.stft(x, return_complex=True, **stft))
        spec = parts.pow(2).sum(-1).clamp_min(1e-20).sqrt().reshape(b, 2, -1, frames)
        bands = [torch.matmul(self.mid_bank, spec[:, 0])]
        if self.side_bands:
            bands.append(torch.matmul(self.side_bank, spec[:, 1]))
        return torch.log(torch.cat(bands, dim=1).clamp_min(LOG_FLOOR))


def log_band_split(latent_dim: int) -> tuple[int, int]:
    """(mid, side) band counts of a ``logmel`` latent: four fifths mid, one fifth side."""
    side = latent_dim // 5
    return latent_dim - side, side

