"""Building blocks of the conv codec: residual units and the strided down/up-sampling blocks.

No normalisation layer mixes time steps, and every layer is shift-equivariant by its stride,
so a decode of a window of latent frames equals the matching slice of the full decode away
from the window edges (what chunked decoding relies on).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

RES_KERNEL = 3  # dilated conv of each residual unit
IO_KERNEL = 7  # first encoder conv and last decoder conv (waveform side)
LATENT_KERNEL = 3  # last encoder conv and first decoder conv (latent side)


def split_padding(total: int) -> tuple[int, int]:
    """Non-causal split of ``total`` padding (or trimming) samples into (left, right)."""
    right = total // 2
    return total - right, right


class ResidualUnit(nn.Module):
    """x + Conv1x1(ELU(DilatedConv_k3(ELU(x)))); x: [B, C, T] -> [B, C, T]."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, RES_KERNEL, dilation=dilation, padding=dilation * (RES_KERNEL // 2))
        self.proj = nn.Conv1d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.proj(F.elu(self.conv(F.elu(x))))


class EncoderBlock(nn.Module):
    """Residual units, ELU, strided conv (kernel 2s, stride s); x: [B, C_in, T] -> [B, C_out, T / s]."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.stride = stride
        self.residuals = nn.Sequential(*(ResidualUnit(in_channels, d) for d in dilations))
        self.down = nn.Conv1d(in_channels, out_channels, 2 * stride, stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        x = F.elu(self.residuals(x))
        return self.down(F.pad(x, split_padding(self.stride)))


class DecoderBlock(nn.Module):
    """ELU, transposed conv (kernel 2s, stride s) trimmed to exactly T * s, residual units.

    x: [B, C_in, T] -> [B, C_out, T * s].
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.stride = stride
        self.up = nn.ConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride)
        self.residuals = nn.Sequential(*(ResidualUnit(out_channels, d) for d in dilations))

    def forward(self, x: Tensor) -> Tensor:
        frames = x.shape[-1]
        y = self.up(F.elu(x))  # [B, C_out, (T + 1) * s]
        left, _ = split_padding(self.stride)
        return self.residuals(y[..., left : left + frames * self.stride])
