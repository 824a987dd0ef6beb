"""`jen train latent-stats`: JEN-1 Algorithm 1 over the encoded latents of every stem and mix.

Each rank accumulates :class:`~jen_core.latents.WhiteningStats` over its share of the songs
(all frames of all five tracks), the partial results are all-gathered and merged in rank
order (exact parallel merge), and rank 0 writes the model with the fitted whitener as a jen
checkpoint ``RUN/checkpoint`` (written like a trainer checkpoint: atomically, with the raw
statistics count/mean/m2 in its ``trainer/state.safetensors``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from jen_core.errors import JenError
from jen_core.files import atomic_write
from jen_core.latents import WhiteningStats
from jen_core.model import JenModel
from training.config import LatentStatsConfig
from training.data.stems import scan_stem_folders
from training.distributed import DistEnv, all_gather, barrier, main_print
from training.encode import autoencoder_fingerprint, encode_song, load_song
from training.latent_data import read_index
from training.state import save_training_checkpoint


def gather_stats(stats: WhiteningStats, env: DistEnv) -> WhiteningStats:
    """Merge every rank's statistics (rank order, so every rank gets the same result)."""
    if not env.distributed:
        return stats
    state = stats.state_dict()
    parts = {k: all_gather(v, env) for k, v in state.items()}
    merged = WhiteningStats(stats.dim)
    for r in range(env.world_size):
        merged = merged.merge(WhiteningStats.from_state_dict({k: parts[k][r] for k in state}))
    return merged


def accumulate(
    model: JenModel, cfg: LatentStatsConfig, env: DistEnv, *, data_dir: str | Path | None, latents_dir: str | Path | None
) -> WhiteningStats:
    """This rank's statistics over its songs (i % world_size == rank)."""
    from safetensors import safe_open

    dim = model.cfg.autoencoder.latent_dim
    stats = WhiteningStats(dim)
    if latents_dir is not None:
        index = read_index(latents_dir)
        if index["autoencoder"] != autoencoder_fingerprint(model.autoencoder):
            raise JenError(f"the latents in {latents_dir} were encoded by another autoencoder than this model's")
        names = [s["name"] for s in index["songs"]][: cfg.max_songs]
        for i, name in enumerate(names):
            if i % env.world_size == env.rank:
                with safe_open(str(Path(latents_dir) / "songs" / f"{name}.safetensors"), framework="pt") as fh:
                    z = fh.get_tensor("latents")  # [5, C, S]
                stats.update(z)
                main_print(env, f"\r[{i + 1}/{len(names)}] {name}", end="")
    else:
        if data_dir is None:
            raise JenError("latent-stats needs --data DIR (stem folders) or --latents DIR (jen data encode output)")
        songs = scan_stem_folders(data_dir, strict=cfg.strict).songs[: cfg.max_songs]
        if not songs:
            raise JenError(f"no usable songs in {data_dir}")
        sr = model.cfg.autoencoder.sample_rate
        for i, song in enumerate(songs):
            if i % env.world_size == env.rank:
                audio = load_song(song, sample_rate=sr, loudness=cfg.loudness, target_db=cfg.target_db)
                stats.update(encode_song(model, audio, chunk_seconds=cfg.chunk_seconds))
                main_print(env, f"\r[{i + 1}/{len(songs)}] {song.name}", end="")
    main_print(env, "")
    return stats


def run_latent_stats(
    model: JenModel,
    cfg: LatentStatsConfig,
    run_dir: str | Path,
    env: DistEnv,
    *,
    stages: list[str],
    data_dir: str | Path | None = None,
    latents_dir: str | Path | None = None,
) -> Path:
    """Fit the whitener of ``model`` (in place) and write ``run_dir/checkpoint``; returns that folder."""
    model.eval()
    stats = gather_stats(accumulate(model, cfg, env, data_dir=data_dir, latents_dir=latents_dir), env)
    if stats.count < 2:
        raise JenError("latent-stats saw fewer than 2 latent frames; give it some audio")
    whitener = stats.finalize(keep=model.cfg.whitening_keep)
    model.whitener.load_state_dict(whitener.state_dict())
    folder = Path(run_dir) / "checkpoint"
    if env.is_main:
        stage_list = stages + (["latent-stats"] if "latent-stats" not in stages else [])
        extra = {"stages": stage_list, "train": {"stage": "latent-stats", "frames": stats.count}}
        tensors = {f"stats.{k}": v for k, v in stats.state_dict().items()}
        meta = {"kind": "latent-stats", "frames": stats.count}
        save_training_checkpoint(run_dir, step=0, model=model, tensors=tensors, meta=meta, extra=extra, keep=1)
        eig = torch.linalg.eigvalsh(stats.covariance).flip(0)
        kept = float(eig[: model.whitener.k].sum() / eig.sum())
        summary = {"frames": stats.count, "latent_dim": stats.dim, "k": model.whitener.k, "variance_kept": kept}
        atomic_write(Path(run_dir) / "latent_stats.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=1)))
        main_print(env, f"whitened {stats.count} latent frames: k = {model.whitener.k} of {stats.dim} channels keep "
                        f"{100 * kept:.1f} % of the variance; wrote {folder}")
    barrier(env)
    return folder
