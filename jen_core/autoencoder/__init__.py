"""Latent audio codec: the ``AudioAutoencoder`` protocol and the conv implementation."""

from __future__ import annotations

from jen_core.autoencoder.conv import ConvAutoencoder, build_autoencoder
from jen_core.autoencoder.protocol import AudioAutoencoder

__all__ = ["AudioAutoencoder", "ConvAutoencoder", "build_autoencoder"]
