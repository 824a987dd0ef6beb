"""Typed train configs: one dataclass per trainer, read from JSON, unknown keys are errors.

A config file holds only the keys it changes; everything else keeps the defaults below
(the papers' settings where they give one). Example for ``jen train jen1 --config f.json``::

    {"preset": "small", "optim": {"lr": 1e-4}, "data": {"batch_size": 8}, "run": {"max_steps": 20000}}

Values are type-checked; a misspelt key fails with its dotted path and the known keys.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

from jen_core.errors import JenError
from jen_core.presets import PRESETS, ModelConfig, get_preset

KINDS = ("autoencoder", "latent-stats", "jen1", "composer")


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then linear decay of the learning rate (JEN-1 V, Composer 5.1).

    ``decay_steps`` is the length of the decay (the lr reaches ``lr * final_lr_ratio`` there and
    stays); it is independent of how many steps one run does, so stopping and resuming never
    changes the schedule. ``grad_clip <= 0`` disables clipping (the norm is still checked).
    """

    lr: float = 3e-5
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1
    eps: float = 1e-8
    grad_clip: float = 1.0
    warmup_steps: int = 0
    decay_steps: int = 200_000
    final_lr_ratio: float = 0.0


@dataclass
class DataConfig:
    """How examples are drawn. ``batch_size`` is per process (torchrun multiplies it)."""

    segment_seconds: float = 10.0
    batch_size: int = 4
    num_workers: int = 2
    loudness: str = "stem"  # stem | mix | none (see training.data.stems.StemDataset)
    target_db: float = -23.0
    snap_to_downbeat: bool = False
    strict: bool = False  # refuse a dataset with a bad song instead of skipping the song


@dataclass
class RunConfig:
    """Length, logging, checkpoints and numerics of one run."""

    seed: int = 0
    max_steps: int = 200_000
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    log_every: int = 10
    amp: str = "auto"  # auto (bf16 autocast on CUDA only) | bf16 | none
    max_nonfinite: int = 5  # this many non-finite steps in a row stop the run
    ema_decay: float = 0.999
    ema_warmup: bool = True  # decay min(ema_decay, (1 + n) / (10 + n)) early on
    tensorboard: bool = True
    checkpoint_dtype: str = "float32"


@dataclass
class AELossConfig:
    """Autoencoder objective (JEN-1 IV-A): multi-resolution STFT + waveform L1 + multi-scale STFT GAN."""

    stft_ffts: tuple[int, ...] = (2048, 1024, 512, 256, 128)
    w_stft: float = 1.0
    w_wave: float = 1.0
    w_mel: float = 0.0  # multi-scale log-mel L1 (MultiScaleMelLoss); 0 leaves it out
    w_adv: float = 1.0
    w_feat: float = 2.0
    adversarial: str = "hinge"  # hinge | lsgan
    disc_ffts: tuple[int, ...] = (2048, 1024, 512)
    disc_filters: int = 32
    disc_start: int = 2000  # generator sees adversarial losses from this step on


@dataclass
class AutoencoderTrainConfig:
    preset: str = "small"
    model: dict[str, Any] | None = None  # a full ModelConfig instead of the preset
    run: RunConfig = field(default_factory=lambda: RunConfig(ema_decay=0.999))
    data: DataConfig = field(default_factory=lambda: DataConfig(segment_seconds=1.0, batch_size=8))
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=3e-4, betas=(0.5, 0.9), weight_decay=0.0, grad_clip=1.0)
    )
    disc_optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=3e-4, betas=(0.5, 0.9), weight_decay=0.0, grad_clip=1.0)
    )
    loss: AELossConfig = field(default_factory=AELossConfig)
    tracks: str = "all"  # all: every stem and the mix of each example; random: one of the five
    eval_every: int = 200


@dataclass
class LatentStatsConfig:
    """Algorithm 1 over the encoded latents of every stem and mix."""

    preset: str = "small"
    model: dict[str, Any] | None = None
    chunk_seconds: float = 30.0  # encode long songs this much at a time
    max_songs: int | None = None
    loudness: str = "stem"
    target_db: float = -23.0
    strict: bool = False


@dataclass
class Jen1TaskConfig:
    """JEN-1 IV-C: a third each of text-to-music, inpainting and continuation."""

    text_to_music: float = 1.0
    inpaint: float = 1.0
    continuation: float = 1.0
    mask_min: float = 0.2
    mask_max: float = 0.8


