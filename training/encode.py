"""`jen data encode`: pre-encode a stem dataset to raw autoencoder latents for diffusion training.

Output folder::

    OUT/index.json              format, autoencoder fingerprint, latent_dim, hop, rate, song list
    OUT/songs/<song>.safetensors   {"latents": float32 [5, C, S]}  (bass, drums, instrument, melody, mix)
    OUT/songs/<song>.json          {"caption": ..., "meta": {...}}

Latents are raw (unwhitened), so latent-stats can run on them and the whitener can change
without re-encoding. The fingerprint ties them to the autoencoder that made them: a trainer
whose model has another autoencoder refuses them.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import Tensor

from jen_core.errors import JenError
from jen_core.files import atomic_write
from jen_core.model import JenModel
from training.data.audio import apply_loudness, read_audio, resample, to_stereo
from training.data.stems import SongInfo, scan_stem_folders
from training.data.symbolic import STEMS
from training.distributed import DistEnv, barrier, main_print

LATENTS_FORMAT = "jen-latents"
LATENTS_VERSION = 1
TRACKS = (*STEMS, "mix")


def autoencoder_fingerprint(autoencoder: torch.nn.Module) -> str:
    """sha256 over the autoencoder's float32 weights (names and values): identifies who encoded latents."""
    digest = hashlib.sha256()
    for name, value in sorted(autoencoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_song(song: SongInfo, *, sample_rate: int, loudness: str = "stem", target_db: float = -23.0) -> np.ndarray:
    """A whole song as float32 [5, 2, L] (stems + mix), loudness handled like ``StemDataset``."""
    use_mix = "mix" in song.files and loudness == "none"
    names = list(TRACKS) if use_mix else list(STEMS)
    arrays = []
    for name in names:
        x, sr = read_audio(song.files[name])
        arrays.append(resample(to_stereo(x), sr, sample_rate))
    length = min(a.shape[1] for a in arrays)
    arr = np.stack([a[:, :length] for a in arrays]).astype(np.float32)
    if not use_mix:
        arr = np.concatenate([arr, arr.sum(axis=0, keepdims=True)])
    arr = apply_loudness(arr, loudness, target_db=target_db)
    return np.ascontiguousarray(arr, dtype=np.float32)


@torch.no_grad()
def encode_chunked(autoencoder: Any, wav: Tensor, *, chunk_frames: int, margin_frames: int | None = None) -> Tensor:
    """wav: [N, 2, L] -> z: [N, C, ceil(L / hop)], encoded ``chunk_frames`` at a time with context
    margins on both sides so the result matches a single ``encode`` call (up to float rounding)."""
    hop = autoencoder.hop
    frames = math.ceil(wav.shape[-1] / hop)
    if frames <= chunk_frames:
        return autoencoder.encode(wav)
    margin = margin_frames if margin_frames is not None else autoencoder.decoder_receptive_frames + 2
    wav = torch.nn.functional.pad(wav, (0, frames * hop - wav.shape[-1]))
    out = []
    for a in range(0, frames, chunk_frames):
        b = min(frames, a + chunk_frames)
        lo, hi = max(0, a - margin), min(frames, b + margin)
        z = autoencoder.encode(wav[..., lo * hop : hi * hop])
        out.append(z[..., a - lo : a - lo + (b - a)])
    return torch.cat(out, dim=-1)


def encode_song(model: JenModel, audio: np.ndarray, *, chunk_seconds: float = 30.0) -> Tensor:
    """[5, 2, L] float32 audio -> raw latents [5, C, S] float32 on the CPU."""
    ae = model.autoencoder
    chunk = max(1, int(chunk_seconds * ae.sample_rate / ae.hop))
    wav = torch.from_numpy(audio).to(model.device)
    with torch.inference_mode():
        z = encode_chunked(ae, wav, chunk_frames=chunk)
    return z.float().cpu()


def silence_latent(model: JenModel) -> list[float]:
    """The latent frame of digital silence [C] (used to pad crops of short songs)."""
    ae = model.autoencoder
    with torch.inference_mode():
        z = ae.encode(torch.zeros(1, ae.channels, 16 * ae.hop, device=model.device))
    return z[0, :, 8].float().cpu().tolist()


def encode_dataset(
    model: JenModel,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    env: DistEnv | None = None,
    chunk_seconds: float = 30.0,
    loudness: str = "stem",
    target_db: float = -23.0,
    strict: bool = False,
) -> Path:
    """Encode every good song of ``data_dir`` into ``out_dir`` (songs shared out over the ranks)."""
    env = env or DistEnv(device=model.device)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / "index.json").is_file():
        raise JenError(f"{out} exists and is not a latents folder; choose an empty or new --out")
    report = scan_stem_folders(data_dir, strict=strict)
    if not report.songs:
        raise JenError(f"no usable songs in {data_dir}; run `jen data check {data_dir}`")
    songs_dir = out / "songs"
    songs_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    sr = model.cfg.autoencoder.sample_rate
    entries = []
    for i, song in enumerate(report.songs):
        mine = i % env.world_size == env.rank
        path = songs_dir / f"{song.name}.safetensors"
        if mine:
            audio = load_song(song, sample_rate=sr, loudness=loudness, target_db=target_db)
            z = encode_song(model, audio, chunk_seconds=chunk_seconds)
            atomic_write(path, lambda tmp, z=z: save_file({"latents": z.contiguous()}, str(tmp)))
            info = {"caption": song.caption, "meta": song.meta}
            atomic_write(songs_dir / f"{song.name}.json", lambda tmp, info=info: tmp.write_text(json.dumps(info)))
            main_print(env, f"\r[{i + 1}/{len(report.songs)}] {song.name}", end="")
        seconds = song.frames / song.sample_rate
        entries.append({"name": song.name, "frames": math.ceil(seconds * sr / model.cfg.autoencoder.hop)})
    main_print(env, "")
    barrier(env)
    if env.is_main:
        index = {
            "format": LATENTS_FORMAT,
            "format_version": LATENTS_VERSION,
            "autoencoder": autoencoder_fingerprint(model.autoencoder),
            "latent_dim": model.cfg.autoencoder.latent_dim,
            "hop": model.cfg.autoencoder.hop,
            "sample_rate": sr,
            "tracks": list(TRACKS),
            "loudness": loudness,
            "target_db": target_db,
            "silence": silence_latent(model),
            "songs": entries,
            "skipped": [str(p) for p in report.problems],
        }
        atomic_write(out / "index.json", lambda tmp: tmp.write_text(json.dumps(index, indent=1) + "\n"))
    barrier(env)
    return out
