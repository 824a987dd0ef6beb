"""The interface every inference runtime implements, and the names of the graphs it runs.

A runtime holds the compiled parts of one model (text encoder, UNets, latent decoder and
encoder) and runs them on numpy arrays; :class:`~export.runtimes.numpy_pipeline.NumpyPipeline`
orchestrates the tasks on top of any runtime. The ``torch`` backend also has a native path
(``jen_core``'s ``JenPipeline``); ``onnx`` and ``tensorrt`` run through this interface.
Only numpy is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

BACKENDS: tuple[str, ...] = ("torch", "torch-compile", "onnx", "tensorrt")
UNETS: tuple[str, ...] = ("jen1", "composer")  # K = 1 and K = 4


def unet_graph_name(which: str, *, causal: bool) -> str:
    """'jen1' / 'composer' and the mode -> the graph's name in an export (e.g. ``unet_jen1_causal``)."""
    return f"unet_{which}_{'causal' if causal else 'bidirectional'}"


@runtime_checkable
class GraphRuntime(Protocol):
    """Numpy in, numpy out. float32 unless stated; B = batch, S = latent frames, N = text tokens."""

    backend: str

    def text(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """prompts -> (states [B, N, D], mask [B, N] bool)."""
        ...

    def has_unet(self, which: str) -> bool:
        """Whether the 'jen1' (K = 1) or 'composer' (K = 4) UNet is present."""
        ...

    def unet(
        self,
        which: str,
        *,
        causal: bool,
        x: np.ndarray,
        t: np.ndarray,
        text: np.ndarray,
        text_mask: np.ndarray,
        meta: np.ndarray,
        uncond: np.ndarray,
    ) -> np.ndarray:
        """x [B, K*(2k+1), S], t [B, K], text [B, N, D], text_mask [B, N] bool, meta [B, 3], uncond [B] bool
        -> eps [B, K*k, S]."""
        ...

    def encode(self, wav: np.ndarray) -> np.ndarray:
        """wav [B, channels, S*hop] -> whitened latents [B, k, S] (``whiten(autoencoder.encode(wav))``)."""
        ...

    def decode(self, z: np.ndarray) -> np.ndarray:
        """whitened latents [B, k, S] -> wav [B, channels, S*hop] (``autoencoder.decode(unwhiten(z))``)."""
        ...