@dataclass
class Jen1TrainConfig:
    preset: str = "small"
    model: dict[str, Any] | None = None
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    tasks: Jen1TaskConfig = field(default_factory=Jen1TaskConfig)
    cond_drop_prob: float = 0.2  # text (and meta) dropped: cross-attention replaced by self-attention
    train_text_encoder: bool = False  # only a hash encoder has weights to train; it is shared with the Composer


@dataclass
class CurriculumConfig:
    """Composer 4.3: single-track targets (1/K each) decaying to 1/(2^K - 1) for every target pattern.

    schedule: linear | cosine (smooth blend from the start to the end distribution) | staged
    (K stages; stage s is uniform over the patterns of at most s tracks).
    """

    schedule: str = "linear"
    start_step: int = 0
    steps: int = 100_000


@dataclass
class BootstrapConfig:
    """Composer 4.3 self-bootstrapping: kept tracks replaced by tracks the EMA teacher generates."""

    start_step: int | None = 100_000  # None: never
    prob: float = 0.5  # p2, per example with kept tracks
    track_prob: float = 0.5  # each kept track of a bootstrapped example is replaced with this (at least one)
    sampler: str = "ddim"
    steps: int = 8


@dataclass
class ComposerTrainConfig:
    preset: str = "small"
    model: dict[str, Any] | None = None
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(grad_clip=0.7))
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    p1: float = 0.8  # a non-target track is kept (t = 0) with p1, else absent (t = T); drawn per track
    cond_drop_prob: float = 0.2  # text CFG for joint generation, as JEN-1
    region_prob: float = 0.2  # beyond the paper: targets get a 20-80 % region mask (compose(region=...)); 0 = paper
    mask_min: float = 0.2
    mask_max: float = 0.8
    init_composer: str = "auto"  # auto | jen1 | keep: where the Composer UNet starts with --init-from
    train_text_encoder: bool = False


TrainConfig = Union[AutoencoderTrainConfig, LatentStatsConfig, Jen1TrainConfig, ComposerTrainConfig]  # noqa: UP007
CONFIG_CLASSES: dict[str, type] = {
    "autoencoder": AutoencoderTrainConfig,
    "latent-stats": LatentStatsConfig,
    "jen1": Jen1TrainConfig,
    "composer": ComposerTrainConfig,
}
C = TypeVar("C")


def default_config(kind: str) -> Any:
    return _config_class(kind)()


