"""The model bundle: autoencoder, latent whitening, text encoder and the two UNets.

:func:`build_model` is the one builder that turns a :class:`ModelConfig` into objects
(STYLE.md item 4). The JEN-1 UNet (K = 1) serves single-track tasks on a mix; the
Composer UNet (K = 4) serves stems. Either may be absent from a checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn

from jen_core.autoencoder import build_autoencoder
from jen_core.diffusion import NoiseSchedule
from jen_core.latents import LatentWhitener
from jen_core.presets import ModelConfig
from jen_core.text import build_text_encoder
from jen_core.unet import OmniUNet1D

COMPONENTS = ("autoencoder", "whitener", "text_encoder", "jen1", "composer")


class JenModel(nn.Module):
    """Everything a pipeline needs, on one device. ``cfg`` travels with the weights."""

    def __init__(
        self,
        cfg: ModelConfig,
        *,
        autoencoder: nn.Module,
        whitener: LatentWhitener,
        text_encoder: nn.Module,
        jen1: OmniUNet1D | None,
        composer: OmniUNet1D | None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.autoencoder = autoencoder
        self.whitener = whitener
        self.text_encoder = text_encoder
        self.jen1 = jen1
        self.composer = composer
        self.schedule = NoiseSchedule.from_config(cfg.diffusion)

    @property
    def device(self) -> torch.device:
        return next(self.autoencoder.parameters()).device

    def parameter_counts(self) -> dict[str, int]:
        counts = {}
        for name in COMPONENTS:
            module = getattr(self, name)
            if isinstance(module, nn.Module):
                counts[name] = sum(p.numel() for p in module.parameters())
        return counts


def build_model(cfg: ModelConfig, *, seed: int = 0) -> JenModel:
    """Build every component of ``cfg`` with seeded random weights (deterministic per seed)."""
    cfg.validate()
    fork = torch.random.fork_rng(devices=[])
    with fork:
        torch.manual_seed(seed)
        autoencoder = build_autoencoder(cfg.autoencoder)
        whitener = LatentWhitener(cfg.autoencoder.latent_dim, cfg.k)
        text_encoder = build_text_encoder(cfg.text, seed=seed)
        jen1 = OmniUNet1D(cfg.jen1) if cfg.jen1 is not None else None
        composer = OmniUNet1D(cfg.composer) if cfg.composer is not None else None
    model = JenModel(
        cfg, autoencoder=autoencoder, whitener=whitener, text_encoder=text_encoder, jen1=jen1, composer=composer
    )
    return model.eval()


def count_parameters(cfg: ModelConfig) -> dict[str, int]:
    """Parameter counts per part without allocating memory (built on the meta device).

    The text encoder is counted only when its weights belong to the checkpoint (kind 'hash');
    MiniLM and FLAN-T5 weights come from their own packages/folders.
    """
    cfg.validate()
    counts: dict[str, int] = {}
    with torch.device("meta"):
        counts["autoencoder"] = _numel(build_autoencoder(cfg.autoencoder))
        if cfg.jen1 is not None:
            counts["unet_jen1"] = _numel(OmniUNet1D(cfg.jen1))
        if cfg.composer is not None:
            counts["unet_composer"] = _numel(OmniUNet1D(cfg.composer))
    if cfg.text.kind == "hash":
        counts["text_encoder"] = _numel(build_text_encoder(cfg.text))  # type: ignore[arg-type]
    return counts


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
