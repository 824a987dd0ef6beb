"""The modules that are traced into ONNX graphs: flat tensor inputs, one output each.

- :class:`UNetGraph`: ``(x, t, text, text_mask, meta, uncond) -> eps`` for one UNet in one mode
  (the causal switch is a Python bool at call time, so each mode is its own graph).
- :class:`DecoderGraph`: whitened latent -> audio (``whitener.unwhiten`` folded into ``decode``).
- :class:`EncoderGraph`: audio -> whitened latent (``encode`` then ``whiten``).
- :class:`HashTextGraph` / :class:`HFTextGraph`: token ids and mask -> token states (tokenisation
  stays in Python: ``export.runtimes.tokenize``).
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jen_core.latents import LatentWhitener
from jen_core.unet import OmniUNet1D, UNetCond
from jen_core.unet.layers import Attention, TransformerBlock1D

# (input names, output names, dynamic axes) per graph kind
UNET_IO = (
    ["x", "t", "text", "text_mask", "meta", "uncond"],
    ["eps"],
    {"x": {0: "batch", 2: "frames"}, "t": {0: "batch"}, "text": {0: "batch", 1: "tokens"},
     "text_mask": {0: "batch", 1: "tokens"}, "meta": {0: "batch"}, "uncond": {0: "batch"},
     "eps": {0: "batch", 2: "frames"}},
)
DECODER_IO = (["z"], ["wav"], {"z": {0: "batch", 2: "frames"}, "wav": {0: "batch", 2: "samples"}})
ENCODER_IO = (["wav"], ["z"], {"wav": {0: "batch", 2: "samples"}, "z": {0: "batch", 2: "frames"}})
TEXT_IO = (["ids", "mask"], ["states"],
           {"ids": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"}, "states": {0: "batch", 1: "tokens"}})


class UNetGraph(nn.Module):
    """x [B, K*(2k+1), S], t [B, K], text [B, N, D], text_mask [B, N] bool, meta [B, 3], uncond [B] bool -> eps [B, K*k, S]."""

    def __init__(self, unet: OmniUNet1D, *, causal: bool) -> None:
        super().__init__()
        self.unet = unet
        self.causal = causal

    def forward(self, x: Tensor, t: Tensor, text: Tensor, text_mask: Tensor, meta: Tensor, uncond: Tensor) -> Tensor:
        cond = UNetCond(text=text, text_mask=text_mask, meta=meta, uncond=uncond)
        return self.unet(x, t, cond, causal=self.causal)


@contextlib.contextmanager
def split_cfg_attention(unet: OmniUNet1D) -> Iterator[None]:
    """While tracing, run each transformer block's unconditional branch on its own examples only.

    ``TransformerBlock1D`` computes both the cross-attention and the replacement self-attention for
    every example and picks one per example with ``torch.where`` (fine in eager PyTorch, and the
    pipelines' reference). The traced graph instead gathers the conditional and unconditional
    examples, runs cross-attention on the first and self-attention on the second, and scatters the
    results back: the same numbers (bit for bit in onnxruntime), about 10-20 % less UNet work with
    the CFG batch, and none wasted when no example is unconditional (Composer guidance).
    """
    blocks = [m for m in unet.modules() if isinstance(m, TransformerBlock1D)]
    for block in blocks:
        block.forward = types.MethodType(_split_forward, block)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for block in blocks:
            del block.forward


def _split_forward(
    self: TransformerBlock1D, x: Tensor, *, context: Tensor, context_mask: Tensor, self_mask: Tensor | None,
    uncond: Tensor | None,
) -> Tensor:
    h = x.transpose(1, 2)
    h = h + self.attn1(self.norm1(h), mask=self_mask)
    n = self.norm2(h)
    if uncond is None:
        cross = self.attn2(n, context, context_mask[:, None, None, :])
    else:
        cond_idx = torch.nonzero(~uncond).reshape(-1)
        uncond_idx = torch.nonzero(uncond).reshape(-1)
        n_cond, n_uncond = n[cond_idx], n[uncond_idx]
        cross_cond = _attention(self.attn2, n_cond, context[cond_idx], context_mask[cond_idx][:, None, None, :])
        self_uncond = _attention(self.attn1, n_uncond, n_uncond, self_mask)
        cross = torch.zeros_like(n).index_copy(0, cond_idx, cross_cond).index_copy(0, uncond_idx, self_uncond)
    h = h + cross
    h = h + self.ff(self.norm3(h))
    return h.transpose(1, 2)


def _attention(attn: Attention, x: Tensor, context: Tensor, mask: Tensor | None) -> Tensor:
    """``Attention.forward`` with every reshape spelled out, so an empty batch (no example in a branch) works."""
    b, s, n = x.shape[0], x.shape[1], context.shape[1]
    dim, heads = attn.to_q.out_features, attn.heads
    q = attn.to_q(x).reshape(b, s, heads, dim // heads).transpose(1, 2)
    k = attn.to_k(context).reshape(b, n, heads, dim // heads).transpose(1, 2)
    v = attn.to_v(context).reshape(b, n, heads, dim // heads).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.to_out(out.transpose(1, 2).reshape(b, s, dim))


class DecoderGraph(nn.Module):
    """z [B, k, S] (whitened) -> wav [B, channels, S*hop]."""

    def __init__(self, autoencoder: Any, whitener: LatentWhitener) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.whitener = whitener

    def forward(self, z: Tensor) -> Tensor:
        return self.autoencoder.decode(self.whitener.unwhiten(z))


class EncoderGraph(nn.Module):
    """wav [B, channels, S*hop] (a whole number of hops) -> z [B, k, S] (whitened)."""

    def __init__(self, autoencoder: Any, whitener: LatentWhitener) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.whitener = whitener

    def forward(self, wav: Tensor) -> Tensor:
        return self.whitener.whiten(self.autoencoder.encode(wav))


class HashTextGraph(nn.Module):
    """ids [B, N] int64, mask [B, N] bool -> states [B, N, D] (``HashTextEncoder.embed``)."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        return self.encoder.embed(ids, mask).float()


class HFTextGraph(nn.Module):
    """ids [B, N] int64, mask [B, N] bool -> states [B, N, D] float32, zero at padding (frozen MiniLM / T5)."""

    def __init__(self, hf_model: nn.Module) -> None:
        super().__init__()
        self.hf_model = hf_model

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        out = self.hf_model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        return out.float() * mask[..., None].to(torch.float32)
