"""Inverse-STFT decoder head (Vocos habit): the decoder stops at an STFT frame rate and predicts a
log-magnitude and a phase per bin; a fixed inverse real DFT with a Hann synthesis window, written as a
transposed convolution, overlap-adds the frames into the waveform.

Why: a waveform decoder at 48 kHz spends most of its compute in its last, widest-rate convs and learns
periodic waveforms slowly; spectral heads train far faster for the same budget (the CPU recipe trains the
bundled codec in minutes). Everything is a conv, ``exp``, ``cos`` or ``sin``, so ONNX export is plain, and
every op is shift-equivariant by the hop, so chunked decoding stays exact away from the edges.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MAX_LOG_MAGNITUDE = math.log(100.0)  # clip the predicted magnitude (Vocos): keeps an untrained head finite


class InverseSTFT(nn.Module):
    """spec [N, 2 * bins, F] (log-magnitude rows, then phase rows) -> wav [N, F * hop].

    FFT size ``4 * hop``, periodic Hann synthesis window, overlap-add normalised by the window's
    squared sum (1.5 at 75 % overlap). Output sample ``m * hop + j`` (0 <= j < hop) lies in the middle
    of frame m's window, so frame m covers its own hop of samples.
    """

    def __init__(self, hop: int) -> None:
        super().__init__()
        if hop < 2 or hop % 2:
            raise ValueError(f"inverse STFT hop must be an even number >= 2, got {hop}")
        self.hop = hop
        self.n_fft = 4 * hop
        self.bins = self.n_fft // 2 + 1
        n = torch.arange(self.n_fft, dtype=torch.float64)
        k = torch.arange(self.bins, dtype=torch.float64)
        angle = 2.0 * math.pi * k[:, None] * n[None, :] / self.n_fft
        weight = torch.full((self.bins, 1), 2.0, dtype=torch.float64)
        weight[0] = weight[-1] = 1.0  # DC and Nyquist appear once in a real spectrum
        window = torch.hann_window(self.n_fft, periodic=True, dtype=torch.float64)
        scale = weight * window[None, :] / (self.n_fft * 1.5)
        basis = torch.cat([torch.cos(angle) * scale, -torch.sin(angle) * scale])  # [2 * bins, n_fft]
        self.register_buffer("basis", basis[:, None, :].float(), persistent=False)

    @property
    def radius_frames(self) -> int:
        """STFT frames on each side that reach a frame's own samples (the window spans 4 hops)."""
        return 2

    def forward(self, spec: Tensor) -> Tensor:
        frames = spec.shape[-1]
        log_mag, phase = spec.to(self.basis.dtype).split(self.bins, dim=1)
        mag = torch.exp(log_mag.clamp(max=MAX_LOG_MAGNITUDE))
        parts = torch.cat([mag * torch.cos(phase), mag * torch.sin(phase)], dim=1)
        wav = F.conv_transpose1d(parts, self.basis, stride=self.hop)[:, 0]  # [N, (F - 1) * hop + n_fft]
        start = (self.n_fft - self.hop) // 2
        return wav[:, start : start + frames * self.hop]


class ISTFTHead(nn.Module):
    """features [B, width, F] -> wav [B, channels, F * hop]: a 1x1 conv to (log-magnitude, phase) for
    every channel, then :class:`InverseSTFT`."""

    def __init__(self, width: int, channels: int, hop: int) -> None:
        super().__init__()
        self.channels = channels
        self.istft = InverseSTFT(hop)
        self.proj = nn.Conv1d(width, channels * 2 * self.istft.bins, 1)

    def forward(self, x: Tensor) -> Tensor:
        b, _, frames = x.shape
        spec = self.proj(F.elu(x)).reshape(b * self.channels, 2 * self.istft.bins, frames)
        return self.istft(spec).reshape(b, self.channels, -1)
