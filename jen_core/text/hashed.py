"""The tiny text encoder: seeded embeddings of hashed words, no files, deterministic everywhere.

Used by the tiny preset (tests) and ``random:*`` models. Its tables are ordinary parameters,
so they are saved with a checkpoint and can be trained along with the UNet.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from jen_core.errors import JenError
from jen_core.text.base import TextTokens, check_prompts

# Words (letters/digits/underscore, unicode aware) or single punctuation marks, so
# "[bass & drums generation] funky" -> [, bass, &, drums, generation, ], funky.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
EMPTY_ID = 0  # bucket reserved for the single token an empty prompt gets


def split_words(prompt: str) -> list[str]:
    """Lower-case ``prompt`` and split it into words and punctuation marks."""
    return _TOKEN_RE.findall(prompt.lower())


def word_bucket(word: str, vocab_size: int) -> int:
    """Stable bucket in ``[1, vocab_size)`` for ``word`` (CRC-32, identical across processes and machines)."""
    return 1 + zlib.crc32(word.encode("utf-8")) % (vocab_size - 1)


class HashTextEncoder(nn.Module):
    """Hashed-word embeddings plus learned positions: ``encode(prompts) -> states [B, N, dim], mask [B, N]``.

    ``encode`` runs without grad (the ``TextEncoder`` protocol); call the module itself
    (``forward``) to train the tables. ``tokenize`` + ``embed`` split the string part from the
    tensor part (``embed`` is what an ONNX export traces).
    """

    def __init__(self, *, dim: int, max_tokens: int, vocab_size: int = 4096, seed: int = 0) -> None:
        super().__init__()
        if dim < 1 or max_tokens < 1:
            raise JenError(f"hash text encoder needs dim >= 1 and max_tokens >= 1, got dim={dim}, max_tokens={max_tokens}")
        if vocab_size < 2:
            raise JenError(f"hash text encoder needs vocab_size >= 2, got {vocab_size}")
        self.dim = dim
        self.max_tokens = max_tokens
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, dim)
        self.position_embedding = nn.Embedding(max_tokens, dim)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.token_embedding.weight.copy_(torch.randn(vocab_size, dim, generator=gen))
            self.position_embedding.weight.copy_(0.1 * torch.randn(max_tokens, dim, generator=gen))

    @property
    def device(self) -> torch.device:
        return self.token_embedding.weight.device

    def tokenize(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Prompts -> ``ids [B, N]`` long, ``mask [B, N]`` bool with N = min(longest, max_tokens); pads with id 0."""
        rows = [[word_bucket(w, self.vocab_size) for w in split_words(p)][: self.max_tokens] or [EMPTY_ID]
                for p in check_prompts(prompts)]
        n = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), n, dtype=torch.long)
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = True
        return ids.to(self.device), mask.to(self.device)

    def embed(self, ids: Tensor, mask: Tensor) -> Tensor:
        """``ids [B, N]``, ``mask [B, N]`` -> ``states [B, N, dim]`` (zero at padding)."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        states = self.token_embedding(ids) + self.position_embedding(positions)[None]
        return states * mask[..., None].to(states.dtype)

    def forward(self, prompts: Sequence[str]) -> TextTokens:
        """Like ``encode`` but with grad, for training the tables."""
        ids, mask = self.tokenize(prompts)
        return TextTokens(states=self.embed(ids, mask), mask=mask)

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> TextTokens:
        """Prompts -> ``TextTokens(states [B, N, dim] float32, mask [B, N] bool)``, no grad."""
        tokens = self.forward(prompts)
        return TextTokens(states=tokens.states.float(), mask=tokens.mask)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, max_tokens={self.max_tokens}, vocab_size={self.vocab_size}"
