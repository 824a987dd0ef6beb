"""OmniUNet1D: the one denoiser of JEN-1 (K = 1) and JEN-1 Composer (K = 4).

Inputs per track (JEN-1 IV-B, 129 extra channels in the paper): the noisy latent (k), the
in-context masked latent (k) and the mask (1); 1 = frame to generate, 0 = known frame.
Timesteps form a vector t[B, K] (Composer 4.1): each t_i gets its own sinusoidal + MLP
embedding, the K embeddings are concatenated and projected to one conditioning vector.
``causal=True`` switches every conv, resampler and self-attention to unidirectional mode
with the same weights. The model knows nothing about noise schedules or tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jen_core.presets import UNetConfig
from jen_core.unet.layers import (
    Downsample1D,
    FrameGroupNorm,
    ModeConv1d,
    ResBlock1D,
    TransformerBlock1D,
    Upsample1D,
    causal_mask,
    sinusoidal_embedding,
)

MAX_BARS = 64
NUM_KEYS = 24  # 12 major + 12 minor; index 0 means "unknown"


@dataclass
class UNetCond:
    """Conditioning for one UNet call.

    text: [B, N, text_dim] token states; text_mask: [B, N] bool (True = real token);
    meta: [B, 3] float (bpm, key index 1..24, bars; 0 = unknown) or None;
    uncond: [B] bool, True = unconditional branch (cross-attention replaced by self-attention).
    """

    text: Tensor
    text_mask: Tensor
    meta: Tensor | None = None
    uncond: Tensor | None = None


class MetaEmbedding(nn.Module):
    """BPM, key and bar-count tokens appended to the text tokens (beyond the paper)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bpm = nn.Sequential(nn.Linear(64, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.bpm_unknown = nn.Parameter(torch.zeros(dim))
        self.key = nn.Embedding(NUM_KEYS + 1, dim)
        self.bars = nn.Embedding(MAX_BARS + 1, dim)

    def forward(self, meta: Tensor) -> Tensor:
        """meta: [B, 3] -> tokens [B, 3, dim]."""
        bpm = meta[:, 0]
        bpm_tok = torch.where((bpm > 0)[:, None], self.bpm(sinusoidal_embedding(bpm, 64)), self.bpm_unknown)
        key_tok = self.key(meta[:, 1].long().clamp(0, NUM_KEYS))
        bars_tok = self.bars(meta[:, 2].long().clamp(0, MAX_BARS))
        return torch.stack([bpm_tok, key_tok, bars_tok], dim=1)


class TimestepEmbedding(nn.Module):
    """t [B, K] -> [B, E]: per-track sinusoid + MLP, concatenated, projected."""

    def __init__(self, tracks: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.tracks = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim)) for _ in range(tracks)
        )
        self.proj = nn.Linear(tracks * dim, dim)

    def forward(self, t: Tensor) -> Tensor:
        parts = [mlp(sinusoidal_embedding(t[:, i], self.dim)) for i, mlp in enumerate(self.tracks)]
        return self.proj(F.silu(torch.cat(parts, dim=-1)))


class _Level(nn.Module):
    def __init__(self, res: list[ResBlock1D], attn: list[TransformerBlock1D | None]) -> None:
        super().__init__()
        self.res = nn.ModuleList(res)
        self.attn = nn.ModuleList(a if a is not None else nn.Identity() for a in attn)


