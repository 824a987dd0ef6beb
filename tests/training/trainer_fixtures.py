"""Tiny stem datasets and configs for the trainer tests (tiny preset, clips of ~0.1 s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from training.config import load_config

STEMS = ("bass", "drums", "instrument", "melody")
SR = 48000

# ~0.1 s clips: 4800 samples = 15 latent frames for the autoencoder, 16 frames for the UNets
AE_OVERRIDES: dict[str, Any] = {
    "preset": "tiny",
    "data": {"segment_seconds": 0.1, "batch_size": 1, "num_workers": 0},
    "run": {"log_every": 100, "checkpoint_every": 1000, "tensorboard": False},
    "loss": {"stft_ffts": [512, 128], "disc_ffts": [256, 128], "disc_filters": 8, "disc_start": 0},
    "eval_every": 0,
}
DIFF_OVERRIDES: dict[str, Any] = {
    "preset": "tiny",
    "data": {"segment_seconds": 0.11, "batch_size": 3, "num_workers": 0},
    "run": {"log_every": 100, "checkpoint_every": 1000, "tensorboard": False},
}


def write_song(folder: Path, *, seconds: float = 0.3, seed: int = 0, caption: str = "a calm song with bass",
               lengths: dict[str, int] | None = None, rates: dict[str, int] | None = None) -> Path:
    """One song folder of four stereo stems (tones + a little noise) and meta.json."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for j, stem in enumerate(STEMS):
        sr = (rates or {}).get(stem, SR)
        n = (lengths or {}).get(stem, int(seconds * sr))
        t = np.arange(n) / sr
        x = 0.3 * np.sin(2 * np.pi * 55 * (j + 1) * (1 + 0.25 * seed) * t) + 0.01 * rng.standard_normal(n)
        sf.write(folder / f"{stem}.wav", np.stack([x, 0.9 * x], 1).astype(np.float32), sr)
    meta = {"caption": caption, "bpm": 120, "key": "E minor", "time_signature": "4/4"}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def write_dataset(root: Path, songs: int = 3, seconds: float = 0.3) -> Path:
    for i in range(songs):
        write_song(root / f"song_{i}", seconds=seconds, seed=i, caption=f"a calm song number {i} with bass")
    return root


def config(kind: str, **extra: Any) -> Any:
    base = AE_OVERRIDES if kind == "autoencoder" else DIFF_OVERRIDES
    merged = json.loads(json.dumps(base))
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return load_config(kind, overrides=merged)


def latent_batch(*, batch: int = 3, frames: int = 16, latent_dim: int = 8, seed: int = 0) -> dict[str, Any]:
    """A fixed batch of raw latents [B, 5, C, S] with captions and metas (what LatentDataset yields)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(batch, 1, latent_dim, 1, generator=g)
    wave = torch.sin(torch.linspace(0, 6.28, frames))[None, None, None, :]
    z = base * wave + 0.3 * torch.randn(batch, 5, latent_dim, frames, generator=g)
    return {
        "latents": z,
        "caption": [f"song {i} calm bass" for i in range(batch)],
        "meta": [{"bpm": 120, "key": "E minor", "time_signature": "4/4"}] * batch,
        "name": [f"s{i}" for i in range(batch)],
    }


def state_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> list[str]:
    """Names (with one of ``prefixes``) whose tensors differ bitwise, or are missing on one side."""
    keys = {k for k in set(a) | set(b) if k.startswith(prefixes)}
    return sorted(k for k in keys if k not in a or k not in b or not torch.equal(a[k], b[k]))
