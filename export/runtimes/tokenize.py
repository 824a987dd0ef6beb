"""Prompt tokenisation without torch: the hash encoder's word hashing (mirrors
``jen_core.text.hashed``) and Hugging Face fast tokenizers through the ``tokenizers`` library
(mirrors ``jen_core.text.frozen.FrozenHFTextEncoder.tokenize``). Tests pin both to jen_core.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from jen_core.errors import JenError

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")  # same as jen_core.text.hashed
EMPTY_ID = 0


class Tokenizer(Protocol):
    """prompts -> (ids [B, N] int64, mask [B, N] bool); every row keeps at least one real token."""

    def __call__(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...


def check_prompts(prompts: Sequence[str]) -> list[str]:
    """As ``jen_core.text.base.check_prompts``: a list of strings, at least one."""
    if isinstance(prompts, str):
        raise TypeError("encode() takes a sequence of prompts, not a single string; wrap it in a list")
    out = list(prompts)
    if not out:
        raise JenError("no prompts to encode; pass at least one (an empty string is fine)")
    for p in out:
        if not isinstance(p, str):
            raise TypeError(f"prompts must be strings, got {type(p).__name__}")
    return out


class HashTokenizer:
    """Hashed words: bucket ``1 + crc32(word) % (vocab_size - 1)``; an empty prompt gets one token (id 0)."""

    def __init__(self, *, vocab_size: int, max_tokens: int) -> None:
        self.vocab_size = vocab_size
        self.max_tokens = max_tokens

    def __call__(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [
            [1 + zlib.crc32(w.encode("utf-8")) % (self.vocab_size - 1) for w in _TOKEN_RE.findall(p.lower())][
                : self.max_tokens
            ]
            or [EMPTY_ID]
            for p in check_prompts(prompts)
        ]
        n = max(len(r) for r in rows)
        ids = np.zeros((len(rows), n), np.int64)
        mask = np.zeros((len(rows), n), bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = True
        return ids, mask


class HFTokenizer:
    """A Hugging Face fast tokenizer from ``tokenizer.json``: pad to the longest prompt, truncate to ``max_tokens``."""

    def __init__(self, path: Path, *, max_tokens: int, pad_id: int, pad_token: str, padding_side: str = "right",
                 truncation_side: str = "right") -> None:
        try:
            from tokenizers import Tokenizer as _Tok
        except ImportError:
            raise JenError("the ONNX text encoder needs the 'tokenizers' package: pip install tokenizers") from None
        try:
            self._tok: Any = _Tok.from_file(str(path))
        except Exception as exc:  # tokenizers raises its own Exception type
            raise JenError(f"cannot read tokenizer {path.name}: {str(exc).splitlines()[0]}") from None
        self._tok.enable_truncation(max_tokens, strategy="longest_first", direction=truncation_side)
        self._tok.enable_padding(direction=padding_side, pad_id=pad_id, pad_token=pad_token)
        self.max_tokens = max_tokens
        self.pad_id = pad_id
        self._lock = threading.Lock()

    def __call__(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        texts = check_prompts(prompts)
        with self._lock:
            encodings = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64).reshape(len(texts), -1)
        mask = np.array([e.attention_mask for e in encodings], dtype=bool).reshape(len(texts), -1)
        if ids.shape[1] == 0:
            ids = np.full((len(texts), 1), self.pad_id, np.int64)
            mask = np.zeros((len(texts), 1), bool)
        mask[~mask.any(axis=1), 0] = True
        return ids, mask


def load_tokenizer(folder: Path, manifest: dict[str, Any]) -> Tokenizer:
    """The tokenizer an export's manifest describes (``manifest['text']``); files are checked by the caller."""
    from export.manifest import member

    text = manifest.get("text") or {}
    if text.get("kind") == "hash":
        return HashTokenizer(vocab_size=int(text["vocab_size"]), max_tokens=int(text["max_tokens"]))
    if text.get("kind") == "hf":
        rel = str(text["tokenizer"])
        if rel not in manifest.get("files", {}):
            raise JenError(f"{rel} is not listed in the export manifest; refusing to load it")
        return HFTokenizer(member(folder, rel), max_tokens=int(text["max_tokens"]), pad_id=int(text["pad_id"]),
                           pad_token=str(text["pad_token"]), padding_side=str(text.get("padding_side", "right")),
                           truncation_side=str(text.get("truncation_side", "right")))
    raise JenError(f"unknown text encoder kind {text.get('kind')!r} in the export manifest")
