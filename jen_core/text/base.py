"""The text-encoder protocol every model conditions on, and the builder that picks one from a ``TextConfig``.

Three kinds sit behind it: ``hash`` (tiny, seeded, needs no files), ``minilm`` (the bundled
MiniLM-L6, 384-d) and ``t5`` (FLAN-T5 from a local folder). The UNet and the pipelines only
see ``TextTokens``: ``states [B, N, D]`` float32 and ``mask [B, N]`` bool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from jen_core.errors import JenError
from jen_core.presets import TextConfig

KINDS: tuple[str, ...] = ("hash", "minilm", "t5")


@dataclass
class TextTokens:
    """Token states of a batch of prompts.

    states: ``[B, N, D]`` float32; rows are zero where ``mask`` is False.
    mask: ``[B, N]`` bool, True = real token; every row has at least one True (an empty
    prompt still yields one token), so attention over it never sees an all-masked row.
    """

    states: Tensor
    mask: Tensor

    def to(self, device: str | torch.device) -> TextTokens:
        return TextTokens(states=self.states.to(device), mask=self.mask.to(device))

    @property
    def batch_size(self) -> int:
        return int(self.states.shape[0])


@runtime_checkable
class TextEncoder(Protocol):
    """What the diffusion models need from a text encoder.

    ``encode`` runs without grad and returns ``N = min(longest prompt in the batch, max_tokens)``
    tokens per row (special tokens such as [CLS]/[SEP] or </s> count); longer prompts are truncated.
    """

    dim: int
    max_tokens: int

    def encode(self, prompts: Sequence[str]) -> TextTokens: ...


def build_text_encoder(cfg: TextConfig, *, seed: int = 0) -> TextEncoder:
    """Build the encoder named by ``cfg.kind`` (``hash`` | ``minilm`` | ``t5``).

    ``seed`` only matters for ``hash`` (its embedding tables are drawn from it). For ``minilm``
    ``cfg.path`` optionally overrides the bundled folder; for ``t5`` it is required. The
    encoder's width must equal ``cfg.dim`` (the UNet's ``text_dim`` was sized from it).
    """
    if cfg.kind == "hash":
        from jen_core.text.hashed import HashTextEncoder

        return HashTextEncoder(dim=cfg.dim, max_tokens=cfg.max_tokens, vocab_size=cfg.vocab_size, seed=seed)
    if cfg.kind == "minilm":
        from jen_core.text.minilm import MiniLMTextEncoder

        encoder: TextEncoder = MiniLMTextEncoder(max_tokens=cfg.max_tokens, path=cfg.path or None)
    elif cfg.kind == "t5":
        from jen_core.text.t5 import T5TextEncoder

        encoder = T5TextEncoder(path=cfg.path, max_tokens=cfg.max_tokens)
    else:
        raise JenError(f"unknown text encoder kind '{cfg.kind}'; choose one of: {', '.join(KINDS)}")
    if encoder.dim != cfg.dim:
        raise JenError(f"text encoder '{cfg.kind}' gives {encoder.dim}-d states but the config says dim={cfg.dim}")
    return encoder


def check_prompts(prompts: Sequence[str]) -> list[str]:
    """Validate a batch of prompts and return it as a list (a bare string is a caller bug, not a batch)."""
    if isinstance(prompts, str):
        raise TypeError("encode() takes a sequence of prompts, not a single string; wrap it in a list")
    out = list(prompts)
    if not out:
        raise JenError("no prompts to encode; pass at least one (an empty string is fine)")
    for p in out:
        if not isinstance(p, str):
            raise TypeError(f"prompts must be strings, got {type(p).__name__}")
    return out
