"""A micro model config for the committed fixture checkpoint (a few hundred KB in float16)."""

from __future__ import annotations

import dataclasses

from jen_core.presets import AutoencoderConfig, ModelConfig, TextConfig, UNetConfig, whitened_dim


def micro_config() -> ModelConfig:
    ae = AutoencoderConfig(latent_dim=8, base_channels=4, strides=(4, 8, 10), max_channels=32)
    k = whitened_dim(8, 0.9)
    unet = UNetConfig(
        latent_dim=k, tracks=1, channels=(16, 32), layers_per_block=1, attention_levels=(False, True),
        head_dim=16, cross_attn_dim=16, text_dim=16, time_embed_dim=32, norm_groups=4,
    )
    return ModelConfig(
        name="micro", autoencoder=ae, text=TextConfig(kind="hash", dim=16, max_tokens=16, vocab_size=256),
        jen1=unet, composer=dataclasses.replace(unet, tracks=4), max_seconds=10.0,
    ).validate()
