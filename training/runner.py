"""Set up and run one training stage the way ``jen train ...`` does (one process or torchrun).

A run folder remembers its stage, data and config (``run.json``, ``train_config.json``); calling
again with the same ``--out`` resumes from its latest checkpoint, and a larger ``--max-steps``
continues where the last call stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jen_core.checkpoint import load_checkpoint, read_config
from jen_core.errors import JenError
from jen_core.files import atomic_write
from jen_core.model import JenModel, build_model
from training.config import config_from_dict, config_to_dict, load_config, model_config, validate
from training.distributed import DistEnv, barrier, init_distributed, main_print, shutdown
from training.state import latest_checkpoint
from training.trainers.base import BaseTrainer, config_diff, replace_run

# config keys that may change between a run and its resumption
RESUMABLE_CHANGES = ("run.max_steps", "run.log_every", "run.checkpoint_every", "run.keep_checkpoints",
                     "run.tensorboard", "data.num_workers", "run.max_nonfinite")


def trainer_class(kind: str) -> type[BaseTrainer]:
    if kind == "autoencoder":
        from training.trainers.autoencoder import AutoencoderTrainer

        return AutoencoderTrainer
    if kind == "jen1":
        from training.trainers.jen1 import Jen1Trainer

        return Jen1Trainer
    if kind == "composer":
        from training.trainers.composer import ComposerTrainer

        return ComposerTrainer
    raise JenError(f"unknown trainer '{kind}'")


def load_start_model(cfg: Any, *, init_from: str | Path | None, env: DistEnv) -> tuple[JenModel, list[str]]:
    """The model a fresh run starts from: a checkpoint (--init-from) or the config's preset, random."""
    if init_from is None:
        return build_model(model_config(cfg), seed=cfg.run.seed if hasattr(cfg, "run") else 0).to(env.device), []
    stages = list(read_config(init_from).get("extra", {}).get("stages", []))
    model = load_checkpoint(init_from, device=env.device)
    return model, stages


def init_composer(model: JenModel, cfg: Any, stages: list[str], env: DistEnv) -> dict[str, list[str]] | None:
    """Apply ``cfg.init_composer`` to a model loaded with --init-from; returns the copy report or None."""
    from training.trainers.composer import init_composer_from_jen1

    mode = cfg.init_composer
    if mode == "keep" or (mode == "auto" and "composer" in stages):
        return None
    if model.jen1 is None or model.composer is None:
        raise JenError("init_composer 'jen1' needs a checkpoint with both a jen1 and a composer UNet")
    if mode == "auto" and "jen1" not in stages:
        main_print(env, "note: the --init-from checkpoint has no trained JEN-1 stage; the Composer starts random")
        return None
    report = init_composer_from_jen1(model.composer, model.jen1)
    main_print(
        env,
        f"composer initialised from JEN-1: {len(report['copied'])} tensors copied, {len(report['replicated'])} "
        f"replicated (per-track timestep MLPs), {len(report['reinitialised'])} re-initialised: "
        + ", ".join(report["reinitialised"]),
    )
    return report


def run_training(
    kind: str,
    *,
    out: str | Path,
    config: str | Path | None = None,
    data: str | Path | None = None,
    latents: str | Path | None = None,
    init_from: str | Path | None = None,
    max_steps: int | None = None,
    device: str = "auto",
    overrides: dict[str, Any] | None = None,
) -> Path:
    """Run (or resume) stage ``kind`` into ``out``; returns ``out/checkpoint``."""
    env = init_distributed(device)
    try:
        return _run(kind, out=Path(out), config=config, data=data, latents=latents, init_from=init_from,
                    max_steps=max_steps, overrides=overrides, env=env)
    finally:
        shutdown(env)


def _run(
    kind: str, *, out: Path, config: str | Path | None, data: str | Path | None, latents: str | Path | None,
    init_from: str | Path | None, max_steps: int | None, overrides: dict[str, Any] | None, env: DistEnv,
) -> Path:
    if kind == "latent-stats":
        return _run_latent_stats(out=out, config=config, data=data, latents=latents, init_from=init_from,
                                 overrides=overrides, env=env)
    latest = latest_checkpoint(out)
    cfg = load_config(kind, config, overrides=overrides)
    record = {"kind": kind, "data": _str(data), "latents": _str(latents), "init_from": _str(init_from)}
    if latest is not None:
        saved_record = _read_json(out / "run.json")
        if saved_record.get("kind") != kind:
            raise JenError(f"{out} holds a '{saved_record.get('kind')}' run; give `jen train {kind}` another --out")
        saved_cfg = _read_json(out / "train_config.json")
        if config is not None or overrides:
            changed = [k for k in config_diff(saved_cfg, config_to_dict(cfg)) if k not in RESUMABLE_CHANGES]
            if changed:
                raise JenError(f"{out} was started with another config ({', '.join(changed)} differ); "
                               "resume with the same config or use a new --out")
        else:
            cfg = config_from_dict(type(cfg), saved_cfg)
            validate(cfg)
        if data is None and latents is None:  # resume with the run's own data
            data, latents = saved_record.get("data"), saved_record.get("latents")
        record.update({"data": _str(data), "latents": _str(latents), "init_from": saved_record.get("init_from")})
        if max_steps is not None:
            cfg = replace_run(cfg, max_steps=max_steps)
        model = load_checkpoint(latest, device=env.device)
        stages: list[str] = list(read_config(latest).get("extra", {}).get("stages", []))
        main_print(env, f"resuming {kind} from {latest}")
    else:
        if max_steps is not None:
            cfg = replace_run(cfg, max_steps=max_steps)
        model, stages = load_start_model(cfg, init_from=init_from, env=env)
        if kind == "composer" and init_from is not None:
            init_composer(model, cfg, stages, env)
    if env.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "run.json", lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))
        body = config_to_dict(cfg)
        atomic_write(out / "train_config.json", lambda tmp: tmp.write_text(json.dumps(body, indent=1) + "\n"))
    barrier(env)
    kwargs: dict[str, Any] = {"data_dir": data}
    if kind != "autoencoder":
        kwargs["latents_dir"] = latents
    elif data is None:
        raise JenError("the autoencoder trains on audio: give --data DIR (stem folders)")
    trainer = trainer_class(kind)(cfg, model=model, run_dir=out, env=env, stages=stages, **kwargs)
    if latest is not None:
        trainer.resume(latest)
    trainer.fit()
    return out / "checkpoint"


def _run_latent_stats(
    *, out: Path, config: str | Path | None, data: str | Path | None, latents: str | Path | None,
    init_from: str | Path | None, overrides: dict[str, Any] | None, env: DistEnv,
) -> Path:
    from training.latent_stats import run_latent_stats

    cfg = load_config("latent-stats", config, overrides=overrides)
    if init_from is None:
        main_print(env, "warning: no --init-from checkpoint; whitening the latents of a randomly initialised autoencoder")
        model, stages = build_model(model_config(cfg)).to(env.device), []
    else:
        model, stages = load_start_model(cfg, init_from=init_from, env=env)
        if "autoencoder" not in stages:
            main_print(env, f"note: {init_from} has no trained autoencoder stage recorded")
    if env.is_main:
        out.mkdir(parents=True, exist_ok=True)
        record = {"kind": "latent-stats", "data": _str(data), "latents": _str(latents), "init_from": _str(init_from)}
        atomic_write(out / "run.json", lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))
    return run_latent_stats(model, cfg, out, env, stages=stages, data_dir=data, latents_dir=latents)


def _str(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