def load_config(kind: str, path: str | Path | None = None, *, overrides: dict[str, Any] | None = None) -> Any:
    """The ``kind`` config from JSON file ``path`` (None: defaults), then ``overrides`` (same shape)."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise JenError(f"config file {p} does not exist")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise JenError(f"config file {p} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise JenError(f"config file {p} must hold a JSON object")
    if overrides:
        data = _deep_merge(data, overrides)
    cfg = config_from_dict(_config_class(kind), data)
    validate(cfg)
    return cfg


def config_from_dict(cls: type[C], data: Any, where: str = "config", *, base: C | None = None) -> C:
    """Build dataclass ``cls`` from ``data`` on top of ``base`` (default: ``cls()``); unknown keys and
    wrongly typed values raise JenError naming the dotted key."""
    if not isinstance(data, dict):
        raise JenError(f"{where}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        keys = ", ".join(f"{where}.{k}" for k in unknown)
        raise JenError(f"unknown config key(s) {keys}; known keys here: {', '.join(names)}")
    base = cls() if base is None else base
    kwargs = {}
    for name, value in data.items():
        default = getattr(base, name)
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}", default)
    return dataclasses.replace(base, **kwargs)  # type: ignore[type-var]


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """JSON-ready dict of a config (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def model_config(cfg: Any) -> ModelConfig:
    """The ModelConfig a trainer builds when it does not start from a checkpoint."""
    if cfg.model is not None:
        return ModelConfig.from_dict(cfg.model).validate()
    return get_preset(cfg.preset)


def validate(cfg: Any) -> None:
    """Range checks that types alone do not catch; JenError naming the key."""
    if cfg.preset not in PRESETS:
        raise JenError(f"config.preset: unknown preset '{cfg.preset}'; choose one of {', '.join(PRESETS)}")
    for name in ("optim", "disc_optim"):
        opt = getattr(cfg, name, None)
        if opt is None:
            continue
        _check(opt.lr > 0, f"config.{name}.lr must be > 0")
        _check(all(0 <= b < 1 for b in opt.betas) and len(opt.betas) == 2, f"config.{name}.betas must be two numbers in [0, 1)")
        _check(opt.decay_steps >= 1 and opt.warmup_steps >= 0, f"config.{name}: decay_steps >= 1, warmup_steps >= 0")
        _check(0 <= opt.final_lr_ratio <= 1, f"config.{name}.final_lr_ratio must be in [0, 1]")
    data = getattr(cfg, "data", None)
    if data is not None:
        _check(data.batch_size >= 1, "config.data.batch_size must be >= 1")
        _check(data.segment_seconds > 0, "config.data.segment_seconds must be > 0")
        _check(data.num_workers >= 0, "config.data.num_workers must be >= 0")
    loudness = data.loudness if data is not None else getattr(cfg, "loudness", "stem")
    _check(loudness in ("stem", "mix", "none"), "loudness must be one of stem, mix, none")
    run = getattr(cfg, "run", None)
    if run is not None:
        _check(run.amp in ("auto", "bf16", "none"), "config.run.amp must be auto, bf16 or none")
        _check(0 <= run.ema_decay < 1, "config.run.ema_decay must be in [0, 1)")
        _check(run.checkpoint_every >= 1 and run.log_every >= 1, "config.run: checkpoint_every and log_every >= 1")
        _check(run.max_nonfinite >= 1 and run.keep_checkpoints >= 1, "config.run: max_nonfinite, keep_checkpoints >= 1")
        _check(run.checkpoint_dtype in ("float32", "float16", "bfloat16"), "config.run.checkpoint_dtype: float32|float16|bfloat16")
        _check(run.max_steps >= 0, "config.run.max_steps must be >= 0")
    if isinstance(cfg, AutoencoderTrainConfig):
        _check(cfg.tracks in ("all", "random"), "config.tracks must be all or random")
        _check(cfg.loss.adversarial in ("hinge", "lsgan"), "config.loss.adversarial must be hinge or lsgan")
        _check(len(cfg.loss.stft_ffts) > 0 and len(cfg.loss.disc_ffts) > 0, "config.loss needs stft_ffts and disc_ffts")
    if isinstance(cfg, Jen1TrainConfig):
        t = cfg.tasks
        _check(min(t.text_to_music, t.inpaint, t.continuation) >= 0, "config.tasks weights must be >= 0")
        _check(t.text_to_music + t.inpaint + t.continuation > 0, "config.tasks: at least one task weight must be > 0")
        _check(0 < t.mask_min <= t.mask_max < 1, "config.tasks: need 0 < mask_min <= mask_max < 1")
    if isinstance(cfg, (Jen1TrainConfig, ComposerTrainConfig)):
        _check(0 <= cfg.cond_drop_prob <= 1, "config.cond_drop_prob must be in [0, 1]")
    if isinstance(cfg, ComposerTrainConfig):
        _check(0 <= cfg.p1 <= 1, "config.p1 must be in [0, 1]")
        _check(0 <= cfg.region_prob <= 1, "config.region_prob must be in [0, 1]")
        _check(0 < cfg.mask_min <= cfg.mask_max < 1, "config: need 0 < mask_min <= mask_max < 1")
        _check(cfg.curriculum.schedule in ("linear", "cosine", "staged"), "config.curriculum.schedule: linear|cosine|staged")
        _check(cfg.curriculum.steps >= 1, "config.curriculum.steps must be >= 1")
        _check(cfg.init_composer in ("auto", "jen1", "keep"), "config.init_composer must be auto, jen1 or keep")
        b = cfg.bootstrap
        _check(0 <= b.prob <= 1 and 0 <= b.track_prob <= 1, "config.bootstrap: prob and track_prob in [0, 1]")
        _check(b.steps >= 1, "config.bootstrap.steps must be >= 1")
        _check(b.sampler in ("ddpm", "ddim", "dpmpp"), "config.bootstrap.sampler: ddpm|ddim|dpmpp")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise JenError(message)


def _config_class(kind: str) -> type:
    try:
        return CONFIG_CLASSES[kind]
    except KeyError:
        raise JenError(f"unknown trainer '{kind}'; choose one of {', '.join(KINDS)}") from None


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _coerce(tp: Any, value: Any, where: str, default: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where, default)
    if dataclasses.is_dataclass(tp):
        start = default if dataclasses.is_dataclass(default) else None
        return config_from_dict(tp, value, where, base=start)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise JenError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        item = args[0]
        if len(args) != 2 or args[1] is not Ellipsis:
            if len(value) != len(args):
                raise JenError(f"{where}: expected a list of {len(args)} values, got {len(value)}")
        return tuple(_coerce(item, v, f"{where}[{i}]", None) for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise JenError(f"{where}: expected an object")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise JenError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise JenError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise JenError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise JenError(f"{where}: expected a string, got {value!r}")
        return value
    return value  # pragma: no cover - every field type is handled above
