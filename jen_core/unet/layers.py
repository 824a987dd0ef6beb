"""Building blocks of OmniUNet1D whose behaviour switches between bidirectional and causal
mode at call time with the same weights (JEN-1 IV-B, Fig. 2).

Causal mode: every convolution pads on the left only, down/up-sampling never looks ahead,
self-attention uses a triangular mask. Normalisation is per frame (channel groups of one
time step), so it never mixes time steps in either mode.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ModeConv1d(nn.Conv1d):
    """Conv1d with 'same' output length: centred zero padding, or left-only when causal."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:  # type: ignore[override]
        k = self.kernel_size[0]
        if causal:  # output i sees inputs <= i * stride only
            return super().forward(F.pad(x, (k - 1, 0)))
        total = k - self.stride[0]
        left = total // 2 + total % 2
        return super().forward(F.pad(x, (left, total - left)))


class FrameGroupNorm(nn.Module):
    """GroupNorm computed per time step: x [B, C, S] normalised over channel groups of each frame."""

    def __init__(self, groups: int, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"{channels} channels do not split into {groups} groups")
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        b, c, s = x.shape
        g = x.reshape(b, self.groups, c // self.groups, s)
        mean = g.mean(dim=2, keepdim=True)
        var = (g - mean).pow(2).mean(dim=2, keepdim=True)
        g = (g - mean) * torch.rsqrt(var + self.eps)
        return g.reshape(b, c, s) * self.weight[:, None] + self.bias[:, None]


class ResBlock1D(nn.Module):
    """Norm-SiLU-conv twice with the time embedding added in between, plus a skip."""

    def __init__(self, in_channels: int, out_channels: int, *, temb_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = FrameGroupNorm(groups, in_channels)
        self.conv1 = ModeConv1d(in_channels, out_channels, 3)
        self.temb = nn.Linear(temb_dim, out_channels)
        self.norm2 = FrameGroupNorm(groups, out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = ModeConv1d(out_channels, out_channels, 3)
        self.skip = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: Tensor, temb: Tensor, causal: bool) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)), causal)
        h = h + self.temb(F.silu(temb))[:, :, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))), causal)
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head attention: x [B, S, C] attends to context [B, N, Cc] (or to itself)."""

    def __init__(self, dim: int, *, context_dim: int | None = None, head_dim: int = 64) -> None:
        super().__init__()
        self.heads = max(1, dim // head_dim)
        context_dim = context_dim or dim
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """mask: bool, broadcastable to [B, heads, S, N]; True = may attend."""
        context = x if context is None else context
        b, s, c = x.shape
        q = self.to_q(x).view(b, s, self.heads, -1).transpose(1, 2)
        k = self.to_k(context).view(b, context.shape[1], self.heads, -1).transpose(1, 2)
        v = self.to_v(context).view(b, context.shape[1], self.heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.to_out(out.transpose(1, 2).reshape(b, s, c))


class TransformerBlock1D(nn.Module):
    """Self-attention, cross-attention to the text tokens, feed-forward (pre-norm, residual).

    For the unconditional branch of classifier-free guidance the cross-attention is
    replaced by self-attention (JEN-1 V: "randomly replaced by self-attention with a
    probability of 0.2"); here that self-attention reuses the block's self-attention
    weights, selected per example by ``uncond``.
    """

    def __init__(self, dim: int, *, context_dim: int, head_dim: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, head_dim=head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim=context_dim, head_dim=head_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, dim * ff_mult), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim * ff_mult, dim)
        )

    def forward(
        self, x: Tensor, *, context: Tensor, context_mask: Tensor, self_mask: Tensor | None, uncond: Tensor | None
    ) -> Tensor:
        """x: [B, C, S]; context: [B, N, Cc]; context_mask: [B, N] bool; uncond: [B] bool or None."""
        h = x.transpose(1, 2)
        h = h + self.attn1(self.norm1(h), mask=self_mask)
        n = self.norm2(h)
        cross = self.attn2(n, context, context_mask[:, None, None, :])
        if uncond is not None:
            cross = torch.where(uncond[:, None, None], self.attn1(n, mask=self_mask), cross)
        h = h + cross
        h = h + self.ff(self.norm3(h))
        return h.transpose(1, 2)


class Downsample1D(nn.Module):
    """Halve the frame rate with a stride-2 conv; causal mode never looks past frame 2i."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = ModeConv1d(channels, channels, 3, stride=2)

    def forward(self, x: Tensor, causal: bool) -> Tensor:
        return self.conv(x, causal)


class Upsample1D(nn.Module):
    """Double the frame rate: nearest repeat (frame i -> 2i, 2i+1) then a mode conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = ModeConv1d(channels, channels, 3)

    def forward(self, x: Tensor, causal: bool) -> Tensor:
        return self.conv(torch.repeat_interleave(x, 2, dim=2), causal)


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """t: [...] (float or int timesteps) -> [..., dim] sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[..., None] * freqs
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, dim % 2))


def causal_mask(length: int, device: torch.device) -> Tensor:
    """[S, S] bool, True on and below the diagonal: frame i sees frames <= i."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()
