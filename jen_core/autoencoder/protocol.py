"""The small interface every latent audio codec implements (audiocraft's ``CompressionModel`` habit).

Diffusion, pipelines and servers depend on this protocol only; nothing above it imports a
concrete codec.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class AudioAutoencoder(Protocol):
    """Waveform <-> continuous latent codec.

    ``encode``: ``wav: [B, channels, L]`` -> ``z: [B, latent_dim, S]`` with ``S = ceil(L / hop)``;
    the waveform is padded on the right with zeros to a multiple of ``hop``.
    ``decode``: ``z: [B, latent_dim, S]`` -> ``wav: [B, channels, S * hop]``.
    """

    # Read-only properties so both plain attributes and @property implementations conform.
    @property
    def sample_rate(self) -> int:
        """Audio sample rate in Hz."""
        ...

    @property
    def channels(self) -> int:
        """Audio channels (2: stereo)."""
        ...

    @property
    def hop(self) -> int:
        """Audio samples per latent frame."""
        ...

    @property
    def latent_dim(self) -> int:
        """Latent channels C."""
        ...

    def encode(self, wav: Tensor) -> Tensor:
        """wav: [B, channels, L] -> z: [B, latent_dim, ceil(L / hop)]."""
        ...

    def decode(self, z: Tensor) -> Tensor:
        """z: [B, latent_dim, S] -> wav: [B, channels, S * hop]."""
        ...