class OmniUNet1D(nn.Module):
    """x: [B, K*(2k+1), S] stacked inputs (see :func:`stack_inputs`) -> eps: [B, K*k, S].

    S must be a multiple of ``cfg.length_multiple``.
    """

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        ch, temb = cfg.channels, cfg.time_embed_dim
        block = {"temb_dim": temb, "groups": cfg.norm_groups, "dropout": cfg.dropout}

        def transformer(c: int) -> TransformerBlock1D:
            return TransformerBlock1D(
                c, context_dim=cfg.cross_attn_dim, head_dim=cfg.head_dim, ff_mult=cfg.ff_mult, dropout=cfg.dropout
            )

        self.time = TimestepEmbedding(cfg.tracks, temb)
        self.text_proj = nn.Linear(cfg.text_dim, cfg.cross_attn_dim)
        self.meta = MetaEmbedding(cfg.cross_attn_dim) if cfg.meta_tokens else None
        self.conv_in = ModeConv1d(cfg.in_channels, ch[0], 3)

        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c_in = ch[0]
        for i, c in enumerate(ch):
            res, attn = [], []
            for _ in range(cfg.layers_per_block):
                res.append(ResBlock1D(c_in, c, **block))
                attn.append(transformer(c) if cfg.attention_levels[i] else None)
                c_in = c
            self.down.append(_Level(res, attn))
            self.downsample.append(Downsample1D(c) if i < len(ch) - 1 else nn.Identity())

        self.mid_res1 = ResBlock1D(ch[-1], ch[-1], **block)
        self.mid_attn = transformer(ch[-1])
        self.mid_res2 = ResBlock1D(ch[-1], ch[-1], **block)

        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        c_prev = ch[-1]
        for i in reversed(range(len(ch))):
            res, attn = [], []
            for _ in range(cfg.layers_per_block):
                res.append(ResBlock1D(c_prev + ch[i], ch[i], **block))
                attn.append(transformer(ch[i]) if cfg.attention_levels[i] else None)
                c_prev = ch[i]
            self.up.append(_Level(res, attn))
            self.upsample.append(Upsample1D(ch[i]) if i > 0 else nn.Identity())

        self.norm_out = FrameGroupNorm(cfg.norm_groups, ch[0])
        self.conv_out = ModeConv1d(ch[0], cfg.out_channels, 3)

    def context(self, cond: UNetCond) -> tuple[Tensor, Tensor]:
        """Project text tokens to the cross-attention width and append meta tokens."""
        ctx, mask = self.text_proj(cond.text), cond.text_mask.bool()
        if self.meta is not None:
            meta = cond.meta if cond.meta is not None else ctx.new_zeros(ctx.shape[0], 3)
            ctx = torch.cat([ctx, self.meta(meta)], dim=1)
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 3)], dim=1)
        return ctx, mask

    def forward(self, x: Tensor, t: Tensor, cond: UNetCond, *, causal: bool = False) -> Tensor:
        """x: [B, K*(2k+1), S]; t: [B] or [B, K] timesteps; returns eps [B, K*k, S]."""
        cfg = self.cfg
        if x.shape[1] != cfg.in_channels:
            raise ValueError(f"expected {cfg.in_channels} input channels, got {x.shape[1]}")
        if x.shape[2] % cfg.length_multiple:
            raise ValueError(f"length {x.shape[2]} is not a multiple of {cfg.length_multiple}")
        t = t.reshape(x.shape[0], -1).expand(x.shape[0], cfg.tracks).to(x.device)
        temb = self.time(t)
        ctx, ctx_mask = self.context(cond)
        uncond = cond.uncond.bool() if cond.uncond is not None else None

        masks: dict[int, Tensor | None] = {}

        def attend(block: nn.Module, h: Tensor) -> Tensor:
            if isinstance(block, nn.Identity):
                return h
            s = h.shape[2]
            if s not in masks:
                masks[s] = causal_mask(s, h.device) if causal else None
            return block(h, context=ctx, context_mask=ctx_mask, self_mask=masks[s], uncond=uncond)

        h = self.conv_in(x, causal)
        skips = []
        for level, down in zip(self.down, self.downsample, strict=True):
            for res, attn in zip(level.res, level.attn, strict=True):
                h = attend(attn, res(h, temb, causal))
                skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h, causal)

        h = self.mid_res2(attend(self.mid_attn, self.mid_res1(h, temb, causal)), temb, causal)

        for level, up in zip(self.up, self.upsample, strict=True):
            for res, attn in zip(level.res, level.attn, strict=True):
                h = attend(attn, res(torch.cat([h, skips.pop()], dim=1), temb, causal))
            if not isinstance(up, nn.Identity):
                h = up(h, causal)

        return self.conv_out(F.silu(self.norm_out(h)), causal)


def stack_inputs(noisy: Tensor, context: Tensor, mask: Tensor) -> Tensor:
    """Lay out the UNet input track by track.

    noisy, context: [B, K, k, S]; mask: [B, K, S] (1 = generate, 0 = known) -> [B, K*(2k+1), S].
    """
    b, k_tracks, _, s = noisy.shape
    return torch.cat([noisy, context, mask[:, :, None, :].to(noisy.dtype)], dim=2).reshape(b, -1, s)


def split_tracks(eps: Tensor, tracks: int) -> Tensor:
    """[B, K*k, S] -> [B, K, k, S]."""
    b, c, s = eps.shape
    return eps.reshape(b, tracks, c // tracks, s)
