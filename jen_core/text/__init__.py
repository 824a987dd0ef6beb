"""Text encoders behind one protocol: ``encode(prompts) -> TextTokens(states [B, N, D], mask [B, N])``.

``hash`` (tiny, seeded, no files), ``minilm`` (bundled MiniLM-L6, 384-d), ``t5`` (FLAN-T5 from a
local folder). transformers is imported only when a MiniLM or T5 encoder is built.
"""

from __future__ import annotations

from jen_core.text.base import KINDS, TextEncoder, TextTokens, build_text_encoder
from jen_core.text.hashed import HashTextEncoder
from jen_core.text.minilm import MiniLMTextEncoder
from jen_core.text.t5 import T5TextEncoder

__all__ = [
    "KINDS",
    "HashTextEncoder",
    "MiniLMTextEncoder",
    "T5TextEncoder",
    "TextEncoder",
    "TextTokens",
    "build_text_encoder",
]
