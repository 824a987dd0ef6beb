"""Reading pre-encoded latents (``jen data encode`` output): aligned random crops of all tracks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open

from jen_core.errors import JenError
from training.encode import LATENTS_FORMAT, LATENTS_VERSION


def read_index(root: str | Path) -> dict[str, Any]:
    root = Path(root)
    path = root / "index.json"
    if not path.is_file():
        raise JenError(f"{root} is not a latents folder (no index.json); make one with `jen data encode`")
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise JenError(f"{path} is not valid JSON ({exc})") from None
    if index.get("format") != LATENTS_FORMAT or index.get("format_version") != LATENTS_VERSION:
        raise JenError(f"{path} is not a version-{LATENTS_VERSION} jen latents index")
    if not index.get("songs"):
        raise JenError(f"{root} holds no encoded songs")
    return index


class LatentDataset:
    """Item i: {"latents": float32 [5, C, frames], "caption", "meta", "name", "start": frame} — one crop of
    song i, the same frames for all five tracks. The crop depends only on (seed, epoch, i); songs
    shorter than ``frames`` are padded with the latent of silence."""

    def __init__(self, root: str | Path, *, frames: int, seed: int = 0) -> None:
        self.root = Path(root)
        self.index = read_index(root)
        self.songs = self.index["songs"]
        self.frames, self.seed, self.epoch = frames, seed, 0
        self.silence = torch.tensor(self.index["silence"], dtype=torch.float32)
        for song in self.songs:
            if not (self.root / "songs" / f"{song['name']}.safetensors").is_file():
                raise JenError(f"latents of song {song['name']} are missing in {self.root}/songs; re-run jen data encode")

    def __len__(self) -> int:
        return len(self.songs)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __getitem__(self, i: int) -> dict[str, Any]:
        song = self.songs[i]
        base = self.root / "songs" / song["name"]
        with safe_open(str(base) + ".safetensors", framework="pt") as fh:
            sl = fh.get_slice("latents")
            total = sl.get_shape()[-1]
            room = total - self.frames
            start = int(np.random.default_rng([self.seed, self.epoch, i]).integers(room + 1)) if room > 0 else 0
            z = sl[:, :, start : start + self.frames]
        if z.shape[-1] < self.frames:
            pad = self.silence[None, :, None].expand(z.shape[0], -1, self.frames - z.shape[-1])
            z = torch.cat([z, pad.to(z.dtype)], dim=-1)
        info = json.loads(Path(str(base) + ".json").read_text())
        return {"latents": z.float(), "caption": info["caption"], "meta": info["meta"], "name": song["name"], "start": start}


def collate_latents(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """``latents`` [B, 5, C, frames]; captions, metas, names as lists."""
    return {
        "latents": torch.stack([b["latents"] for b in batch]),
        "caption": [b["caption"] for b in batch],
        "meta": [b["meta"] for b in batch],
        "name": [b["name"] for b in batch],
    }
