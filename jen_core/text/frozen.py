"""Shared plumbing for the frozen Hugging Face encoders (MiniLM, T5): offline safetensors loading,
an in-process cache, and keeping the HF weights out of the caller's ``state_dict``.

The HF model is stored unregistered (``__dict__``, not ``_modules``), so ``state_dict()`` and
``parameters()`` are empty: checkpoints and optimisers never see it. ``.to()`` / ``.cuda()`` /
``.half()`` still move it (``_apply`` is overridden). Instances built from the same folder share
one cached CPU copy; the first move that changes a tensor gives the instance its own copy
(copy-on-write), so moving one encoder never moves another.
"""

from __future__ import annotations

import copy
import functools
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from jen_core.errors import JenError
from jen_core.text.base import TextTokens, check_prompts

_LOAD_LOCK = threading.Lock()
_TOKENIZE_LOCK = threading.Lock()  # HF fast tokenizers keep truncation/padding state per call
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def set_offline_env() -> None:
    """Make sure Hugging Face libraries never reach the network (call before importing transformers)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def check_model_folder(path: str | os.PathLike[str], *, label: str) -> Path:
    """Return the resolved folder if it holds ``config.json`` and ``*.safetensors``; else raise ``JenError``."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise JenError(f"{label} folder not found: {folder}")
    if not folder.is_dir():
        raise JenError(f"{label} path is not a folder: {folder}")
    if not (folder / "config.json").is_file():
        raise JenError(f"{label} folder {folder} has no config.json; save the model there with save_pretrained()")
    if not any(folder.glob("*.safetensors")):
        pickles = sorted(f.name for f in folder.iterdir() if f.suffix in _PICKLE_SUFFIXES)
        if pickles:
            raise JenError(
                f"{label} folder {folder} only has pickle weights ({', '.join(pickles)}); refusing to unpickle: "
                "re-save it with save_pretrained(..., safe_serialization=True)"
            )
        raise JenError(f"{label} folder {folder} has no *.safetensors weights")
    return folder.resolve()


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, model_class: str) -> tuple[Any, nn.Module]:
    set_offline_env()
    import transformers

    cls = getattr(transformers, model_class)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = cls.from_pretrained(path, local_files_only=True, use_safetensors=True, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise JenError(f"cannot load {model_class} from {path}: {first}") from None
    model.eval().requires_grad_(False)
    return tokenizer, model


def load_pretrained(path: Path, *, model_class: str) -> tuple[Any, nn.Module]:
    """(tokenizer, frozen eval model on CPU) for a checked folder; cached per (folder, class) in this process."""
    with _LOAD_LOCK:
        return _load_cached(str(path), model_class)


def clear_cache() -> None:
    """Drop the cached models (frees their CPU memory once no encoder holds them)."""
    with _LOAD_LOCK:
        _load_cached.cache_clear()


class FrozenHFTextEncoder(nn.Module):
    """Base for frozen HF encoders: ``encode(prompts) -> states [B, N, dim] float32, mask [B, N] bool``."""

    dim: int
    max_tokens: int

    def __init__(
        self, *, folder: Path, model_class: str, max_tokens: int, device: str | torch.device, label: str
    ) -> None:
        super().__init__()
        tokenizer, model = load_pretrained(folder, model_class=model_class)
        self.path = str(folder)
        self.tokenizer = tokenizer
        self.__dict__["_hf_model"] = model  # unregistered on purpose: not in state_dict() / parameters()
        self._shared = True
        self.dim = int(model.config.hidden_size)
        min_tokens = max(1, len(tokenizer("")["input_ids"]))  # special tokens an empty prompt still gets
        limit = getattr(model.config, "max_position_embeddings", None)
        if max_tokens < min_tokens or (limit is not None and max_tokens > limit):
            upper = f" and <= {limit}" if limit is not None else ""
            raise JenError(f"{label} text encoder needs max_tokens >= {min_tokens}{upper}, got {max_tokens}")
        self.max_tokens = max_tokens
        self.to(device)

    @property
    def hf_model(self) -> nn.Module:
        """The frozen Hugging Face model (shared with other encoders of the same folder until moved)."""
        return self.__dict__["_hf_model"]

    @property
    def device(self) -> torch.device:
        return next(self.hf_model.parameters()).device

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> FrozenHFTextEncoder:
        model = self.hf_model
        if self._shared:
            tensors = [*model.parameters(), *model.buffers()]
            if all(fn(t) is t for t in tensors):  # a no-op move (already there): keep sharing
                return super()._apply(fn, recurse)
            model = copy.deepcopy(model)
            self.__dict__["_hf_model"] = model
            self._shared = False
        model._apply(fn)
        return super()._apply(fn, recurse)

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenHFTextEncoder:
        # Copies (e.g. an EMA of a module tree holding this encoder) share the frozen weights copy-on-write.
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = value if key in ("_hf_model", "tokenizer") else copy.deepcopy(value, memo)
        self._shared = True
        new._shared = True
        return new

    def train(self, mode: bool = True) -> FrozenHFTextEncoder:
        super().train(mode)
        self.hf_model.eval()  # frozen: dropout stays off whatever the caller's mode
        return self

    def tokenize(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Prompts -> ``ids [B, N]`` long, ``mask [B, N]`` bool on CPU; N = min(longest, max_tokens) >= 1."""
        texts = check_prompts(prompts)
        with _TOKENIZE_LOCK:
            batch = self.tokenizer(
                texts, padding="longest", truncation=True, max_length=self.max_tokens, return_tensors="pt"
            )
        ids = batch["input_ids"].long()
        mask = batch["attention_mask"].bool()
        if ids.shape[1] == 0:  # a tokenizer without special tokens and only empty prompts
            pad = self.tokenizer.pad_token_id or 0
            ids = torch.full((len(texts), 1), pad, dtype=torch.long)
            mask = torch.zeros(len(texts), 1, dtype=torch.bool)
        mask[~mask.any(dim=1), 0] = True  # every row keeps at least one real token
        return ids, mask

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> TextTokens:
        """Prompts -> ``TextTokens(states [B, N, dim] float32 (zero at padding), mask [B, N] bool)``, no grad."""
        ids, mask = self.tokenize(prompts)
        device = self.device
        ids, mask = ids.to(device), mask.to(device)
        out = self.hf_model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        states = out.float() * mask[..., None]
        return TextTokens(states=states, mask=mask)

    def extra_repr(self) -> str:
        return f"path={self.path!r}, dim={self.dim}, max_tokens={self.max_tokens}"
